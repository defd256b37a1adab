"""Periods, grids, change, stocks, fused evaluation and the catalog's declarations."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from metric_frames import deals_ds, dt, one

from crmkpi.config import Config
from crmkpi.dataset import Dataset
from crmkpi.errors import UsageError
from crmkpi.metrics import CATALOG, TABLE_CATALOG, Context, Grain, evaluate, metric_plans
from crmkpi.metrics.base import UNITS, period_start
from crmkpi.metrics.evaluate import plan


def starts(dates: list[datetime], grain: Grain) -> list[datetime]:
    frame = pl.DataFrame({"d": dates})
    return frame.select(period_start(pl.col("d"), grain))["d"].to_list()


def test_week_start_is_configurable() -> None:
    # 2024-01-03 is a Wednesday; 2024-01-07 a Sunday.
    days = [dt(2024, 1, 3), dt(2024, 1, 7)]
    assert starts(days, Grain(period="week")) == [dt(2024, 1, 1), dt(2024, 1, 1)]
    sunday = Grain(period="week", week_start="sunday")
    assert starts(days, sunday) == [dt(2023, 12, 31), dt(2024, 1, 7)]


def test_fiscal_quarters_and_years() -> None:
    days = [dt(2024, 3, 31), dt(2024, 4, 1), dt(2024, 12, 5), dt(2025, 2, 1)]
    april = {"fiscal_year_start_month": 4}
    assert starts(days, Grain(period="quarter", **april)) == [
        dt(2024, 1, 1), dt(2024, 4, 1), dt(2024, 10, 1), dt(2025, 1, 1)
    ]  # fmt: skip
    assert starts(days, Grain(period="year", **april)) == [
        dt(2023, 4, 1), dt(2024, 4, 1), dt(2024, 4, 1), dt(2024, 4, 1)
    ]  # fmt: skip
    assert starts(days, Grain(period="quarter")) == [
        dt(2024, 1, 1), dt(2024, 4, 1), dt(2024, 10, 1), dt(2025, 1, 1)
    ]  # fmt: skip


def test_config_calendar_reaches_evaluate() -> None:
    config = Config(fiscal_year_start_month=2)
    got = evaluate(deals_ds(), ["deals_created"], Grain(period="year"), config)
    # Fiscal year from Feb 1: a, b (Jan 2024) in FY starting Feb 2023; c..f in FY Feb 2024.
    frame = got["deals_created"]
    assert frame["period"].to_list() == [dt(2023, 2, 1), dt(2024, 2, 1)]
    assert frame["value"].to_list() == [2, 4]


def test_unknown_period_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        Grain(period="fortnight")


def test_empty_periods_filled_and_window_bounds_the_grid() -> None:
    grain = Grain(period="month", since=dt(2023, 11, 1), until=dt(2024, 5, 1))
    got = evaluate(deals_ds(), ["deals_won", "win_rate"], grain)
    months = [dt(2023, 11, 1), dt(2023, 12, 1), dt(2024, 1, 1), dt(2024, 2, 1), dt(2024, 3, 1),
              dt(2024, 4, 1)]  # fmt: skip
    assert got["deals_won"]["period"].to_list() == months
    assert got["deals_won"]["value"].to_list() == [0, 0, 1, 0, 2, 0]
    assert got["win_rate"]["value"].to_list() == [None, None, 1.0, 0.0, 1.0, None]


def test_stock_per_day_matches_brute_force() -> None:
    from metric_frames import deals_frame

    got = evaluate(deals_ds(), ["deals_open"], Grain(period="day"))["deals_open"]
    rows = deals_frame().to_dicts()
    for day, value in zip(got["period"], got["value"], strict=True):
        end = day + (dt(2024, 1, 2) - dt(2024, 1, 1))
        expected = sum(
            1
            for r in rows
            if r["created_at"] < end
            and (r["closed_at"] is None or r["closed_at"] >= end)
            and (r["status"] == "open" or r["closed_at"] is not None)
        )
        assert value == expected, day


def test_change_uses_calendar_neighbours_per_group() -> None:
    got = evaluate(deals_ds(), ["deals_won"], Grain(by=("owner",), period="month"))["deals_won"]
    y = got.filter(pl.col("owner") == "y")
    # y won nothing in Jan and Feb, d and e in March.
    assert y["value"].to_list() == [0, 0, 2]
    assert y["previous"].to_list() == [None, 0, 0]


def test_fused_plans_equal_standalone_computes() -> None:
    ids = ["deals_won", "deals_lost", "win_rate", "revenue_won", "avg_deal_size"]
    grain = Grain(by=("owner",), period="month")
    fused = evaluate(deals_ds(), ids, grain)
    ctx = Context(deals_ds(), grain)
    for kpi in ids:
        alone = plan(CATALOG[kpi], ctx).collect()
        assert fused[kpi].equals(alone), kpi


def test_metric_plans_reports_missing_inputs() -> None:
    skipped: dict[str, str] = {}
    ctx = Context(Dataset(frames={"deals": pl.DataFrame({"created_at": [dt(2024, 1, 1)]})}))
    plans = metric_plans(ctx, [CATALOG["deals_created"], CATALOG["win_rate"]], skipped)
    assert list(plans) == ["deals_created"]
    assert skipped == {"win_rate": "deals has no status, closed_at columns"}


def test_unknown_id_suggests_close_names() -> None:
    with pytest.raises(UsageError) as err:
        evaluate(deals_ds(), ["win_rat"])
    assert "win_rate" in str(err.value)


def test_missing_metric_without_skipped_dict_raises_with_reason() -> None:
    with pytest.raises(UsageError, match="no leads table"):
        evaluate(deals_ds(), ["leads_created"])


def test_empty_table_is_a_reason_not_a_crash() -> None:
    from crmkpi.schema import empty_frame

    skipped: dict[str, str] = {}
    evaluate(Dataset(frames={"deals": empty_frame("deals")}), ["deals_won"], skipped=skipped)
    assert skipped == {"deals_won": "deals table is empty"}


def test_every_declaration_is_complete() -> None:
    for metric in CATALOG.values():
        assert metric.unit in UNITS
        assert metric.formula and metric.label, metric.id
        assert metric.period_date, metric.id
    for spec in TABLE_CATALOG.values():
        assert spec.doc and spec.title, spec.id
    required = {
        "deals_created", "deals_total", "deals_open", "deals_won", "deals_lost",
        "open_pipeline_value", "win_rate", "win_rate_amount", "close_rate", "avg_deal_size",
        "median_deal_size", "revenue_won", "sales_cycle_days_median", "sales_cycle_days_mean",
        "pipeline_velocity", "pipeline_coverage", "weighted_pipeline", "leads_created",
        "lead_response_minutes_median", "lead_response_minutes_p90", "lead_response_sla_rate",
        "lead_response_business_minutes_median", "lead_conversion_rate", "activities_total",
        "activity_success_rate", "activities_per_won_deal", "cost_per_lead", "cac", "clv",
        "clv_cac_ratio", "cac_payback_months", "mrr", "arr", "quick_ratio",
        "customer_churn_rate", "revenue_churn_rate", "net_revenue_retention",
        "customer_retention_rate", "renewal_rate", "nps", "nps_responses", "promoters",
        "passives", "detractors",
    }  # fmt: skip
    assert required <= set(CATALOG)
    tables = {"funnel", "stage_conversion_by_owner", "stuck_deals", "lost_reasons",
              "deal_size_outliers", "forecast", "lead_qualification", "sources", "activities",
              "mrr_movements", "churn_reasons", "owners"}  # fmt: skip
    assert tables <= set(TABLE_CATALOG)


def test_window_on_table_without_the_date_column_is_a_usage_error() -> None:
    nps = Dataset(frames={"nps": pl.DataFrame({"score": [10, 0]})})
    assert one(evaluate(nps, ["nps"]), "nps") == 0.0  # (1 - 1) / 2
    with pytest.raises(UsageError, match="answered_at"):
        evaluate(nps, ["nps"], Grain(period="month"))


def test_breakdown_column_missing_in_a_data_chosen_table_is_a_reason() -> None:
    skipped: dict[str, str] = {}
    got = evaluate(deals_ds(), ["new_customers", "deals_won"], Grain(by=("Industry",)),
                   skipped=skipped)  # fmt: skip
    assert "new_customers" in got  # deals have Industry
    evaluate(deals_ds(), ["new_customers"], Grain(by=("Region",)), skipped=skipped)
    assert skipped["new_customers"] == "deals has no Region column to break down by"


def test_categorical_text_columns_give_the_same_results() -> None:
    from metric_frames import STAGES, deals_frame

    plain = deals_frame().with_columns(stage=pl.Series(["Won", "Lost", "Lead", "Won", "Won",
                                                        "Proposal"]))  # fmt: skip
    coded = plain.with_columns(pl.col("owner", "status", "stage").cast(pl.Categorical))
    ids = ["deals_won", "win_rate", "revenue_won", "deals_open", "weighted_pipeline"]
    grain = Grain(by=("owner",))
    a = evaluate(Dataset(frames={"deals": plain}, stages=STAGES), ids, grain)
    b = evaluate(Dataset(frames={"deals": coded}, stages=STAGES), ids, grain)
    for kpi in ids:
        assert a[kpi]["value"].to_list() == b[kpi]["value"].to_list(), kpi
    from crmkpi.metrics import evaluate_tables

    fa = evaluate_tables(Dataset(frames={"deals": plain}, stages=STAGES), ["funnel"])
    fb = evaluate_tables(Dataset(frames={"deals": coded}, stages=STAGES), ["funnel"])
    assert fa["funnel"].equals(fb["funnel"])


def test_counts_are_signed_so_differences_never_wrap() -> None:
    got = evaluate(deals_ds(), ["deals_won", "deals_created", "deals_open"], Grain(period="month"))
    for kpi, frame in got.items():
        assert frame["value"].dtype == pl.Int64, kpi
        diff = frame["value"].diff().drop_nulls()
        assert (diff.abs() < 10).all(), kpi  # Jan->Feb deals_won is 0 - 1 = -1, not 2**32 - 1
