"""KPIs on a real public export (Maven CRM sales pipeline), checked against figures computed by
another route: plain Python over the CSV rows, and totals quoted by public analyses."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import pytest

from crmkpi.metrics import CATALOG, TABLE_CATALOG, evaluate, evaluate_tables

REALDATA = os.environ.get("CRMKPI_REALDATA")
pytestmark = pytest.mark.skipif(not REALDATA, reason="CRMKPI_REALDATA not set")


def _pipeline() -> Path:
    return Path(str(REALDATA)) / "maven_crm" / "sales_pipeline.csv"


def test_maven_pipeline_revenue_cycle_and_win_rate() -> None:
    import crmkpi.api as api

    rows = list(csv.DictReader(_pipeline().open(encoding="utf-8")))
    won = [r for r in rows if r["deal_stage"] == "Won"]
    lost = [r for r in rows if r["deal_stage"] == "Lost"]
    cycles = [
        (date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
        for r in won
    ]
    ds = api.load([_pipeline()])
    got = evaluate(ds, ["revenue_won", "deals_won", "deals_lost", "win_rate",
                        "sales_cycle_days_mean"])  # fmt: skip
    value = {k: v["value"][0] for k, v in got.items()}
    assert value["revenue_won"] == sum(float(r["close_value"]) for r in won) == 10_005_534
    assert value["deals_won"] == len(won)
    assert value["deals_lost"] == len(lost)
    assert value["win_rate"] == pytest.approx(len(won) / (len(won) + len(lost)))
    assert value["sales_cycle_days_mean"] == pytest.approx(sum(cycles) / len(cycles))
    assert round(value["sales_cycle_days_mean"], 1) == 51.8  # as public analyses quote it


def test_whole_catalog_runs_on_real_exports() -> None:
    import crmkpi.api as api

    ds = api.load([_pipeline()])
    skipped: dict[str, str] = {}
    metrics = evaluate(ds, list(CATALOG), skipped=skipped)
    tables = evaluate_tables(ds, list(TABLE_CATALOG), skipped=skipped)
    assert set(metrics) | set(skipped) >= set(CATALOG)
    for kpi, frame in metrics.items():
        if CATALOG[kpi].unit == "ratio" and kpi not in ("pipeline_coverage",):
            values = frame["value"].drop_nulls()
            assert ((values >= 0) & (values <= 1)).all(), kpi
    reached = tables["funnel"]["reached"].to_list()
    assert reached == sorted(reached, reverse=True)
