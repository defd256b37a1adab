"""The report's trend and comparison periods in the Jalali calendar."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from crmkpi.config import Config
from crmkpi.dataset import Dataset
from crmkpi.metrics.base import Grain
from crmkpi.reporting import periods
from crmkpi.reporting.build import ReportOptions, build_report


def test_trend_starts_step_back_by_jalali_months() -> None:
    # The moment before 2025-04-01 lies in Farvardin 1404 (from 2025-03-21); the month before
    # is Esfand 1403 (30 days, from 2025-02-19), and before it Bahman 1403: Nowruz 1403
    # (2024-03-20) + 306 days = 2025-01-20.
    grain = Grain(period="month", calendar="jalali")
    starts = periods.trend_starts(datetime(2025, 4, 1), grain, 3)
    assert starts == [datetime(2025, 1, 20), datetime(2025, 2, 19), datetime(2025, 3, 21)]
    assert [periods.period_label(s, grain) for s in starts] == [
        "بهمن 1403", "اسفند 1403", "فروردین 1404"
    ]  # fmt: skip


def test_report_compares_the_last_complete_jalali_month() -> None:
    # Deals on 2025-03-20 (Esfand 30, 1403) and from 2025-03-21 (Farvardin 1404) to the last
    # day of Farvardin, 2025-04-20: Farvardin is complete and compared with Esfand.
    created = [datetime(2025, 3, 20), datetime(2025, 3, 21), datetime(2025, 4, 20)]
    deals = pl.DataFrame({"id": ["a", "b", "c"], "created_at": created})
    report = build_report(
        Dataset(frames={"deals": deals}),
        Config(calendar="jalali"),
        ReportOptions(period="month", sections=("kpis",)),
    )
    assert report.comparison is not None
    assert report.comparison.label == "فروردین 1404 vs اسفند 1403"
    created_kpi = report.kpis["deals_created"]
    assert (created_kpi.latest, created_kpi.previous) == (2, 1)
