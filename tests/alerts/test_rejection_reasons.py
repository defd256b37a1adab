"""The rejection alert names the main reasons with their counts, not only the total."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import crmkpi
from crmkpi.config import AlertSettings
from crmkpi.io.quality import quality_facts
from crmkpi.metrics.base import Grain
from crmkpi.reporting.alerts import main_reasons, quality_alerts


def test_reasons_are_counted_and_commonest_first(tmp_path: Path) -> None:
    f = tmp_path / "deals.csv"
    f.write_text(
        "Deal ID,Stage,Amount,Created\n"
        "1,Won,10,2024-01-01\n"
        ",Won,5,2024-01-02\n"  # no id
        ",Lost,5,2024-01-03\n"  # no id
        "2,Open,7,\n"  # no date: loads (a deal needs no date)
        ",,,\n",  # blank
        encoding="utf-8",
    )
    ds = crmkpi.load([f])
    summary = ds.inputs[0]
    assert (summary.rows_loaded, summary.rows_rejected) == (2, 3)
    assert main_reasons(ds.rejects, str(f)) == " (2 missing Deal ID; 1 blank)"
    settings = AlertSettings(no_data_period=None)
    messages = [a.message for a in quality_alerts(ds, ds, settings, Grain())]
    assert f"{f}: 3 of 5 rows rejected (2 missing Deal ID; 1 blank)" in messages
    # the deal without a creation date is kept and said to be left out of creation periods
    facts = quality_facts(ds)
    assert facts.filter(fact="open_no_created_at")["count"].to_list() == [1]
    assert facts.filter(
        pl.col("fact").is_in(["won_no_created_at", "lost_no_created_at"])
    ).is_empty()


def test_unreadable_values_gather_under_one_reason(tmp_path: Path) -> None:
    f = tmp_path / "spend.csv"
    f.write_text("Date,Spend\n2024-01-01,10\n2024-01-02,x\n2024-01-03,y\n", encoding="utf-8")
    ds = crmkpi.load([f])
    # two different unreadable amounts are one reason with a count of 2, not two reasons
    reasons = main_reasons(ds.rejects, str(f))
    assert reasons == " (2 Spend: cannot read a value as a number (decimal point))"
