"""Deals and pipeline: counts, win rate, deal size, revenue, sales cycle."""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import Context, Metric, TableSpec, aggregate, needs, safe_div
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON

WON = pl.col("status") == STATUS_WON
LOST = pl.col("status") == STATUS_LOST
OPEN = pl.col("status") == STATUS_OPEN
CLOSED = WON | LOST
DAY_US = 86_400_000_000


def cycle_days() -> pl.Expr:
    """Days from creation to close, fractional when times are known."""
    return (pl.col("closed_at") - pl.col("created_at")).dt.total_microseconds() / DAY_US


METRICS = [
    Metric(
        "deals_total",
        "Deals",
        "count",
        "neutral",
        needs(("deals", ["status"])),
        "count of deals",
        aggregate("deals", "created_at", pl.len()),
        period_date="created_at",
    ),
    Metric(
        "deals_open",
        "Open deals",
        "count",
        "neutral",
        needs(("deals", ["status"])),
        "count of deals with status open",
        aggregate("deals", "created_at", OPEN.sum()),
        period_date="created_at",
        point_in_time=True,
    ),
    Metric(
        "deals_won",
        "Deals won",
        "count",
        "higher",
        needs(("deals", ["status", "closed_at"])),
        "count of deals with status won",
        aggregate("deals", "closed_at", WON.sum(), where=CLOSED),
        period_date="closed_at",
    ),
    Metric(
        "deals_lost",
        "Deals lost",
        "count",
        "lower",
        needs(("deals", ["status", "closed_at"])),
        "count of deals with status lost",
        aggregate("deals", "closed_at", LOST.sum(), where=CLOSED),
        period_date="closed_at",
    ),
    Metric(
        "win_rate",
        "Win rate",
        "ratio",
        "higher",
        needs(("deals", ["status", "closed_at"])),
        "won / (won + lost), deals closed in the period",
        aggregate("deals", "closed_at", safe_div(WON.sum(), CLOSED.sum()), where=CLOSED),
        period_date="closed_at",
        reference="HubSpot, Salesforce: closed-won / all closed",
    ),
    Metric(
        "avg_deal_size",
        "Average deal size",
        "currency",
        "higher",
        needs(("deals", ["status", "amount", "closed_at"])),
        "mean amount of won deals",
        aggregate("deals", "closed_at", pl.col("amount").mean(), where=WON),
        period_date="closed_at",
    ),
    Metric(
        "revenue_won",
        "Revenue won",
        "currency",
        "higher",
        needs(("deals", ["status", "amount", "closed_at"])),
        "sum of amount of won deals",
        aggregate("deals", "closed_at", pl.col("amount").sum(), where=WON),
        period_date="closed_at",
    ),
    Metric(
        "sales_cycle_days_median",
        "Sales cycle (median)",
        "days",
        "lower",
        needs(("deals", ["status", "created_at", "closed_at"])),
        "median of closed_at - created_at over won deals, in days",
        aggregate("deals", "closed_at", cycle_days().median(), where=WON),
        period_date="closed_at",
    ),
]


def _owners(ctx: Context) -> pl.LazyFrame:
    deals = ctx.table("deals")
    return (
        deals.group_by("owner")
        .agg(
            pl.len().alias("deals"),
            WON.sum().alias("deals_won"),
            LOST.sum().alias("deals_lost"),
            safe_div(WON.sum(), CLOSED.sum()).alias("win_rate"),
            pl.col("amount").filter(WON).sum().alias("revenue_won"),
        )
        .sort(["revenue_won", "owner"], descending=[True, False], nulls_last=True)
    )


TABLES = [
    TableSpec(
        "owners",
        "Owners",
        needs(("deals", ["owner", "status", "amount"])),
        _owners,
        doc="Per owner: deals, won, lost, win rate, revenue won.",
        units={
            "deals": "count",
            "deals_won": "count",
            "win_rate": "ratio",
            "revenue_won": "currency",
        },
    ),
]
