"""Stage order, how far each deal got, time in stages and stage probabilities.

Rules, shared by the funnel, stuck deals, weighted pipeline and forecast:
- Order: the dataset's stage model (preset, config or importer), else `[stages] order` in
  crmkpi.toml, else inferred from stage history (stages sorted by the mean position at which
  deals entered them; stages that closed deals currently sit in are closing stages).
- Reached: a deal reached every open stage up to the furthest one it ever entered (stage history
  plus its current stage). Skipped stages count as reached; going back counts each stage once.
- Won deals reached every open stage. A lost deal without history whose current stage is a
  closing stage is counted at the first stage only: where it was lost is unknown.
"""

from __future__ import annotations

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.metrics.base import DAY_US, Context
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON

WON = pl.col("status") == STATUS_WON
LOST = pl.col("status") == STATUS_LOST
OPEN = pl.col("status") == STATUS_OPEN
CLOSED = WON | LOST
RANK = "rank"
REACH = "reach"


def declared_order(ds: Dataset, config: object | None) -> tuple[tuple[str, ...], set[str]]:
    """(open stages in order, closing stages) from the stage model, else the config."""
    model = ds.stages
    if model.order:
        return model.open_order, set(model.won) | set(model.lost)
    stages = getattr(config, "stages", None)
    if stages is not None and stages.order:
        closing = set(stages.won) | set(stages.lost)
        return tuple(s for s in stages.order if s not in closing), closing
    return (), set(model.won) | set(model.lost)


def has_history(ctx: Context) -> bool:
    return ctx.has("stage_history", "deal_id", "stage", "entered_at")


def requires_order(ds: Dataset, config: object | None) -> str | None:
    """A funnel needs a stage order: declared, or inferable from stage history."""
    if declared_order(ds, config)[0] or ds.has("stage_history", "deal_id", "stage", "entered_at"):
        return None
    return "no stage order: set [stages] order in crmkpi.toml or give stage history"


def stage_ranks(ctx: Context) -> pl.LazyFrame:
    """(stage, rank) of the open stages, rank 0 first."""
    cached = ctx.cache.get("stage_ranks")
    if cached is not None:
        return cached
    order, closing = declared_order(ctx.ds, ctx.config)
    if order:
        ranks = pl.LazyFrame(
            {"stage": list(order), RANK: list(range(len(order)))},
            schema={"stage": pl.String, RANK: pl.Int32},
        )
    else:
        history = ctx.table("stage_history")
        closing_now = ctx.table("deals").filter(CLOSED).select("stage").unique()
        position = pl.col("entered_at").rank("ordinal").over("deal_id")
        ranks = (
            history.select("stage", position.alias("__pos"))
            .filter(~pl.col("stage").is_in(list(closing)))
            .join(closing_now, on="stage", how="anti")
            .group_by("stage")
            .agg(pl.col("__pos").mean())
            .sort(["__pos", "stage"])
            .select("stage", pl.int_range(pl.len(), dtype=pl.Int32).alias(RANK))
        )
    ctx.cache["stage_ranks"] = ranks
    return ranks


def order_source(ctx: Context) -> str:
    if declared_order(ctx.ds, ctx.config)[0]:
        return "declared stage order"
    return "stage order inferred from stage history"


def _reach_columns(ctx: Context, keep: list[str]) -> list[str]:
    """One column set for every caller, so the plans are identical and computed once."""
    optional = [c for c in ("owner", "lost_reason", "created_at") if ctx.has("deals", c)]
    return list(dict.fromkeys(["id", "status", "stage", *optional, *ctx.grain.by, *keep]))


def deal_reach(ctx: Context, keep: list[str]) -> pl.LazyFrame:
    """Deals with `id`, `status`, `keep` columns and `reach`: rank of the furthest open stage."""
    cols = _reach_columns(ctx, keep)
    key = f"deal_reach:{','.join(cols)}"
    if key in ctx.cache:
        return ctx.cache[key]
    ranks = stage_ranks(ctx)
    order = declared_order(ctx.ds, ctx.config)[0]
    deals = ctx.table("deals").select(cols)
    if order:
        # A declared order is known now: map stages to ranks without joins.
        mapping = {stage: i for i, stage in enumerate(order)}
        rank_of = pl.col("stage").replace_strict(mapping, default=None, return_dtype=pl.Int32)
        deals = deals.with_columns(
            rank_of.alias("__cur"), pl.lit(len(order) - 1, dtype=pl.Int32).alias("__last")
        )
    else:
        rank_of = None
        last = ranks.select(pl.col(RANK).max().alias("__last"))
        deals = deals.join(ranks.rename({RANK: "__cur"}), on="stage", how="left")
        deals = deals.join(last, how="cross")
    furthest = pl.col("__cur")
    if has_history(ctx):
        history = ctx.table("stage_history").select("deal_id", "stage")
        if rank_of is not None:
            history = history.select("deal_id", rank_of.alias(RANK))
        else:
            history = history.join(ranks, on="stage", how="inner")
        history_max = history.group_by("deal_id").agg(pl.col(RANK).max().alias("__hist"))
        deals = deals.join(history_max, left_on="id", right_on="deal_id", how="left")
        furthest = pl.max_horizontal("__cur", "__hist")
    reach = (
        pl.when(WON)
        .then(pl.col("__last"))
        .when(LOST)
        .then(furthest.fill_null(0))
        .otherwise(furthest)
    )
    out = deals.with_columns(reach.cast(pl.Int32).alias(REACH))
    # Shared by the funnel, conversion by owner, lost reasons and stage probabilities: a cache
    # node keeps their different filters from splitting it into several computations.
    out = out.cache()
    ctx.cache[key] = out
    return out


def history_in_order(ctx: Context) -> bool:
    """Whether each deal's history rows already sit together in time order (exports usually
    list a deal's stage changes one after another), so the sort can be skipped.

    Checked once on the loaded frame: two cheap passes instead of sorting millions of rows.
    Grouped means no deal starts two runs of rows: every id is at some run's start, so
    the distinct ids of the run starts are all the ids, one per run.
    """
    if "history_in_order" not in ctx.cache:
        deal, entered = pl.col("deal_id"), pl.col("entered_at")
        starts = (deal != deal.shift(1)).fill_null(True)
        check = (
            ctx.table("stage_history")
            .filter(entered.is_not_null())
            .select(
                (starts | (entered >= entered.shift(1))).fill_null(True).all().alias("timed"),
                (starts.sum() == deal.filter(starts).n_unique()).alias("grouped"),
            )
            .collect()
        )
        ctx.cache["history_in_order"] = bool(check["timed"][0] and check["grouped"][0])
    return ctx.cache["history_in_order"]


def stays(ctx: Context) -> pl.LazyFrame:
    """Each stay in a stage: deal_id, stage, entered_at, days (null while it lasts), the deal's
    status and closed_at, and `last` (the deal's latest entry).

    A stay ends at `left_at`, else when the deal entered its next stage, else when the deal
    closed; a stay of an open deal in its last stage has not ended. One sort of the history
    (cheaper than a window function over a million deals) finds each next entry; a deal that
    re-enters a stage has one stay per entry.
    """
    if "stays" in ctx.cache:
        return ctx.cache["stays"]
    cols = ["deal_id", "stage", "entered_at"]
    if ctx.has("stage_history", "left_at"):
        cols.append("left_at")
    deals = ctx.table("deals").select(
        pl.col("id").alias("deal_id"), "status", ctx.column("deals", "closed_at")
    )
    same_deal = pl.col("deal_id").shift(-1) == pl.col("deal_id")
    following = pl.when(same_deal).then(pl.col("entered_at").shift(-1))
    end = pl.coalesce(*([pl.col("left_at")] if "left_at" in cols else []), following)
    days = pl.coalesce("__end", "closed_at") - pl.col("entered_at")
    ordered = ctx.table("stage_history").select(cols).filter(pl.col("entered_at").is_not_null())
    if not history_in_order(ctx):
        ordered = ordered.sort("deal_id", "entered_at")
    out = (
        ordered.with_columns(end.alias("__end"), (~same_deal).fill_null(True).alias("last"))
        .join(deals, on="deal_id", how="left")
        .select(
            "deal_id",
            "stage",
            "entered_at",
            (days.dt.total_microseconds() / DAY_US).alias("days"),
            "status",
            "closed_at",
            "last",
        )
    )
    out = out.cache()  # shared by days in stage, stuck deals and the forecast
    ctx.cache["stays"] = out
    return out


def stage_days(ctx: Context) -> pl.LazyFrame:
    """Per stage, in one pass over the stays: median and 90th percentile of ended stays, and
    the median days from entering it to winning (won deals).

    Shared by the funnel, stuck deals and the forecast.
    """
    if "stage_days" in ctx.cache:
        return ctx.cache["stage_days"]
    days = pl.col("days")
    to_close = (pl.col("closed_at") - pl.col("entered_at")).dt.total_microseconds() / DAY_US
    out = (
        stays(ctx)
        .group_by("stage")
        .agg(
            days.median().alias("median_days_in_stage"),
            days.quantile(0.9, "linear").alias("__p90"),
            to_close.filter(WON).median().alias("__to_close"),
        )
        .cache()
    )
    ctx.cache["stage_days"] = out
    return out


def open_deals_entered(ctx: Context) -> pl.LazyFrame:
    """Open deals with `__entered`: when they entered their current stage (null without
    history). Shared by stuck deals and the forecast."""
    if "open_entered" in ctx.cache:
        return ctx.cache["open_entered"]
    deals = ctx.table("deals").filter(OPEN)
    if has_history(ctx) and ctx.has("deals", "id"):
        out = deals.join(
            current_stage_entry(ctx), left_on=["id", "stage"], right_on=["deal_id", "stage"],
            how="left",
        )  # fmt: skip
    else:
        out = deals.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias("__entered"))
    ctx.cache["open_entered"] = out
    return out


def current_stage_entry(ctx: Context) -> pl.LazyFrame:
    """(deal_id, stage, __entered): when each deal entered the stage of its latest entry."""
    return (
        stays(ctx)
        .filter(pl.col("last"))
        .select("deal_id", "stage", pl.col("entered_at").alias("__entered"))
    )


def as_of(ctx: Context) -> pl.Expr:
    """The moment ages are measured at: the window's end, else the latest date in the deals."""
    if ctx.grain.until is not None:
        return pl.lit(ctx.grain.until, dtype=pl.Datetime("us"))
    dates = [c for c in ("created_at", "closed_at") if ctx.has("deals", c)]
    return pl.max_horizontal(*(pl.col(c).max() for c in dates))


def data_end(ctx: Context) -> pl.LazyFrame:
    """One row, `__now`: see `as_of`."""
    if ctx.grain.until is not None:
        return pl.LazyFrame({"__now": [ctx.grain.until]}, schema={"__now": pl.Datetime("us")})
    return ctx.table("deals").select(as_of(ctx).alias("__now"))


def stage_probability(ctx: Context) -> pl.LazyFrame:
    """(stage, __prob, __prob_source): config probability, else the historic win rate.

    The historic win rate of a stage is won / closed among closed deals that reached it.
    """
    configured = dict(ctx.config.stages.probability) if ctx.config else {}
    order = declared_order(ctx.ds, ctx.config)[0]
    if order and all(stage in configured for stage in order):
        # Every open stage has a configured probability: no history is needed.
        return pl.LazyFrame(
            {"stage": list(configured), "__prob": [float(v) for v in configured.values()],
             "__prob_source": ["config"] * len(configured)},
        )  # fmt: skip
    reach = deal_reach(ctx, [])
    per_reach = (
        reach.filter(CLOSED)
        .group_by(REACH)
        .agg(WON.sum().alias("__won"), pl.len().alias("__closed"))
    )
    historic = (
        stage_ranks(ctx)
        .join(per_reach, how="cross")
        .filter(pl.col(REACH) >= pl.col(RANK))
        .group_by("stage")
        .agg((pl.col("__won").sum() / pl.col("__closed").sum()).alias("__hist"))
    )
    frame = stage_ranks(ctx).join(historic, on="stage", how="left")
    if configured:
        conf = pl.LazyFrame(
            {"stage": list(configured), "__conf": [float(v) for v in configured.values()]}
        )
        frame = frame.join(conf, on="stage", how="full", coalesce=True)
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("__conf"))
    return frame.select(
        "stage",
        pl.coalesce("__conf", "__hist").alias("__prob"),
        pl.when(pl.col("__conf").is_not_null())
        .then(pl.lit("config"))
        .when(pl.col("__hist").is_not_null())
        .then(pl.lit("historic win rate"))
        .alias("__prob_source"),
    )


def deal_probability(ctx: Context, frame: pl.LazyFrame) -> pl.LazyFrame:
    """`frame` (deals with `stage`) plus `__p`: the deal's own probability, else its stage's."""
    probs = stage_probability(ctx)
    frame = frame.join(probs, on="stage", how="left")
    own = pl.col("probability") if ctx.has("deals", "probability") else None
    if own is None:
        return frame.with_columns(pl.col("__prob").alias("__p"))
    return frame.with_columns(pl.coalesce(own.clip(0, 1), pl.col("__prob")).alias("__p"))
