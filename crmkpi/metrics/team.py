"""The owners table: each rep's numbers beside the team's, ranked by revenue won."""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import CURRENCY, ColumnLayout, Context, TableSpec, needs
from crmkpi.metrics.kinds import median, safe_div
from crmkpi.metrics.leads import requires_response, responded_leads
from crmkpi.metrics.pipeline import CLOSED, LOST, WON, cycle_days

OWNER = "owner"


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


def _side(ctx: Context, table: str, keys: list[str]) -> pl.LazyFrame | None:
    if table == "leads" and ctx.has("leads", OWNER) and requires_response(ctx.ds, None) is None:
        value = median(pl.col("__minutes")).alias("lead_response_minutes_median")
        leads = responded_leads(ctx)
        return leads.group_by(keys).agg(value) if keys else leads.select(value)
    if table == "activities" and ctx.has("activities", OWNER, "at"):
        acts = ctx.window(ctx.table("activities"), "at")
        value = pl.len().alias("activities")
        return acts.group_by(keys).agg(value) if keys else acts.select(value)
    return None


def _owners(ctx: Context) -> pl.LazyFrame:
    currency = ctx.currency_keys("deals") if ctx.has("deals", "amount") else []
    per_owner = _deal_columns(ctx, [OWNER, *currency])
    team = _deal_columns(ctx, currency)
    for table in ("leads", "activities"):
        side = _side(ctx, table, [OWNER])
        if side is not None:
            per_owner = per_owner.join(side, on=OWNER, how="left", nulls_equal=True)
            team_side = _side(ctx, table, [])
            assert team_side is not None
            team = team.join(team_side, how="cross")
    names = [c for c in per_owner.collect_schema().names() if c not in (OWNER, *currency)]
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


UNITS = {
    "deals": "count", "deals_won": "count", "deals_lost": "count", "win_rate": "ratio",
    "cycle_days_median": "days", "revenue_won": "currency", "avg_deal_size": "currency",
    "lead_response_minutes_median": "minutes", "activities": "count", "rank": "count",
}  # fmt: skip

TABLES = [
    TableSpec(
        "owners",
        "Owners",
        needs(("deals", [OWNER, "status", "created_at"])),
        _owners,
        doc="Per owner: deals created, won and lost, win rate, revenue won, average deal size, "
        "median sales cycle (deals closed in the window), median lead response and activities, "
        "each beside the team's value (team_*), ranked by revenue won (by deals created when "
        "there are no amounts). Deal dates follow the KPIs: created_at for deals, closed_at for "
        "outcomes.",
        units=UNITS | {f"team_{k}": v for k, v in UNITS.items() if k != "rank"},
        layout=ColumnLayout(
            essential=("owner", "rank"), ranked_by=(("rank", "revenue_won"), ("rank", "deals"))
        ),
        reference="Salesforce and HubSpot sales leaderboards: win rate, revenue and cycle per "
        "owner",
    )
]
