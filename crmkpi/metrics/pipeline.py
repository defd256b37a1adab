"""Deals and pipeline: counts, open pipeline, win rates, deal size, revenue, cycle, velocity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from crmkpi.metrics.base import (
    Context,
    Metric,
    aggregate,
    combine,
    median,
    needs,
    safe_div,
)
from crmkpi.metrics.breakdown import stock
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON, days_between

if TYPE_CHECKING:
    from crmkpi.config import Config

WON = pl.col("status") == STATUS_WON
LOST = pl.col("status") == STATUS_LOST
OPEN = pl.col("status") == STATUS_OPEN
CLOSED = WON | LOST
AMOUNT = pl.col("amount")
HUBSPOT = "HubSpot, Salesforce sales reporting definitions"


CYCLE_NOTE = (
    "When the close date has no time of day (a date-only close date, as Salesforce and most "
    "CRMs export it), the cycle is counted in whole days between the dates, as Salesforce's Age "
    "field does: a deal created at 19:51 and closed the same date took 0 days. "
    "A deal closed before it was created (a data error, counted in the data-quality facts, "
    "e.g. a CRM migration that reset creation dates) has no cycle and is left out."
)


def cycle_days() -> pl.Expr:
    """Days from creation to close, fractional when times are known, whole days when the close
    is a date (crmkpi.schema.days_between); null when negative."""
    days = days_between(pl.col("created_at"), pl.col("closed_at"))
    return pl.when(days >= 0).then(days)


def open_stock(ctx: Context, weight: pl.Expr, amount: bool = False) -> pl.LazyFrame:
    """Open deals (or their `weight`) now, at the window's end, or at each period's end."""
    frame = ctx.table("deals")
    extra: list[str] = []
    if amount:
        frame = ctx.money(frame, "deals")
        extra = ctx.currency_keys("deals")
    stop = pl.when(OPEN).then(None).otherwise(ctx.column("deals", "closed_at"))
    return stock(ctx, frame, "created_at", stop, weight, OPEN, extra)


_OPEN_NOTE = (
    "Without a period: open now (status open), or at the window's end when --until is given "
    "(created before it and not closed before it). With a period: open at each period's end. "
    "Closed deals without closed_at cannot be placed in time and count in no period; an open "
    "deal without created_at is open now, but in no period and at no earlier --until."
)

deals_open = Metric(
    "deals_open", "Open deals", "count", "neutral",
    needs(("deals", ["status"])),
    "count of deals open at the moment (period end, window end, or now)",
    lambda ctx: open_stock(ctx, pl.lit(1, dtype=pl.Int64)),
    period_date="created_at and closed_at (open between them)",
    notes=_OPEN_NOTE, point_in_time=True, additive=True,
    reference="Salesforce: open opportunities (IsClosed false); HubSpot: deals not in a closed "
    "stage",
)  # fmt: skip

open_pipeline_value = Metric(
    "open_pipeline_value", "Open pipeline value", "currency", "higher",
    needs(("deals", ["status", "amount"])),
    "sum of amount of deals open at the moment (period end, window end, or now)",
    lambda ctx: open_stock(ctx, AMOUNT, amount=True),
    period_date="created_at and closed_at (open between them)",
    notes=_OPEN_NOTE + " Deals without amount add nothing.",
    point_in_time=True, additive=True, monetary=True, support="deals_open",
    reference="Salesforce pipeline: sum of Amount of open opportunities; HubSpot deal pipeline "
    "amount",
)  # fmt: skip

deals_won = Metric(
    "deals_won", "Deals won", "count", "higher",
    needs(("deals", ["status", "closed_at"])),
    "count of deals with status won", aggregate("deals", "closed_at", WON.sum()),
    period_date="closed_at", additive=True,
    reference="Salesforce: opportunities with IsWon, by CloseDate; HubSpot: closed-won deals by "
    "close date",
)  # fmt: skip

win_rate = Metric(
    "win_rate", "Win rate", "ratio", "higher",
    needs(("deals", ["status", "closed_at"])),
    "won / (won + lost), deals closed in the period",
    aggregate("deals", "closed_at", safe_div(WON.sum(), CLOSED.sum())),
    period_date="closed_at",
    notes="Open deals are left out: a deal counts in the period it was won or lost.",
    reference=f"{HUBSPOT}: closed-won / all closed",
    null_reason="no deal won or lost in the period",
)  # fmt: skip

avg_deal_size = Metric(
    "avg_deal_size", "Average deal size", "currency", "higher",
    needs(("deals", ["status", "amount", "closed_at"])),
    "mean amount of won deals",
    aggregate("deals", "closed_at", AMOUNT.filter(WON).mean(), amount="amount"),
    period_date="closed_at", monetary=True,
    notes="Won deals without amount are left out of the mean.",
    reference=HUBSPOT, null_reason="no won deal with an amount in the period",
)  # fmt: skip

sales_cycle_days_mean = Metric(
    "sales_cycle_days_mean", "Sales cycle (mean)", "days", "lower",
    needs(("deals", ["status", "created_at", "closed_at"])),
    "mean of closed_at - created_at over won deals, in fractional days",
    aggregate("deals", "closed_at", cycle_days().filter(WON).mean()),
    period_date="closed_at", reference=HUBSPOT, notes=CYCLE_NOTE,
    null_reason="no won deal with both dates in the period",
)  # fmt: skip


def _quota_months(period: str | None) -> float:
    return {"day": 12 / 365, "week": 12 / 52, "month": 1, "quarter": 3, "year": 12}[
        period or "quarter"
    ]


def quota_for(config: Config | None, period: str | None) -> float | None:
    """The quota of one period: as configured for it, else prorated from another period's."""
    if config is None or not config.quota:
        return None
    want = period or "quarter"
    if want in config.quota:
        return config.quota[want]
    for have in ("month", "quarter", "year", "week", "day"):
        if have in config.quota:
            return config.quota[have] / _quota_months(have) * _quota_months(want)
    return None


def _requires_quota(ds: object, config: Config | None) -> str | None:
    return None if quota_for(config, "month") else "no quota configured ([quota] month = ...)"


def _coverage(ctx: Context) -> pl.LazyFrame:
    quota = quota_for(ctx.config, ctx.grain.period)
    frame = open_stock(ctx, AMOUNT, amount=True)
    return frame.with_columns(safe_div(pl.col("value"), pl.lit(quota, dtype=pl.Float64)))


# fmt: off
METRICS = [
    Metric(
        "deals_created", "Deals created", "count", "higher",
        needs(("deals", ["created_at"])),
        "count of deals created in the period",
        aggregate("deals", "created_at", pl.col("created_at").is_not_null().sum()),
        period_date="created_at", additive=True,
        reference="HubSpot and Salesforce deal reports: deals counted by create date",
    ),
    Metric(
        "deals_total", "Deals", "count", "neutral",
        needs(("deals", ["created_at"])),
        "count of deals (every status) created in the window",
        aggregate("deals", "created_at", pl.len()),
        period_date="created_at", additive=True,
        notes="Without a window this counts every row, even one with no created_at; "
        "deals_created counts only dated ones.",
        reference="HubSpot and Salesforce: every deal record, whatever its stage",
    ),
    deals_open,
    deals_won,
    Metric(
        "deals_lost", "Deals lost", "count", "lower",
        needs(("deals", ["status", "closed_at"])),
        "count of deals with status lost", aggregate("deals", "closed_at", LOST.sum()),
        period_date="closed_at", additive=True,
        reference="Salesforce: closed and not won, by CloseDate; HubSpot: closed-lost deals by "
        "close date",
    ),
    open_pipeline_value,
    win_rate,
    Metric(
        "win_rate_amount", "Win rate by value", "ratio", "higher",
        needs(("deals", ["status", "closed_at", "amount"])),
        "amount won / amount won or lost, deals closed in the period",
        aggregate("deals", "closed_at",
                  safe_div(AMOUNT.filter(WON).sum(), AMOUNT.filter(CLOSED).sum()),
                  amount="amount"),
        period_date="closed_at", monetary=True,
        notes="Without a base currency the rate is given per currency.",
        reference=HUBSPOT, null_reason="no closed amount in the period",
    ),
    Metric(
        "close_rate", "Close rate (cohort)", "ratio", "higher",
        needs(("deals", ["status", "created_at"])),
        "deals won / deals created, over the deals created in the period",
        aggregate("deals", "created_at", safe_div(WON.sum(), pl.len())),
        period_date="created_at",
        notes="A cohort rate: deals still open count in the denominator, so recent periods "
        "look lower until their deals close; it is never alerted on.",
        null_reason="no deal created in the period", cohort=True,
        reference="HubSpot deal close rate of a creation cohort (won / created); win_rate is the "
        "one to compare over time",
    ),
    avg_deal_size,
    Metric(
        "median_deal_size", "Median deal size", "currency", "higher",
        needs(("deals", ["status", "amount", "closed_at"])),
        "median amount of won deals",
        aggregate("deals", "closed_at", median(AMOUNT.filter(WON)), amount="amount"),
        period_date="closed_at", monetary=True,
        null_reason="no won deal with an amount in the period",
        reference="HubSpot average deal size, as a median: one outsized deal moves a mean, not a "
        "median",
    ),
    Metric(
        "revenue_won", "Revenue won", "currency", "higher",
        needs(("deals", ["status", "amount", "closed_at"])),
        "sum of amount of won deals",
        aggregate("deals", "closed_at", AMOUNT.filter(WON).sum(), amount="amount"),
        period_date="closed_at", additive=True, monetary=True,
        reference="Salesforce closed-won amount by CloseDate; HubSpot revenue of closed-won deals",
    ),
    Metric(
        "sales_cycle_days_median", "Sales cycle (median)", "days", "lower",
        needs(("deals", ["status", "created_at", "closed_at"])),
        "median of closed_at - created_at over won deals, in fractional days",
        aggregate("deals", "closed_at", median(cycle_days().filter(WON))),
        period_date="closed_at", reference=HUBSPOT, notes=CYCLE_NOTE,
        null_reason="no won deal with both dates in the period",
    ),
    sales_cycle_days_mean,
    Metric(
        "pipeline_velocity", "Pipeline velocity", "currency_per_day", "higher",
        needs(("deals", ["status", "created_at", "closed_at", "amount"])),
        "open deals x win_rate x avg_deal_size / sales_cycle_days_mean",
        combine(
            {"open": deals_open, "rate": win_rate, "size": avg_deal_size,
             "cycle": sales_cycle_days_mean},
            lambda c: safe_div(c["open"] * c["rate"] * c["size"], c["cycle"]),
        ),
        period_date="closed_at (rates) and period end (open deals)", monetary=True,
        notes="Revenue the pipeline is expected to produce per day. Open deals are counted "
        "over every currency; deal size is per currency unless a base currency is set.",
        reference="Salesforce, HubSpot: sales velocity = opportunities x win rate x deal value "
        "/ cycle length",
        null_reason="no won deal in the period (no win rate, size or cycle)", support="deals_won",
    ),
    Metric(
        "pipeline_coverage", "Pipeline coverage", "multiple", "higher",
        needs(("deals", ["status", "created_at", "amount"])),
        "open_pipeline_value / quota of one period",
        _coverage,
        period_date="period end (open deals)", point_in_time=True, monetary=True,
        notes="Quota from [quota] in crmkpi.toml (day, week, month, quarter or year; another "
        "period's quota is prorated by months). Without a period the quarter's quota is used. "
        "The quota is taken to be in the base currency (or the deals' one currency).",
        reference="Common sales practice: 3x coverage of the period quota",
        null_reason="no quota configured", requires=_requires_quota, support="deals_open",
    ),
]
# fmt: on
