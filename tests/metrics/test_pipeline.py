"""Deal KPIs on six hand-built deals (see metric_frames.deals_frame); values worked out by hand."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from metric_frames import STAGES, by_key, deals_ds, deals_frame, dt, one

from crmkpi.config import Config
from crmkpi.dataset import Dataset
from crmkpi.errors import UsageError
from crmkpi.metrics import Grain, evaluate

ALL = [
    "deals_created", "deals_total", "deals_open", "deals_won", "deals_lost",
    "open_pipeline_value", "win_rate", "win_rate_amount", "close_rate", "avg_deal_size",
    "median_deal_size", "revenue_won", "sales_cycle_days_median", "sales_cycle_days_mean",
    "pipeline_velocity",
]  # fmt: skip


def test_every_deal_kpi_without_window() -> None:
    got = evaluate(deals_ds(), ALL)
    assert one(got, "deals_created") == 6
    assert one(got, "deals_total") == 6
    assert one(got, "deals_open") == 2  # c and f
    assert one(got, "deals_won") == 3  # a, d, e
    assert one(got, "deals_lost") == 1  # b
    assert one(got, "open_pipeline_value") == 30.0  # c 30, f has no amount
    assert one(got, "win_rate") == pytest.approx(3 / 4)
    assert one(got, "win_rate_amount") == pytest.approx(360 / 410)  # won 100+200+60, lost 50
    assert one(got, "close_rate") == pytest.approx(3 / 6)
    assert one(got, "avg_deal_size") == pytest.approx(120.0)  # 360 / 3
    assert one(got, "median_deal_size") == 100.0  # of 60, 100, 200
    assert one(got, "revenue_won") == 360.0
    assert one(got, "sales_cycle_days_median") == 10.0  # of 1, 10, 30
    assert one(got, "sales_cycle_days_mean") == pytest.approx(41 / 3)
    # 2 open x 0.75 x 120 / (41 / 3) days
    assert one(got, "pipeline_velocity") == pytest.approx(2 * 0.75 * 120 / (41 / 3))


def test_monthly_values_and_change() -> None:
    got = evaluate(deals_ds(), ["deals_won", "revenue_won", "deals_open", "close_rate"],
                   Grain(period="month"))  # fmt: skip
    months = [dt(2024, 1, 1), dt(2024, 2, 1), dt(2024, 3, 1)]
    won = got["deals_won"]
    assert won["period"].to_list() == months
    assert won["value"].to_list() == [1, 0, 2]  # a in Jan, nothing in Feb, d and e in Mar
    assert won["previous"].to_list() == [None, 1, 0]
    assert won["change"].to_list() == [None, -1.0, None]  # from 0: no relative change
    assert got["revenue_won"]["value"].to_list() == [100.0, 0.0, 260.0]
    # Open at each month's end: Jan b; Feb c, d; Mar c, f.
    assert got["deals_open"]["value"].to_list() == [1, 2, 2]
    # Cohorts: Jan a won b lost; Feb c open d won; Mar e won f open.
    assert got["close_rate"]["value"].to_list() == [0.5, 0.5, 0.5]


def test_open_pipeline_value_at_each_month_end() -> None:
    got = evaluate(deals_ds(), ["open_pipeline_value"], Grain(period="month"))
    # Jan end: b 50; Feb end: c 30 + d 200; Mar end: c 30 (f has no amount).
    assert got["open_pipeline_value"]["value"].to_list() == [50.0, 230.0, 30.0]


def test_window_until_takes_stocks_at_its_end_and_flows_inside() -> None:
    got = evaluate(deals_ds(), ["deals_open", "win_rate"], Grain(until=dt(2024, 2, 15)))
    # Open on Feb 15: c (open), d (closed Mar 4); a and b closed before.
    assert one(got, "deals_open") == 2
    # Closed before Feb 15: a won, b lost.
    assert one(got, "win_rate") == 0.5


def test_since_window_drops_earlier_periods_but_stock_keeps_earlier_deals() -> None:
    got = evaluate(deals_ds(), ["deals_open", "deals_won"],
                   Grain(period="month", since=dt(2024, 2, 1)))  # fmt: skip
    assert got["deals_open"]["value"].to_list() == [2, 2]  # b (Jan) left in Feb; c, d; c, f
    assert got["deals_won"]["value"].to_list() == [0, 2]


def test_breakdown_by_a_non_canonical_column() -> None:
    got = evaluate(deals_ds(), ["deals_won", "win_rate"], Grain(by=("Industry",)))
    # retail: a won, b lost, e won; bank: c open, d won, f open.
    assert by_key(got["deals_won"], "Industry") == {"bank": 1, "retail": 2}
    assert by_key(got["win_rate"], "Industry") == {"bank": 1.0, "retail": pytest.approx(2 / 3)}


def test_breakdown_by_missing_column_names_it() -> None:
    skipped: dict[str, str] = {}
    got = evaluate(deals_ds(), ["deals_won"], Grain(by=("Region",)), skipped=skipped)
    assert got == {}
    assert skipped == {"deals_won": "deals has no Region column to break down by"}


def test_zero_denominator_gives_null_not_inf() -> None:
    window = Grain(since=dt(2024, 2, 6), until=dt(2024, 3, 1))
    got = evaluate(deals_ds(), ["win_rate", "avg_deal_size"], window)
    # Nothing closed between Feb 6 and Mar 1.
    assert one(got, "win_rate") is None
    assert one(got, "avg_deal_size") is None


def test_pipeline_coverage_uses_prorated_quota() -> None:
    config = Config(quota={"month": 100.0})
    got = evaluate(deals_ds(), ["pipeline_coverage"], config=config)
    assert one(got, "pipeline_coverage") == pytest.approx(30 / 300)  # quarter quota 3 x 100
    monthly = evaluate(deals_ds(), ["pipeline_coverage"], Grain(period="month"), config)
    assert monthly["pipeline_coverage"]["value"].to_list() == pytest.approx([0.5, 2.3, 0.3])


def test_pipeline_coverage_per_owner_is_refused_against_the_team_quota() -> None:
    # y's open 30 against the team's quarter quota of 300 would read 0.1x, a figure of nothing.
    config = Config(quota={"month": 100.0})
    with pytest.raises(UsageError, match="quota per owner"):
        evaluate(deals_ds(), ["pipeline_coverage"], Grain(by=("owner",)), config)


def test_pipeline_coverage_without_quota_is_skipped_with_reason() -> None:
    skipped: dict[str, str] = {}
    evaluate(deals_ds(), ["pipeline_coverage"], skipped=skipped)
    assert "quota" in skipped["pipeline_coverage"]


def test_open_pipeline_value_is_unknown_when_no_open_deal_has_an_amount() -> None:
    # Maven's export: every open deal has a blank amount. Open now are c (30) and f (blank);
    # with c's amount blanked too nothing open has an amount: the pipeline is unknown (null),
    # not 0 (summing nothing gives 0 and an alert "fell 100%"). Per owner: x holds f only
    # (unknown), y holds c only (unknown); by month, Feb end holds c and d (d 200) -> 200.
    frame = deals_frame().with_columns(
        pl.when(pl.col("id") == "c").then(None).otherwise(pl.col("amount")).alias("amount")
    )
    ds = Dataset(frames={"deals": frame}, stages=STAGES)
    assert one(evaluate(ds, ["open_pipeline_value"]), "open_pipeline_value") is None
    owners = evaluate(ds, ["open_pipeline_value"], Grain(by=("owner",)))["open_pipeline_value"]
    assert by_key(owners, "owner") == {"x": None, "y": None}
    months = evaluate(ds, ["open_pipeline_value"], Grain(period="month"))["open_pipeline_value"]
    # Jan end: b 50; Feb end: c blank + d 200; Mar end: c and f, both blank
    assert months["value"].to_list() == [50.0, 200.0, None]


# A deal closed before it was created has no sales cycle; it must not pull the median down.


def test_negative_cycles_are_left_out() -> None:
    deals = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "status": ["won", "won", "won", "won"],
            "created_at": [
                datetime(2025, 1, 1),
                datetime(2025, 1, 1),
                datetime(2025, 1, 1),
                datetime(2025, 6, 1),  # created after it closed: a migrated record
            ],
            "closed_at": [
                datetime(2025, 1, 11),
                datetime(2025, 1, 21),
                datetime(2025, 2, 10),
                datetime(2025, 3, 1),
            ],
        }
    )
    got = evaluate(
        Dataset(frames={"deals": deals}), ["sales_cycle_days_median", "sales_cycle_days_mean"]
    )
    # Cycles of a, b, c: 10, 20 and 40 days; d (-92 days) is left out.
    # median(10, 20, 40) = 20; mean = 70 / 3.
    assert got["sales_cycle_days_median"]["value"][0] == 20.0
    assert abs(got["sales_cycle_days_mean"]["value"][0] - 70 / 3) < 1e-9


def test_a_date_only_close_is_a_day_not_midnight() -> None:
    """Created 19:51 and closed on the same date (no time): a 0-day cycle. Read as midnight
    it would be closed 19.85 hours before it was created and left out of the cycle."""
    deals = pl.DataFrame(
        {
            "status": ["won", "won", "won"],
            "created_at": [datetime(2024, 3, 1, 19, 51), datetime(2024, 3, 1, 8),
                           datetime(2024, 3, 1, 8)],
            "closed_at": [datetime(2024, 3, 1), datetime(2024, 3, 4), datetime(2024, 3, 2, 20)],
        }
    )  # fmt: skip
    got = evaluate(Dataset(frames={"deals": deals}), ["sales_cycle_days_mean"])
    # Date-only closes count whole days: 0 and 3 (Mar 1 -> Mar 4); two real times 1.5 days.
    assert got["sales_cycle_days_mean"]["value"][0] == pytest.approx((0 + 3 + 1.5) / 3)
