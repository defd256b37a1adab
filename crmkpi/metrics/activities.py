"""Activities: how much the team does, how often it works, and how much it takes to win."""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import Context, Metric, TableSpec, aggregate, needs
from crmkpi.metrics.kinds import Kind, count, ratio, safe_div, words
from crmkpi.metrics.stages import WON

ACT = "activities"
SUCCESS = pl.col("success")


def won_deal_activities(ctx: Context) -> pl.LazyFrame:
    """Won deals with `__acts`, the activities linked to each (null for none).

    The same whatever the grain, so it is joined once and shared by every grain of a report
    (the window only keeps some of its rows)."""
    if "won_deal_activities" not in ctx.cache:
        per_deal = (
            ctx.table(ACT)
            .filter(pl.col("deal_id").is_not_null())
            .group_by("deal_id")
            .agg(pl.len().alias("__acts"))
        )
        won = ctx.table("deals").filter(WON)
        joined = won.join(per_deal, left_on="id", right_on="deal_id", how="left")
        ctx.cache["won_deal_activities"] = joined.cache()
    return ctx.cache["won_deal_activities"]


def _per_won_deal(ctx: Context) -> pl.LazyFrame:
    won = ctx.window(won_deal_activities(ctx), "closed_at")
    return ctx.group(won, safe_div(pl.col("__acts").fill_null(0).sum(), pl.len()))


def _table(ctx: Context) -> pl.LazyFrame:
    keys = [c for c in ("type", "owner") if ctx.has(ACT, c)]
    aggs = [pl.len().alias("activities")]
    if ctx.has(ACT, "success"):
        aggs.append(SUCCESS.mean().alias("success_rate"))
    frame = ctx.window(ctx.table(ACT), "at")
    return (
        frame.with_columns(pl.col(k).fill_null("(none)") for k in keys)
        .group_by(keys)
        .agg(aggs)
        .with_columns((pl.col("activities") / pl.col("activities").sum()).alias("share"))
        .sort(["activities", *keys], descending=[True, *(False for _ in keys)])
    )


# fmt: off
METRICS = [
    Metric(
        id="activities_total", label="Activities", unit="count", direction="higher",
        needs=needs((ACT, ["at"])),
        compute=aggregate(ACT, "at", count("activities dated in the period")),
        period_date="at", additive=True,
        reference="Salesforce activities (tasks and events); HubSpot activities logged",
    ),
    Metric(
        id="activity_success_rate", label="Activity success rate", unit="ratio", direction="higher",
        needs=needs((ACT, ["at", "success"])),
        compute=aggregate(ACT, "at", ratio(count("successful activities", SUCCESS),
                                           count("activities with a known outcome",
                                                 SUCCESS.is_not_null()),
                                           value=SUCCESS.mean())),
        period_date="at",
        notes="`success` is derived by the importer from the outcome label when absent; "
        "activities with no outcome are left out.",
        null_reason="no activity with a known outcome in the period",
        reference="Salesforce and HubSpot call and meeting outcomes: successful / done",
    ),
    Metric(
        id="activities_per_won_deal", label="Activities per won deal",
        unit="count", direction="lower",
        needs=needs(("deals", ["id", "status", "closed_at"]), (ACT, ["deal_id"])),
        kind=Kind.RATIO,
        parts=ratio(words("activities linked to deals won in the period"),
                    words("deals won in the period")),
        compute=_per_won_deal, period_date="closed_at (of the deal)",
        notes="Every activity linked to the deal counts, whenever it happened; a breakdown "
        "uses the deal's columns.",
        null_reason="no deal won in the period", support="deals_won",
        reference="Salesforce activity reports per won opportunity (sales effort per win)",
    ),
]
# fmt: on

TABLES = [
    TableSpec(
        "activities",
        "Activities",
        needs((ACT, ["at", "type"])),
        _table,
        doc="Per activity type and owner: activities dated in the window, success rate "
        "(when outcomes are known) and share of all activities.",
        units={"activities": "count", "success_rate": "ratio", "share": "ratio"},
        reference="Salesforce activity reports by type and owner",
    )
]
