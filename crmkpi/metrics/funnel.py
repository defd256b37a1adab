"""Funnel tables: deals per stage, conversion per owner, and deals stuck in a stage."""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import (
    DAY_US,
    REPORT_LIST_ROWS,
    ColumnLayout,
    Context,
    TableSpec,
    needs,
)
from crmkpi.metrics.kinds import median, quantile, safe_div
from crmkpi.metrics.stages import (
    LOST,
    RANK,
    REACH,
    WON,
    data_end,
    deal_reach,
    has_history,
    open_deals_entered,
    order_source,
    requires_order,
    stage_days,
    stage_dtype,
    stage_ranks,
    stays,
)

FUNNEL_UNITS = {
    "reached": "count",
    "conversion_from_previous": "ratio",
    "conversion_from_first": "ratio",
    "lost_at": "count",
    "median_days_in_stage": "days",
}
WON_ROW = "(won)"


def _conversions(by: list[str]) -> list[pl.Expr]:
    def over(e: pl.Expr) -> pl.Expr:
        return e.over(by, order_by=RANK) if by else e

    reached = pl.col("reached")
    return [
        safe_div(reached, over(reached.shift(1))).alias("conversion_from_previous"),
        safe_div(reached, over(reached.first())).alias("conversion_from_first"),
    ]


def funnel_frame(ctx: Context, by: list[str], with_days: bool = True) -> pl.LazyFrame:
    """Per `by` group and open stage in order, then a final won row (see crmkpi.metrics.stages)."""
    reach = deal_reach(ctx, by).filter(pl.col(REACH).is_not_null())
    if ctx.has("deals", "created_at"):
        reach = reach.filter(ctx.in_window("created_at"))
    counts = reach.group_by([*by, REACH]).agg(
        pl.len().alias("__n"), LOST.sum().cast(pl.Int64).alias("lost_at")
    )
    ranks = stage_ranks(ctx)
    grid = reach.select(by).unique().join(ranks, how="cross") if by else ranks
    deeper_first = grid.join(
        counts, left_on=[*by, RANK], right_on=[*by, REACH], how="left", nulls_equal=True
    ).sort([*by, RANK], descending=[*(False for _ in by), True], nulls_last=True)
    running = pl.col("__n").fill_null(0).cum_sum()
    stages = deeper_first.with_columns(
        (running.over(by) if by else running).cast(pl.Int64).alias("reached"),
        pl.col("lost_at").fill_null(0),
    ).select(*by, "stage", RANK, "reached", "lost_at")
    won = (
        reach.group_by(by).agg(WON.sum().cast(pl.Int64).alias("reached"))
        if by
        else reach.select(WON.sum().cast(pl.Int64).alias("reached"))
    ).join(ranks.select((pl.col(RANK).max() + 1).alias(RANK)), how="cross")
    won = won.select(
        *by,
        pl.lit(WON_ROW).cast(stage_dtype(ctx)).alias("stage"),
        pl.col(RANK).cast(pl.Int32),
        "reached",
        pl.lit(None, dtype=pl.Int64).alias("lost_at"),
    )
    frame = pl.concat([stages, won]).sort([*by, RANK], nulls_last=True)
    frame = frame.with_columns(_conversions(by))
    if with_days and has_history(ctx):
        if by:
            keys = ctx.table("deals").select(pl.col("id").alias("deal_id"), *by)
            days = (
                stays(ctx)
                .join(keys, on="deal_id", how="inner")
                .group_by([*by, "stage"])
                .agg(median(pl.col("days")).alias("median_days_in_stage"))
            )
        else:
            days = stage_days(ctx).select("stage", "median_days_in_stage")
        frame = frame.join(days, on=[*by, "stage"], how="left", nulls_equal=True)
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("median_days_in_stage"))
    return frame.sort([*by, RANK], nulls_last=True).drop(RANK)


def _funnel(ctx: Context) -> pl.LazyFrame:
    return funnel_frame(ctx, list(ctx.grain.by))


def _funnel_note(ctx: Context) -> str:
    if has_history(ctx):
        how = "from stage history (a deal reached every stage up to the furthest it entered)"
    else:
        how = (
            "from current stages and the stage order (no stage history: a deal reached every "
            "stage before its current one; lost deals count at the first stage; no days in stage)"
        )
    return f"{how}; {order_source(ctx)}; '{WON_ROW}' is the deals won"


def _by_owner(ctx: Context) -> pl.LazyFrame:
    team = funnel_frame(ctx, [], with_days=False).select(
        "stage",
        pl.col("conversion_from_previous").alias("team_conversion_from_previous"),
        pl.col("conversion_from_first").alias("team_conversion_from_first"),
    )
    owners = funnel_frame(ctx, ["owner"], with_days=False).drop("lost_at", "median_days_in_stage")
    return owners.join(team, on="stage", how="left", maintain_order="left")


def _stuck(ctx: Context) -> pl.LazyFrame:
    shown = [
        c for c in ("id", "name", "owner", "stage", "amount", "currency") if ctx.has("deals", c)
    ]
    deals = open_deals_entered(ctx).select(*shown, "created_at", "__entered")
    since = pl.coalesce("__entered", "created_at")
    configured = dict(ctx.config.stages.stuck_days) if ctx.config else {}
    thresholds: pl.LazyFrame | None = None
    if has_history(ctx) and ctx.has("deals", "id"):
        thresholds = stage_days(ctx).select("stage", "__p90")
    now = data_end(ctx)
    aged = deals.join(now, how="cross").with_columns(
        ((pl.col("__now") - since).dt.total_microseconds() / DAY_US).alias("days_in_stage")
    )
    if thresholds is None:
        thresholds = aged.group_by("stage").agg(
            quantile(pl.col("days_in_stage"), 0.9).alias("__p90")
        )
    aged = aged.join(thresholds, on="stage", how="left")
    if configured:
        conf = pl.LazyFrame({"stage": list(configured), "__conf": list(configured.values())})
        conf = conf.with_columns(pl.col("stage").cast(stage_dtype(ctx)))
        aged = aged.join(conf, on="stage", how="left")
    else:
        aged = aged.with_columns(pl.lit(None, dtype=pl.Float64).alias("__conf"))
    historic = "p90 of past stays" if has_history(ctx) else "p90 of open deals' ages"
    return (
        aged.with_columns(
            pl.coalesce("__conf", "__p90").alias("threshold_days"),
            pl.when(pl.col("__conf").is_not_null())
            .then(pl.lit("config"))
            .otherwise(pl.lit(historic))
            .alias("threshold_source"),
        )
        .filter(pl.col("days_in_stage") > pl.col("threshold_days"))
        # Ties broken by the shown columns (id first), so the same data lists in the same order.
        .sort(
            ["days_in_stage", *shown],
            descending=[True, *(False for _ in shown)],
            nulls_last=True,
        )
        .select(*shown, "days_in_stage", "threshold_days", "threshold_source")
    )


def _stuck_note(ctx: Context) -> str:
    start = "entered the stage (stage history)" if has_history(ctx) else "was created"
    end = "the window's end" if ctx.grain.until else "the latest date in the deals"
    return f"days since the deal {start}, to {end}; oldest first"


TABLES = [
    TableSpec(
        "funnel",
        "Funnel",
        needs(("deals", ["id", "status", "stage"])),
        _funnel,
        doc="Per stage in order, over the deals created in the window: deals that reached it, "
        "conversion from the previous and the "
        "first stage, lost deals whose furthest stage it was, median days of a stay in it over "
        "the whole history "
        "(each entry of a deal that re-enters counts as a stay). Reached means ever entered: "
        "skipped stages count as reached, backward moves count once.",
        units=FUNNEL_UNITS,
        note=_funnel_note,
        supports_by=True,
        requires=requires_order,
        reference="HubSpot deal funnel and Salesforce opportunity stage history: a deal reached "
        "every stage up to the furthest it entered",
    ),
    TableSpec(
        "stage_conversion_by_owner",
        "Stage conversion by owner",
        needs(("deals", ["id", "status", "stage", "owner"])),
        _by_owner,
        doc="The funnel per owner beside the team's conversion at each stage.",
        units={
            k: v for k, v in FUNNEL_UNITS.items() if k not in ("lost_at", "median_days_in_stage")
        }
        | {"team_conversion_from_previous": "ratio", "team_conversion_from_first": "ratio"},
        note=_funnel_note,
        requires=requires_order,
        reference="HubSpot deal funnel per owner; Salesforce opportunity stage history",
    ),
    TableSpec(
        "stuck_deals",
        "Stuck deals",
        needs(("deals", ["status", "stage", "created_at"])),
        _stuck,
        doc="Open deals whose days in their current stage exceed the stage's threshold: "
        "[stages] stuck_days in crmkpi.toml, else the 90th percentile of past stays in it "
        "(stage history; kept for the open stages of the stage order, so a deal in a stage "
        "outside it is checked against stuck_days only), else of the ages of open deals in "
        "it. Oldest first.",
        units={"amount": "currency", "days_in_stage": "days", "threshold_days": "days"},
        note=_stuck_note,
        report_rows=REPORT_LIST_ROWS,
        reference="Salesforce stage duration (days since LastStageChangeDate); HubSpot time in "
        "deal stage",
        layout=ColumnLayout(
            essential=("name", "owner", "stage", "days_in_stage", "threshold_days")
        ),
    ),
]
