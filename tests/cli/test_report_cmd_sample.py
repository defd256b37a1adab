"""The demo company's report with its config: targets met and missed, alerts shown, exit 3."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkpi.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
pytestmark = pytest.mark.skipif(
    not (SAMPLE / "deals.csv").is_file(), reason="sample data not generated"
)


def csv_rows(name: str) -> list[dict[str, str]]:
    with open(SAMPLE / name, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_sample_report_prints_alerts_and_exits_3():
    args = ["report", str(SAMPLE), "--config", str(SAMPLE / "crmkpi.toml"), "--fail-on-alert"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "Alerts (" in result.stdout
    assert "Lead response time (median)" in result.stdout
    assert "alerts (" in result.stderr and "exit 3" in result.stderr


def test_sample_targets_against_the_raw_files():
    result = CliRunner().invoke(
        app, ["report", str(SAMPLE), "-c", str(SAMPLE / "crmkpi.toml"), "-f", "json"]
    )
    doc = json.loads(result.stdout)
    kpis = doc["kpis"]
    deals = csv_rows("deals.csv")
    won = [d for d in deals if d["Deal Stage"] == "Closed Won"]
    lost = [d for d in deals if d["Deal Stage"] == "Closed Lost"]
    win_rate = len(won) / (len(won) + len(lost))
    assert kpis["win_rate"]["value"] == pytest.approx(win_rate)
    assert kpis["win_rate"]["status"] == ("ok" if win_rate >= 0.25 else "bad")
    leads = csv_rows("leads.csv")
    fmt = "%Y-%m-%d %H:%M"
    waits = [
        (datetime.strptime(r["First Contacted"], fmt) - datetime.strptime(r["Created Time"], fmt))
        .total_seconds() / 60
        for r in leads
        if r["First Contacted"] and r["Created Time"]
    ]  # fmt: skip
    assert kpis["lead_response_minutes_median"]["value"] == pytest.approx(statistics.median(waits))
    assert statistics.median(waits) > 30
    assert kpis["lead_response_minutes_median"]["status"] == "bad"
    # Per-owner targets, from the files: at least 8 deals won in 2026-Q3 (the latest whole
    # quarter), and this quarter's revenue pacing at 75% of the rep's quota sheet amount or more.
    owners = {d["Deal owner"] for d in deals}
    in_q3 = Counter(d["Deal owner"] for d in won if "2026-07-01" <= d["Close Date"] < "2026-10")
    few = {owner for owner in owners if in_q3[owner] < 8}
    quarter = [r for r in csv_rows("plan/quotas.csv") if r["period"] == "2026-Q4"]
    quotas = {r["owner"]: float(r["amount"]) for r in quarter}
    as_of = datetime.fromisoformat(doc["as_of"])
    gone = (as_of - datetime(2026, 10, 1)) / (datetime(2027, 1, 1) - datetime(2026, 10, 1))
    in_q4 = Counter()
    for d in won:
        if d["Close Date"] >= "2026-10-01":
            in_q4[d["Deal owner"]] += float(d["Amount"])
    slow = {owner for owner in quotas if in_q4[owner] / quotas[owner] / gone < 0.75}
    alerted = {(a["kpi"], a["owner"]) for a in doc["alerts"] if a.get("owner")}
    assert alerted == {("deals_won", o) for o in few} | {("quota_pacing", o) for o in slow}
    assert few and slow and len(few) < len(owners)  # some reps miss them, some meet them
    # The team's quarter: 2026-Q3 revenue over its 1,350,000 quota, judged per quarter.
    q3 = sum(float(d["Amount"]) for d in won if "2026-07-01" <= d["Close Date"] < "2026-10")
    assert kpis["quota_attainment"]["target"].endswith(f"(2026-Q3: {q3 / 1_350_000:.1%})")
    assert kpis["quota_attainment"]["status"] == ("ok" if q3 >= 1_350_000 else "bad")
    statuses = {k: v["status"] for k, v in kpis.items() if "status" in v}
    assert {"ok", "bad"} <= set(statuses.values())
