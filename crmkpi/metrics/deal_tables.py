"""Deal tables: why deals are lost, and deals whose size is far from the typical one."""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import REPORT_LIST_ROWS, Context, TableSpec, needs
from crmkpi.metrics.stages import LOST, OPEN, REACH, WON, deal_reach, requires_order, stage_ranks

NO_REASON = "(no reason given)"
MAD_TO_SIGMA = 1.4826  # MAD x 1.4826 estimates the standard deviation of a normal distribution
OUTLIER_Z = 3.0


def _lost_reasons(ctx: Context) -> pl.LazyFrame:
    deals = ctx.money(ctx.table("deals"), "deals") if ctx.has("deals", "amount") else None
    deals = deals if deals is not None else ctx.table("deals")
    deals = ctx.window(deals.filter(LOST), "closed_at") if ctx.has("deals", "closed_at") else (
        deals.filter(LOST)
    )  # fmt: skip
    currency = ctx.currency_keys("deals") if ctx.has("deals", "amount") else []
    by = list(ctx.grain.by)
    reason = pl.col("lost_reason").fill_null(NO_REASON).alias("lost_reason")
    aggs = [pl.len().alias("deals")]
    if ctx.has("deals", "amount"):
        aggs.append(pl.col("amount").sum().alias("value_lost"))
    table = deals.group_by(*by, reason, *currency).agg(aggs)
    lost = pl.col("deals").sum().over(by) if by else pl.col("deals").sum()
    table = table.with_columns((pl.col("deals") / lost).alias("share"))
    if requires_order(ctx.ds, ctx.config) is None and ctx.has("deals", "id", "stage"):
        where = (
            deal_reach(ctx, ["lost_reason"])
            .filter(LOST)
            .join(
                stage_ranks(ctx).rename({"stage": "lost_at_stage"}), left_on=REACH, right_on="rank"
            )
            .group_by(*by, reason)
            .agg(pl.col("lost_at_stage").mode().sort().first())
        )
        table = table.join(where, on=[*by, "lost_reason"], how="left", nulls_equal=True)
    return table.sort(
        [*by, "deals", "lost_reason"], descending=[False] * len(by) + [True, False], nulls_last=True
    )


def _outliers(ctx: Context) -> pl.LazyFrame:
    """Open and won deals whose log amount is more than 3 robust standard deviations out."""
    currency = ctx.currency_keys("deals")
    shown = [c for c in ("id", "name", "owner", "stage", "status") if ctx.has("deals", c)]
    log_amount = pl.col("amount").log()
    center = log_amount.median()
    spread = (log_amount - center).abs().median() * MAD_TO_SIGMA
    over = (lambda e: e.over(currency)) if currency else (lambda e: e)
    return (
        ctx.money(ctx.table("deals"), "deals")
        .filter((OPEN | WON) & (pl.col("amount") > 0))
        .with_columns(
            over(center).alias("__center"),
            over(spread).alias("__spread"),
            log_amount.alias("__log"),
        )
        .with_columns(
            pl.when(pl.col("__spread") > 0)
            .then((pl.col("__log") - pl.col("__center")) / pl.col("__spread"))
            .alias("robust_z")
        )
        .filter(pl.col("robust_z").abs() > OUTLIER_Z)
        .with_columns(
            pl.col("__center").exp().alias("typical_amount"),
            pl.when(pl.col("robust_z") > 0)
            .then(pl.lit("high"))
            .otherwise(pl.lit("low"))
            .alias("side"),
        )  # fmt: skip
        .sort(
            [pl.col("robust_z").abs(), *shown],
            descending=[True, *(False for _ in shown)],
            nulls_last=True,
        )
        .select(*shown, "amount", *currency, "typical_amount", "robust_z", "side")
    )


TABLES = [
    TableSpec(
        "lost_reasons",
        "Lost reasons",
        needs(("deals", ["status", "lost_reason"])),
        _lost_reasons,
        doc="Per reason: lost deals, share of all lost deals, value lost and the stage they were "
        "most often lost at (the furthest stage reached, when a stage order is known). Deals "
        f"lost in the window (by closed_at); an empty reason shows as {NO_REASON!r}. With --by "
        "(e.g. owner) the share is of each owner's lost deals.",
        units={"deals": "count", "share": "ratio", "value_lost": "currency"},
        supports_by=True,
        reference="Salesforce Loss Reason and HubSpot closed lost reason reports",
    ),
    TableSpec(
        "deal_size_outliers",
        "Deal size outliers",
        needs(("deals", ["status", "amount"])),
        _outliers,
        doc="Open and won deals whose amount is far from the typical one: |z| > 3 where "
        "z = (ln amount - median ln amount) / (1.4826 x MAD of ln amount), per currency. The "
        "log scale suits sizes that spread multiplicatively; the median and the median "
        "absolute deviation (MAD) are not pulled by the outliers themselves. When most deals "
        "have the same size (MAD = 0) nothing is flagged.",
        units={"amount": "currency", "typical_amount": "currency", "robust_z": "score"},
        report_rows=REPORT_LIST_ROWS,
        reference="the three-sigma rule (|z| > 3) on deal amounts",
    ),
]
