"""The owners table: each rep's numbers beside the team's, ranked by revenue won."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from crmkpi.metrics.base import (
    CURRENCY,
    VALUE,
    ColumnLayout,
    Context,
    Metric,
    TableSpec,
    needs,
)
from crmkpi.metrics.kinds import median, safe_div
from crmkpi.metrics.leads import METRICS as _LEADS
from crmkpi.metrics.leads import requires_response, responded_leads
from crmkpi.metrics.pipeline import (
    CLOSED,
    LOST,
    WON,
    cycle_days,
    deals_open,
    open_pipeline_value,
)
from crmkpi.metrics.satisfaction import METRICS as _NPS

OWNER = "owner"
LEAD_METRICS = {m.id: m for m in _LEADS}
NPS_METRICS = {m.id: m for m in _NPS}


def _deal_columns(ctx: Context, keys: list[str]) -> pl.LazyFrame:
    """Deals created per owner (by created_at) beside outcomes per owner and currency."""
    owner_keys = [k for k in keys if k != CURRENCY]
    created = ctx.window(ctx.table("deals"), "created_at")
    count = pl.len().alias("deals")
    frame = created.group_by(owner_keys).agg(count) if owner_keys else created.select(count)
    if not ctx.has("deals", "closed_at"):
        return frame
    closed = ctx.window(ctx.money(ctx.table("deals"), "deals").filter(CLOSED), "closed_at")
    counts = [
        WON.sum().cast(pl.Int64).alias("deals_won"),
        LOST.sum().cast(pl.Int64).alias("deals_lost"),
        safe_div(WON.sum(), pl.len()).alias("win_rate"),
    ]
    # The won deals' figures come from their own pass: a median over rows filtered inside a
    # group-by costs Polars three times a median over rows filtered before it.
    of_won = [median(cycle_days()).alias("cycle_days_median")]
    if ctx.has("deals", "amount"):
        of_won += [
            pl.col("amount").sum().alias("revenue_won"),
            pl.col("amount").mean().alias("avg_deal_size"),
        ]
    won = closed.filter(WON)
    if keys:
        outcome = (
            closed.group_by(keys)
            .agg(counts)
            .join(won.group_by(keys).agg(of_won), on=keys, how="left", nulls_equal=True)
        )
    else:
        outcome = closed.select(counts).join(won.select(of_won), how="cross")
    if ctx.has("deals", "amount"):
        # An owner without a won deal has won nothing, as a sum over no rows says.
        outcome = outcome.with_columns(pl.col("revenue_won").fill_null(0.0))
    if not owner_keys:
        return frame.join(outcome, how="cross")
    return frame.join(outcome, on=owner_keys, how="full", coalesce=True, nulls_equal=True)


def _deal_outcomes(ctx: Context) -> pl.LazyFrame:
    keys = list(ctx.grain.by)
    return _deal_columns(
        ctx, [*keys, *(ctx.currency_keys("deals") if ctx.has("deals", "amount") else [])]
    )


def _response(ctx: Context) -> pl.LazyFrame:
    value = median(pl.col("__minutes")).alias("lead_response_minutes_median")
    leads = responded_leads(ctx)
    return leads.group_by(ctx.grain.by).agg(value) if ctx.grain.by else leads.select(value)


def _activities(ctx: Context) -> pl.LazyFrame:
    acts = ctx.window(ctx.table("activities"), "at")
    value = pl.len().alias("activities")
    return acts.group_by(ctx.grain.by).agg(value) if ctx.grain.by else acts.select(value)


@dataclass(frozen=True)
class ColumnGroup:
    """Columns of the owners table computed together, per owner and for the team.

    `compute` gives, at the grain it is handed (by owner, or by nothing for the team), the
    grain's keys, `currency` when its amounts stay apart per currency, and `units`' columns.
    `missing` says why the data cannot give them (None when it can). A group is one entry of
    OWNER_COLUMNS: the table joins every group the data allows, each column beside team_*.
    """

    units: dict[str, str]
    compute: Callable[[Context], pl.LazyFrame]
    missing: Callable[[Context], str | None]


def kpi_group(metric: Metric, column: str | None = None) -> ColumnGroup:
    """A catalog KPI as a column: the same definition per owner as in the key figures."""
    name = column or metric.id

    def compute(ctx: Context) -> pl.LazyFrame:
        value = pl.col(VALUE).cast(pl.Int64) if metric.unit == "count" else pl.col(VALUE)
        return metric.compute(ctx).with_columns(value).rename({VALUE: name})

    def missing(ctx: Context) -> str | None:
        return metric.missing(ctx.ds, (OWNER,), ctx.config)

    return ColumnGroup({name: metric.unit}, compute, missing)


def _has(table: str, *columns: str) -> Callable[[Context], str | None]:
    def missing(ctx: Context) -> str | None:
        absent = [c for c in (OWNER, *columns) if not ctx.has(table, c)]
        return f"{table} have no {', '.join(absent)}" if absent else None

    return missing


OWNER_COLUMNS: list[ColumnGroup] = [
    ColumnGroup(
        {
            "deals": "count",
            "deals_won": "count",
            "deals_lost": "count",
            "win_rate": "ratio",
            "cycle_days_median": "days",
            "revenue_won": "currency",
            "avg_deal_size": "currency",
        },
        _deal_outcomes,
        _has("deals", "status", "created_at"),
    ),  # fmt: skip
    kpi_group(deals_open),
    kpi_group(open_pipeline_value, "open_pipeline"),
    kpi_group(LEAD_METRICS["leads_created"], "leads"),
    kpi_group(LEAD_METRICS["lead_conversion_rate"]),
    ColumnGroup(
        {"lead_response_minutes_median": "minutes"},
        _response,
        lambda ctx: _has("leads")(ctx) or requires_response(ctx.ds, None),
    ),
    ColumnGroup({"activities": "count"}, _activities, _has("activities", "at")),
    kpi_group(NPS_METRICS["nps"]),
]


def _join_all(frames: list[pl.LazyFrame], keys: list[str]) -> pl.LazyFrame:
    """Frames side by side on `keys` plus `currency` where both carry it (rows of either kept)."""
    joined = frames[0]
    for frame in frames[1:]:
        names, other = joined.collect_schema().names(), frame.collect_schema().names()
        on = [*keys, *(c for c in (CURRENCY,) if c in names and c in other)]
        if on:
            joined = joined.join(frame, on=on, how="full", coalesce=True, nulls_equal=True)
        else:
            joined = joined.join(frame, how="cross")
    return joined


def _owners(ctx: Context) -> pl.LazyFrame:
    groups = [g for g in OWNER_COLUMNS if g.missing(ctx) is None]
    by_owner = Context(ctx.ds, ctx.grain.with_(by=(OWNER,), period=None), ctx.config, ctx.cache)
    team_ctx = Context(ctx.ds, ctx.grain.with_(by=(), period=None), ctx.config, ctx.cache)
    # Rows without an owner (NPS answers of customers no deal links to a rep) count in the
    # team's figures only: a "no owner" row is nobody's one-to-one.
    per_owner = _join_all([g.compute(by_owner) for g in groups], [OWNER])
    per_owner = per_owner.filter(pl.col(OWNER).is_not_null())
    team = _join_all([g.compute(team_ctx) for g in groups], [])
    present = per_owner.collect_schema().names()
    names = [c for g in groups for c in g.units if c in present]
    currency = [c for c in (CURRENCY,) if c in present]
    team = team.select(*currency, *(pl.col(c).alias(f"team_{c}") for c in names))
    joined = (
        per_owner.join(team, on=currency, how="left", nulls_equal=True)
        if currency
        else per_owner.join(team, how="cross")
    )
    rank_by = "revenue_won" if "revenue_won" in names else "deals"
    rank = pl.col(rank_by).rank("min", descending=True)
    ordered = [OWNER, *currency, "rank"] + [x for c in names for x in (c, f"team_{c}")]
    return (
        joined.with_columns(
            (rank.over(currency) if currency else rank).cast(pl.Int64).alias("rank")
        )
        .select(ordered)
        .sort([*currency, "rank", OWNER], nulls_last=True)
    )


def _units() -> dict[str, str]:
    units = {c: u for g in OWNER_COLUMNS for c, u in g.units.items()}
    return units | {f"team_{c}": u for c, u in units.items()} | {"rank": "count"}


TABLES = [
    TableSpec(
        "owners",
        "Owners",
        needs(("deals", [OWNER, "status", "created_at"])),
        _owners,
        doc="Per owner: deals created, won and lost, win rate, revenue won, average deal size, "
        "median sales cycle (deals closed in the window), open deals and open pipeline (at the "
        "window's end, as deals_open and open_pipeline_value), leads created and lead "
        "conversion rate, median lead response, activities and NPS (answers linked to the "
        "owner through the customer's deals), each beside the team's value (team_*), ranked by "
        "revenue won (by deals created when there are no amounts). Columns the data cannot give "
        "are left out; rows without an owner count in the team's figures only. Deal dates "
        "follow the KPIs: created_at for deals, closed_at for outcomes.",
        units=_units(),
        layout=ColumnLayout(
            essential=("owner", "rank"), ranked_by=(("rank", "revenue_won"), ("rank", "deals"))
        ),
        reference="Salesforce and HubSpot sales leaderboards: win rate, revenue and cycle per "
        "owner",
    )
]
