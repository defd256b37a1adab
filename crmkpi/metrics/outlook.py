"""What the open pipeline is expected to bring: weighted pipeline and the monthly forecast."""

from __future__ import annotations

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.metrics.base import Context, Metric, TableSpec, needs
from crmkpi.metrics.breakdown import stock_of_known
from crmkpi.metrics.forecast import forecast_deals
from crmkpi.metrics.kinds import Kind
from crmkpi.metrics.stages import (
    OPEN,
    deal_probability,
    has_history,
    requires_order,
)

AMOUNT = pl.col("amount")


def _with_probability(ctx: Context, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Deals plus `__p`: own probability, config stage probability, historic stage win rate."""
    if requires_order(ctx.ds, ctx.config) is None and ctx.has("deals", "id", "stage"):
        return deal_probability(ctx, frame)
    configured = dict(ctx.config.stages.probability) if ctx.config else {}
    by_stage = (
        pl.col("stage").replace_strict(configured, default=None, return_dtype=pl.Float64)
        if configured and ctx.has("deals", "stage")
        else pl.lit(None, dtype=pl.Float64)
    )
    own = pl.col("probability").clip(0, 1) if ctx.has("deals", "probability") else None
    return frame.with_columns(
        (pl.coalesce(own, by_stage) if own is not None else by_stage).alias("__p")
    )


def _requires_probability(ds: Dataset, config: object | None) -> str | None:
    if ds.has("deals", "probability") or requires_order(ds, config) is None:
        return None
    if getattr(getattr(config, "stages", None), "probability", None):
        return None
    return "no probability column, no [stages] probability and no stage order"


def _weighted(ctx: Context) -> pl.LazyFrame:
    frame = _with_probability(ctx, ctx.money(ctx.table("deals"), "deals"))
    stop = pl.when(OPEN).then(None).otherwise(ctx.column("deals", "closed_at"))
    weight = AMOUNT * pl.col("__p")
    return stock_of_known(ctx, frame, "created_at", stop, weight, OPEN, ctx.currency_keys("deals"))


def _forecast(ctx: Context) -> pl.LazyFrame:
    """Open deals per month of expected close, weighted as the forecast against quota weighs
    them (crmkpi.metrics.forecast): one forecast, cut by month."""
    currency = ctx.currency_keys("deals")
    month = pl.col("__close").dt.truncate("1mo")
    return (
        forecast_deals(ctx)
        .with_columns(month.alias("month"))
        .filter(pl.col("month").is_not_null())
        .group_by(["month", *currency])
        .agg(
            pl.len().alias("deals"),
            AMOUNT.sum().alias("pipeline_amount"),
            pl.col("__weight").sum().alias("expected_revenue"),
            pl.col("__overdue").sum().cast(pl.Int64).alias("overdue_deals"),
            pl.col("__aged").sum().cast(pl.Int64).alias("aged_deals"),
        )
        .sort(["month", *currency])
    )


METRICS = [
    Metric(
        id="weighted_pipeline",
        label="Weighted pipeline",
        unit="currency",
        direction="higher",
        needs=needs(("deals", ["status", "created_at", "amount"])),
        kind=Kind.STOCK,
        formula="sum over open deals of amount x win probability",
        compute=_weighted,
        period_date="created_at and closed_at (open between them)",
        notes="Probability: the deal's own `probability` column when filled, else "
        "[stages] probability in crmkpi.toml for its stage, else the historic win rate of "
        "closed deals that reached its stage. Past periods use today's probabilities.",
        reference="Salesforce expected revenue; HubSpot weighted amount",
        point_in_time=True,
        additive=True,
        monetary=True,
        requires=_requires_probability,
        support="deals_open",
    )
]


def _forecast_note(ctx: Context) -> str:
    timing = (
        "median days from entering the deal's stage to winning (stage history; the median "
        "sales cycle from creation for a stage with no win yet)"
        if has_history(ctx)
        else "median sales cycle from creation"
    )
    return (
        f"expected close: expected_close_at when given, else {timing}; overdue deals fall in "
        "the current month; expected revenue = amount x probability x ageing factor, as in "
        "the forecast against quota"
    )


TABLES = [
    TableSpec(
        "forecast",
        "Forecast",
        needs(("deals", ["status", "created_at", "closed_at", "amount"])),
        _forecast,
        doc="Per coming month: open deals expected to close, their amount, and expected won "
        "revenue (amount x the stage's historic win rate, aged deals discounted: see Forecast "
        "against quota), timed by expected_close_at or the historic time from their stage to "
        "close; overdue and aged deals counted.",
        units={
            "deals": "count",
            "pipeline_amount": "currency",
            "expected_revenue": "currency",
            "overdue_deals": "count",
            "aged_deals": "count",
        },
        note=_forecast_note,
        requires=_requires_probability,
        reference="Salesforce forecasts by expected close month; expected revenue = amount x "
        "probability (Salesforce ExpectedRevenue, HubSpot weighted amount), here with the "
        "team's own stage win rates",
    )
]
