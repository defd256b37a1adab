"""Who is a customer, and since when: the first won deal, shared by every table that counts
customers (the KPI new_customers and the MRR movements give one figure)."""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import Context
from crmkpi.metrics.stages import WON

SUBS = "subscriptions"


def deal_customers(ctx: Context) -> bool:
    """Whether won deals name their customer, so customers can be counted from deals."""
    return ctx.has("deals", "status", "closed_at", "customer_id")


def first_wins(ctx: Context) -> pl.LazyFrame:
    """One row per customer: the won deal that made it a customer (the earliest close; the
    lowest id among deals won the same moment), over all the data, not just the window, so
    an upsell is never a new customer. A customer whose subscriptions began on an earlier day
    was a customer before its first won deal in the export (signed before the CRM data
    starts): it is not new either. Won deals without customer_id cannot be matched and each
    stands for one customer."""
    won = ctx.table("deals").filter(WON & pl.col("closed_at").is_not_null())
    if not ctx.has("deals", "customer_id"):
        return won
    order = ["closed_at", "id"] if ctx.has("deals", "id") else ["closed_at"]
    known = pl.col("customer_id").is_not_null()
    firsts = won.filter(known).sort(order).unique("customer_id", keep="first")
    if ctx.has(SUBS, "customer_id", "start_at"):
        since = ctx.table(SUBS).group_by("customer_id").agg(pl.col("start_at").min().alias("__s"))
        earlier = pl.col("__s").dt.date() < pl.col("closed_at").dt.date()
        firsts = (
            firsts.join(since, on="customer_id", how="left")
            .filter(earlier.not_() | pl.col("__s").is_null())
            .drop("__s")
        )
    return pl.concat([firsts, won.filter(~known)], how="diagonal_relaxed")
