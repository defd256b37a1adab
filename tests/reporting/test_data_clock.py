"""Every "now" is the data's as-of moment: the same files give the same report next year."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.io.quality import quality_facts
from crmkpi.metrics import evaluate

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

# Runs the report in a fresh interpreter whose clocks (datetime.now, date.today, time.time)
# read a year and a day later than the real one.
_LATER = """
import datetime as dt, json, sys, time
real_now, real_time, shift = dt.datetime.now, time.time, dt.timedelta(days=366)
class Later(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return real_now(tz) + shift
    @classmethod
    def today(cls):
        return real_now() + shift
class LaterDate(dt.date):
    @classmethod
    def today(cls):
        return real_now().date() + shift
if sys.argv[1] != "now":
    dt.datetime, dt.date = Later, LaterDate
    time.time = lambda: real_time() + shift.total_seconds()
import crmkpi
ds = crmkpi.load(sys.argv[2], config=sys.argv[3])
doc = json.loads(crmkpi.report(ds).to_json())
doc.pop("generated_at")
print(json.dumps(doc, sort_keys=True))
"""


def _start_report(clock: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _LATER, clock, str(SAMPLE), str(SAMPLE / "crmkpi.toml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _report_json(run: subprocess.Popen[str]) -> dict:
    stdout, stderr = run.communicate()
    assert run.returncode == 0, stderr
    return json.loads(stdout)


def test_a_year_later_the_same_files_give_the_same_report() -> None:
    # Both interpreters run at once: the two reports are independent, and this test is the
    # suite's longest when they take turns.
    now, later_run = _start_report("now"), _start_report("later")
    today, later = _report_json(now), _report_json(later_run)
    assert later == today
    assert today["as_of"] == "2026-10-31T22:26:00"  # the last deal created on 31 October


def test_overdue_deals_are_counted_at_the_data_as_of_not_today() -> None:
    deals = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "status": ["open", "open", "won"],
            "created_at": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 1, 3)],
            "closed_at": [None, None, datetime(2020, 3, 1)],
            "expected_close_at": [datetime(2020, 2, 1), datetime(2020, 4, 1), None],
        }
    )
    ds = Dataset(frames={"deals": deals})
    # The latest event is c's close on 1 March 2020: a's expected 1 February has passed, b's
    # 1 April has not. The machine clock (years later) would call both overdue.
    assert ds.data_as_of() == datetime(2020, 3, 1)
    facts = quality_facts(ds)
    assert facts.filter(pl.col("fact") == "overdue_open")["count"].to_list() == [1]
    later = Dataset(frames={"deals": deals}, as_of=datetime(2020, 5, 1))
    facts = quality_facts(later)
    assert facts.filter(pl.col("fact") == "overdue_open")["count"].to_list() == [2]


def test_subscriptions_ending_after_the_as_of_are_active() -> None:
    subs = pl.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "start_at": [datetime(2020, 1, 1), datetime(2020, 2, 1)],
            "end_at": [datetime(2030, 1, 1), None],
            "mrr": [10.0, 5.0],
        }
    )
    deals = pl.DataFrame({"id": ["d"], "created_at": [datetime(2020, 3, 1)]})
    ds = Dataset(frames={"subscriptions": subs, "deals": deals})
    # As of 1 March 2020 (the last deal created), c1's end in 2030 is scheduled: MRR 15.
    assert evaluate(ds, ["mrr"])["mrr"]["value"].to_list() == [15.0]
    # Read as of 2031, c1 has ended: 5.
    late = Dataset(frames={"subscriptions": subs, "deals": deals}, as_of=datetime(2031, 1, 1))
    assert evaluate(late, ["mrr"])["mrr"]["value"].to_list() == [5.0]
