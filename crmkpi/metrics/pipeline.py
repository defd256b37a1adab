"""Deals and pipeline: counts, open pipeline, win rates, deal size, revenue, cycle, velocity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from crmkpi.errors import UsageError
from crmkpi.metrics.base import (
    Context,
    Metric,
    aggregate,
    combine,
    needs,
)
from crmkpi.metrics.breakdown import stock, stock_of_known
from crmkpi.metrics.kinds import Kind, count, mean, median_of, ratio, safe_div, total
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON, days_between

if TYPE_CHECKING:
    from crmkpi.config import Config

WON = pl.col("status") == STATUS_WON
LOST = pl.col("status") == STATUS_LOST
# won / (won + lost): the same number as won / closed, but summed so that it never passes 1
# (the closed amounts summed apart round differently: 1.0000000000000002)
_WON_AMOUNT = pl.col("amount").filter(WON).sum()
_WON_SHARE = safe_div(_WON_AMOUNT, _WON_AMOUNT + pl.col("amount").filter(LOST).sum())
OPEN = pl.col("status") == STATUS_OPEN
CLOSED = WON | LOST
AMOUNT = pl.col("amount")
HUBSPOT = "HubSpot, Salesforce sales reporting definitions"


CYCLE_WORDS = "closed_at - created_at over won deals, in fractional days"
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
    of = stock_of_known if amount else stock
    return of(ctx, frame, "created_at", stop, weight, OPEN, extra)


_OPEN_NOTE = (
    "Without a period: open now (status open), or at the window's end when --until is given "
    "(created before it and not closed before it). With a period: open at each period's end. "
    "Closed deals without closed_at cannot be placed in time and count in no period; an open "
    "deal without created_at is open now, but in no period and at no earlier --until."
)

deals_open = Metric(
    id="deals_open", label="Open deals", unit="count", direction="neutral",
    needs=needs(("deals", ["status"])),
    kind=Kind.STOCK, formula="count of deals open at the moment (period end, window end, or now)",
    compute=lambda ctx: open_stock(ctx, pl.lit(1, dtype=pl.Int64)),
    period_date="created_at and closed_at (open between them)",
    notes=_OPEN_NOTE, point_in_time=True, additive=True,
    reference="Salesforce: open opportunities (IsClosed false); HubSpot: deals not in a closed "
    "stage",
)  # fmt: skip

open_pipeline_value = Metric(
    id="open_pipeline_value", label="Open pipeline value", unit="currency", direction="higher",
    needs=needs(("deals", ["status", "amount"])),
    kind=Kind.STOCK,
    formula="sum of amount of deals open at the moment (period end, window end, or now)",
    compute=lambda ctx: open_stock(ctx, AMOUNT, amount=True),
    period_date="created_at and closed_at (open between them)",
    notes=_OPEN_NOTE + " Deals without amount add nothing; when no open deal has one, the "
    "value is unknown (not 0).",
    point_in_time=True, additive=True, monetary=True, support="deals_open",
    null_reason="no open deal has an amount",
    reference="Salesforce pipeline: sum of Amount of open opportunities; HubSpot deal pipeline "
    "amount",
)  # fmt: skip

deals_won = Metric(
    id="deals_won", label="Deals won", unit="count", direction="higher",
    needs=needs(("deals", ["status", "closed_at"])),
    compute=aggregate("deals", "closed_at", count("deals with status won", WON)),
    period_date="closed_at", additive=True,
    reference="Salesforce: opportunities with IsWon, by CloseDate; HubSpot: closed-won deals by "
    "close date",
)  # fmt: skip

win_rate = Metric(
    id="win_rate", label="Win rate", unit="ratio", direction="higher",
    needs=needs(("deals", ["status", "closed_at"])),
    compute=aggregate("deals", "closed_at", ratio(count("won", WON),
                                                  count("(won + lost)", CLOSED))),
    scope="deals closed in the period",
    period_date="closed_at",
    notes="Open deals are left out: a deal counts in the period it was won or lost.",
    reference=f"{HUBSPOT}: closed-won / all closed",
    null_reason="no deal won or lost in the period",
)  # fmt: skip

avg_deal_size = Metric(
    id="avg_deal_size", label="Average deal size", unit="currency", direction="higher",
    needs=needs(("deals", ["status", "amount", "closed_at"])),
    compute=aggregate("deals", "closed_at", mean("amount of won deals", AMOUNT, WON),
                      amount="amount"),
    period_date="closed_at", monetary=True,
    notes="Won deals without amount are left out of the mean.",
    reference=HUBSPOT, null_reason="no won deal with an amount in the period",
)  # fmt: skip

sales_cycle_days_mean = Metric(
    id="sales_cycle_days_mean", label="Sales cycle (mean)", unit="days", direction="lower",
    needs=needs(("deals", ["status", "created_at", "closed_at"])),
    compute=aggregate("deals", "closed_at", mean(CYCLE_WORDS, cycle_days(), WON)),
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
    cut = [k for k in ctx.grain.by if k != "currency"]
    if cut:  # a rep's pipeline against the whole team's quota reads 0.1x: not a coverage
        raise UsageError(f"pipeline coverage by {', '.join(cut)} needs a quota per {cut[0]}; "
                         "[quota] is the team's")  # fmt: skip
    quota = quota_for(ctx.config, ctx.grain.period)
    frame = open_stock(ctx, AMOUNT, amount=True)
    return frame.with_columns(safe_div(pl.col("value"), pl.lit(quota, dtype=pl.Float64)))


# fmt: off
METRICS = [
    Metric(
        id="deals_created", label="Deals created", unit="count", direction="higher",
        needs=needs(("deals", ["created_at"])),
        compute=aggregate("deals", "created_at", count("deals created in the period",
                                                       pl.col("created_at").is_not_null())),
        period_date="created_at", additive=True,
        reference="HubSpot and Salesforce deal reports: deals counted by create date",
    ),
    Metric(
        id="deals_total", label="Deals", unit="count", direction="neutral",
        repeats="deals_created",
        needs=needs(("deals", ["created_at"])),
        compute=aggregate("deals", "created_at",
                          count("deals (every status) created in the window")),
        period_date="created_at", additive=True,
        notes="Without a window this counts every row, even one with no created_at; "
        "deals_created counts only dated ones.",
        reference="HubSpot and Salesforce: every deal record, whatever its stage",
    ),
    deals_open,
    deals_won,
    Metric(
        id="deals_lost", label="Deals lost", unit="count", direction="lower",
        needs=needs(("deals", ["status", "closed_at"])),
        compute=aggregate("deals", "closed_at", count("deals with status lost", LOST)),
        period_date="closed_at", additive=True,
        reference="Salesforce: closed and not won, by CloseDate; HubSpot: closed-lost deals by "
        "close date",
    ),
    open_pipeline_value,
    win_rate,
    Metric(
        id="win_rate_amount", label="Win rate by value", unit="ratio", direction="higher",
        needs=needs(("deals", ["status", "closed_at", "amount"])),
        compute=aggregate("deals", "closed_at",
                          ratio(total("amount won", AMOUNT, WON),
                                total("amount won or lost", AMOUNT, CLOSED),
                                value=_WON_SHARE),
                          amount="amount"),
        scope="deals closed in the period",
        period_date="closed_at", monetary=True,
        notes="Without a base currency the rate is given per currency.",
        reference=HUBSPOT, null_reason="no closed amount in the period",
    ),
    Metric(
        id="close_rate", label="Close rate (cohort)", unit="ratio", direction="higher",
        needs=needs(("deals", ["status", "created_at"])),
        compute=aggregate("deals", "created_at", ratio(count("deals won", WON),
                                                       count("deals created"))),
        scope="over the deals created in the period",
        period_date="created_at",
        notes="A cohort rate: deals still open count in the denominator, so recent periods "
        "look lower until their deals close; it is never alerted on.",
        null_reason="no deal created in the period", cohort=True,
        reference="HubSpot deal close rate of a creation cohort (won / created); win_rate is the "
        "one to compare over time",
    ),
    avg_deal_size,
    Metric(
        id="median_deal_size", label="Median deal size", unit="currency", direction="higher",
        needs=needs(("deals", ["status", "amount", "closed_at"])),
        compute=aggregate("deals", "closed_at", median_of("amount of won deals", AMOUNT, WON),
                          amount="amount"),
        period_date="closed_at", monetary=True,
        null_reason="no won deal with an amount in the period",
        reference="HubSpot average deal size, as a median: one outsized deal moves a mean, not a "
        "median",
    ),
    Metric(
        id="revenue_won", label="Revenue won", unit="currency", direction="higher",
        needs=needs(("deals", ["status", "amount", "closed_at"])),
        compute=aggregate("deals", "closed_at", total("amount of won deals", AMOUNT, WON),
                          amount="amount"),
        period_date="closed_at", additive=True, monetary=True,
        reference="Salesforce closed-won amount by CloseDate; HubSpot revenue of closed-won deals",
    ),
    Metric(
        id="sales_cycle_days_median", label="Sales cycle (median)", unit="days", direction="lower",
        needs=needs(("deals", ["status", "created_at", "closed_at"])),
        compute=aggregate("deals", "closed_at", median_of(CYCLE_WORDS, cycle_days(), WON)),
        period_date="closed_at", reference=HUBSPOT, notes=CYCLE_NOTE,
        null_reason="no won deal with both dates in the period",
    ),
    sales_cycle_days_mean,
    Metric(
        id="pipeline_velocity", label="Pipeline velocity",
        unit="currency_per_day", direction="higher",
        needs=needs(("deals", ["status", "created_at", "closed_at", "amount"])),
        formula="open deals x win_rate x avg_deal_size / sales_cycle_days_mean",
        compute=combine(
            {"open": deals_open, "rate": win_rate, "size": avg_deal_size,
             "cycle": sales_cycle_days_mean},
            lambda c, ctx: safe_div(c["open"] * c["rate"] * c["size"], c["cycle"]),
        ),
        period_date="closed_at (rates) and period end (open deals)", monetary=True,
        notes="Revenue the pipeline is expected to produce per day. Open deals are counted "
        "over every currency; deal size is per currency unless a base currency is set.",
        reference="Salesforce, HubSpot: sales velocity = opportunities x win rate x deal value "
        "/ cycle length",
        null_reason="no won deal in the period (no win rate, size or cycle)", support="deals_won",
    ),
    Metric(
        id="pipeline_coverage", label="Pipeline coverage", unit="multiple", direction="higher",
        needs=needs(("deals", ["status", "created_at", "amount"])),
        kind=Kind.DERIVED, inputs=(open_pipeline_value,),
        formula="open_pipeline_value / quota of one period",
        compute=_coverage,
        period_date="period end (open deals)", point_in_time=True, monetary=True,
        notes="Quota from [quota] in crmkpi.toml (day, week, month, quarter or year; another "
        "period's quota is prorated by months). Without a period the quarter's quota is used. "
        "The quota is taken to be in the base currency (or the deals' one currency).",
        reference="Common sales practice: 3x coverage of the period quota",
        null_reason="no quota configured", requires=_requires_quota, support="deals_open",
    ),
]
# fmt: on
