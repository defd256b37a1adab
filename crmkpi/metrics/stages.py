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

from typing import NamedTuple

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.io.ids import ascending, plain_integers
from crmkpi.metrics.base import DAY_US, Context, each_together
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON

WON = pl.col("status") == STATUS_WON
LOST = pl.col("status") == STATUS_LOST
OPEN = pl.col("status") == STATUS_OPEN
CLOSED = WON | LOST
RANK = "rank"
REACH = "reach"
# Microseconds to days the way Polars divides a column by a number: times the reciprocal.
# Written out, a stay's days keep their last bit in any batch: Polars divides a batch of one
# value exactly, and the stays of a repeated deal id can come in such small batches.
DAYS_PER_US = 1 / DAY_US
HISTORY_RUNS = "history_runs"
HISTORY_DEALS = "history_deals"


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


def stage_dtype(ctx: Context) -> pl.DataType:
    """How the data holds stage labels (a label column, or text in a hand-built frame): frames
    of stages from the config take it, to join and stack with the data's."""
    for table in ("deals", "stage_history"):
        if ctx.has(table, "stage"):
            return ctx.ds.frames[table].schema["stage"]
    return pl.String()


def stage_ranks(ctx: Context) -> pl.LazyFrame:
    """(stage, rank) of the open stages, rank 0 first."""
    cached = ctx.cache.get("stage_ranks")
    if cached is not None:
        return cached
    order, closing = declared_order(ctx.ds, ctx.config)
    if order:
        ranks = pl.LazyFrame(
            {"stage": list(order), RANK: list(range(len(order)))},
            schema={"stage": stage_dtype(ctx), RANK: pl.Int32},
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


_COMPARED_STAGES = 8  # up to this many open stages, ranks come from comparisons


def _rank_of(order: tuple[str, ...]) -> pl.Expr:
    """Rank of `stage` in the declared open order; null for any other stage."""
    mapping = {stage: i for i, stage in enumerate(order)}
    if len(mapping) > _COMPARED_STAGES:
        return pl.col("stage").replace_strict(mapping, default=None, return_dtype=pl.Int32)
    # A few comparisons of short labels cost less than a hash lookup per row.
    stages = iter(mapping.items())
    stage, rank = next(stages)
    ranked = pl.when(pl.col("stage") == stage).then(pl.lit(rank, dtype=pl.Int32))
    for stage, rank in stages:
        ranked = ranked.when(pl.col("stage") == stage).then(pl.lit(rank, dtype=pl.Int32))
    return ranked.otherwise(pl.lit(None, dtype=pl.Int32))


def deal_reach(ctx: Context, keep: list[str]) -> pl.LazyFrame:
    """Deals with `id`, `status`, `keep` columns and `reach`: rank of the furthest open stage."""
    cols = _reach_columns(ctx, keep)
    key = f"deal_reach:{','.join(cols)}"
    if key in ctx.cache:
        return ctx.cache[key]
    ranks = stage_ranks(ctx)
    order = declared_order(ctx.ds, ctx.config)[0]
    if order and has_history(ctx):
        # Furthest entry per deal from the deals joined once with their history (see
        # `_history_deals`), plus entries without a time, which that join leaves out.
        deals = _history_deals(ctx).filter(pl.col("__in_deals")).select(*cols, "__hist")
        untimed = _untimed_history(ctx)
        if untimed is not None:
            untimed_max = untimed.select("deal_id", _rank_of(order).alias(RANK))
            untimed_max = untimed_max.group_by("deal_id").agg(pl.col(RANK).max().alias("__u"))
            deals = deals.join(untimed_max, left_on="id", right_on="deal_id", how="left")
            deals = deals.with_columns(pl.max_horizontal("__hist", "__u").alias("__hist"))
            deals = deals.drop("__u")
    else:
        deals = ctx.table("deals").select(cols)
    if order:
        # A declared order is known now: map stages to ranks without joins.
        rank_of = _rank_of(order)
        deals = deals.with_columns(
            rank_of.alias("__cur"), pl.lit(len(order) - 1, dtype=pl.Int32).alias("__last")
        )
    else:
        last = ranks.select(pl.col(RANK).max().alias("__last"))
        deals = deals.join(ranks.rename({RANK: "__cur"}), on="stage", how="left")
        deals = deals.join(last, how="cross")
    if has_history(ctx) and not order:
        history = ctx.table("stage_history").select("deal_id", "stage")
        history = history.join(ranks, on="stage", how="inner")
        history_max = history.group_by("deal_id").agg(pl.col(RANK).max().alias("__hist"))
        deals = deals.join(history_max, left_on="id", right_on="deal_id", how="left")
    furthest = pl.max_horizontal("__cur", "__hist") if has_history(ctx) else pl.col("__cur")
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


class HistoryLayout(NamedTuple):
    """How the stage history lies beside the deals, read once from the loaded frames."""

    in_order: bool  # each deal's rows together and in time order: no sort needed
    aligned: bool  # its deals, run by run, are the deals rows one for one: no join needed
    # every deal id an integer written as Int64 writes it: join on integers (read when needed,
    # that is when not aligned)
    integer_ids: bool


def history_in_order(ctx: Context) -> bool:
    """Whether each deal's history rows already sit together in time order (exports usually
    list a deal's stage changes one after another), so the sort can be skipped."""
    return history_layout(ctx).in_order


def history_layout(ctx: Context) -> HistoryLayout:
    """The layout, checked once: a pass over the history for the deal ids at the start of each
    run of rows, then work on those alone, instead of sorting millions of rows or hashing
    their ids.

    Grouped means no deal starts two runs: run ids that ascend (as text or as numbers) are all
    distinct; otherwise they are counted. Aligned is the common export of one CRM listing deals
    and stage changes by deal id, every deal with its entries: run k's facts then belong beside
    deals row k.
    """
    if "history_layout" not in ctx.cache:
        deal, entered = pl.col("deal_id"), pl.col("entered_at")
        starts = (deal != deal.shift(1)).fill_null(True)
        timed = ctx.table("stage_history").filter(entered.is_not_null())
        check = timed.select(
            deal.filter(starts).alias("runs"),
            (starts | (entered >= entered.shift(1))).fill_null(True).all().alias("timed"),
        ).collect()
        runs = check["runs"]
        in_order = check.height == 0 or bool(check["timed"][0])
        if in_order and not check.lazy().select(ascending(pl.col("runs"))).collect().item():
            in_order = runs.n_unique() == len(runs)
        ids = ctx.ds.frames["deals"]["id"] if ctx.has("deals", "id") else None
        aligned = in_order and ids is not None and _same_ids(runs, ids)
        integer = not aligned and ids is not None and _integer_ids(runs, ids)
        ctx.cache["history_layout"] = HistoryLayout(in_order, aligned, integer)
    return ctx.cache["history_layout"]


def _same_ids(runs: pl.Series, ids: pl.Series) -> bool:
    """Whether the deals' `ids` are the history's run ids, row for row, none missing."""
    if len(ids) != len(runs) or ids.dtype != runs.dtype or ids.null_count() > 0:
        return False
    return bool((ids == runs).fill_null(False).all())


def _integer_ids(runs: pl.Series, ids: pl.Series) -> bool:
    """Whether every deal id (the history's, the deals') is an integer written the one way
    Int64 writes it back, so distinct ids cast to distinct numbers and a join on the numbers
    matches exactly as one on the text, at half the cost (most CRMs number their records)."""
    if runs.dtype != pl.String or ids.dtype != pl.String:
        return False
    checks = [pl.LazyFrame([c]).select(plain_integers(pl.col(c.name))) for c in (runs, ids)]
    return all(frame.item() for frame in pl.collect_all(checks))


def _untimed_history(ctx: Context) -> pl.LazyFrame | None:
    """History rows without `entered_at`, when there are any: they count for how far a deal
    got, but not as stays."""
    if ctx.ds.frames["stage_history"]["entered_at"].null_count() == 0:
        return None
    return ctx.table("stage_history").filter(pl.col("entered_at").is_null())


def _history_runs(ctx: Context) -> pl.LazyFrame:
    """History rows with a time, each deal's rows together in time order, plus `__end` (when
    the stay ended, if known from the history), `last` (the deal's latest entry) and `__g`:
    the number of the deal's run of rows, 0, 1, 2... in row order.

    `__g` is a cheap integer key: per-deal facts are taken at the run ends and spread back to
    the rows by position, where joins on the text deal id would hash millions of rows. With a
    declared stage order `__hist` holds, at each run end, the furthest open stage of the run.
    """
    if HISTORY_RUNS in ctx.cache:
        return ctx.cache[HISTORY_RUNS]
    cols = ["deal_id", "stage", "entered_at"]
    if ctx.has("stage_history", "left_at"):
        cols.append("left_at")
    same_deal = pl.col("deal_id").shift(-1) == pl.col("deal_id")
    following = pl.when(same_deal).then(pl.col("entered_at").shift(-1))
    end = pl.coalesce(*([pl.col("left_at")] if "left_at" in cols else []), following)
    ordered = ctx.table("stage_history").select(cols).filter(pl.col("entered_at").is_not_null())
    if not history_in_order(ctx):
        # One sort of the history, cheaper than a window function over a million deals.
        ordered = each_together(ordered, "deal_id", "entered_at")
    runs = ordered.with_columns(end.alias("__end"), (~same_deal).fill_null(True).alias("last"))
    # A run ends at each deal's last row (a row without deal id is a run of its own).
    runs = runs.with_columns(pl.col("last").shift(1, fill_value=False).cum_sum().alias("__g"))
    order = declared_order(ctx.ds, ctx.config)[0]
    if order:
        # Runs come in `__g` order, so g * width + (rank + 1) only grows from one run to the
        # next: its running maximum, read at a run's end, is the run's furthest rank.
        # `__rank` (the row's open stage, null for any other) is kept for the stage days.
        runs = runs.with_columns(_rank_of(order).alias("__rank"))
        width = len(order) + 1
        base = pl.col("__g").cast(pl.Int64) * width
        coded = base + pl.col("__rank").fill_null(-1).cast(pl.Int64) + 1
        furthest = coded.cum_max() - base - 1
        runs = runs.with_columns(
            pl.when(furthest >= 0).then(furthest).cast(pl.Int32).alias("__hist")
        )
    runs = runs.cache()
    ctx.cache[HISTORY_RUNS] = runs
    return runs


def _history_deals(ctx: Context) -> pl.LazyFrame:
    """Every deal row and every deal of the history, matched in one join on the deal id: the
    deals' columns, `__in_deals` (true for a row of the deals table), and from the history
    `__g`, `__last_stage`, `__last_entered` (the deal's latest entry) and `__hist`.

    A deal id given to several deals rows matches each of them; a history deal absent from
    the deals table keeps null deal columns; a deal without history has a null `__g`.
    """
    if HISTORY_DEALS in ctx.cache:
        return ctx.cache[HISTORY_DEALS]
    runs = _history_runs(ctx)
    facts = ["__hist"] if "__hist" in runs.collect_schema().names() else []
    per_deal = runs.filter(pl.col("last")).select(
        pl.col("deal_id").alias("__deal_id"),
        "__g",
        pl.col("stage").alias("__last_stage"),
        pl.col("entered_at").alias("__last_entered"),
        *facts,
    )
    deals = ctx.table("deals").with_columns(pl.lit(True).alias("__in_deals"))
    layout = history_layout(ctx)
    if layout.aligned:
        # Run k of the history is the deal of deals row k: its facts sit beside the row.
        out = pl.concat([deals, per_deal.drop("__deal_id")], how="horizontal")
    else:
        key = (lambda c: pl.col(c).cast(pl.Int64)) if layout.integer_ids else pl.col
        out = deals.join(
            per_deal, left_on=key("id"), right_on=key("__deal_id"), how="full", coalesce=False
        )
        out = out.drop("__deal_id")
    out = out.cache()
    ctx.cache[HISTORY_DEALS] = out
    return out


def _deal_of_run(ctx: Context) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(first, more): per run of history rows in `__g` order, `__closed` and `__won` of the
    first deals row with its id (nulls when there is none); `more` holds the same for each
    further deals row with that id (`__g` repeated), empty when deal ids are unique."""
    matched = (
        _history_deals(ctx)
        .filter(pl.col("__g").is_not_null())
        .select(
            "__g",
            ctx.column("deals", "closed_at").alias("__closed"),
            WON.alias("__won"),
        )
        .sort("__g")
        .with_columns((pl.col("__g") != pl.col("__g").shift(1)).fill_null(True).alias("__first"))
        .cache()
    )
    first = matched.filter(pl.col("__first")).drop("__first")
    more = matched.filter(~pl.col("__first")).drop("__first")
    return first, more


def stays(ctx: Context) -> pl.LazyFrame:
    """Each stay in a stage: deal_id, stage, entered_at, days (null while it lasts), the
    deal's `won` and closed_at, and `last` (the deal's latest entry).

    A stay ends at `left_at`, else when the deal entered its next stage, else when the deal
    closed; a stay of an open deal in its last stage has not ended. A deal that re-enters a
    stage has one stay per entry; a deal id given to several deals rows has its stays once
    per row, as a join of the history with the deals would give them.
    """
    if "stays" in ctx.cache:
        return ctx.cache["stays"]
    runs = _history_runs(ctx)
    first, more = _deal_of_run(ctx)
    # `first` has one row per run, in run order: row `__g` holds the run's deal.
    spread = pl.concat(
        [runs, first.select("__closed", "__won")], how="horizontal_extend"
    ).with_columns(pl.col("__closed", "__won").gather("__g"))
    repeated = runs.join(more, on="__g", how="inner")
    days = pl.coalesce("__end", "__closed") - pl.col("entered_at")
    rank = ["__rank"] if "__rank" in runs.collect_schema().names() else []
    out = pl.concat(
        [
            frame.select(
                "deal_id",
                "stage",
                "entered_at",
                (days.dt.total_microseconds() * DAYS_PER_US).alias("days"),
                pl.col("__won").alias("won"),
                pl.col("__closed").alias("closed_at"),
                "last",
                *rank,
            )
            for frame in (spread, repeated)
        ]
    )
    # No cache node here: common-subplan elimination shares it all the same, and a cache
    # node over the shared history plans, collected on its own, trips the planner of Polars 2.1.
    ctx.cache["stays"] = out
    return out


def stage_days(ctx: Context) -> pl.LazyFrame:
    """Per open stage: median and 90th percentile of ended stays, and the median days from
    entering it to winning (won deals).

    Shared by the funnel, stuck deals and the forecast, which ask it about open stages only:
    the stays in closing stages (a third of a typical history) are left out. A stage whose
    stays all last still and led to no win has no row (every figure of it would be null).
    """
    if "stage_days" in ctx.cache:
        return ctx.cache["stage_days"]
    days = pl.col("days")
    to_close = (pl.col("closed_at") - pl.col("entered_at")).dt.total_microseconds() * DAYS_PER_US
    rows, ranks = stays(ctx), stage_ranks(ctx)
    # With a declared order every stay is ranked already: grouping by that small integer costs
    # less than hashing the stage labels.
    key = "__rank" if "__rank" in rows.collect_schema().names() else "stage"
    if key == "__rank":
        rows = rows.filter(pl.col("__rank").is_not_null())
    # Each statistic reads rows filtered before the group-by: Polars then selects the values
    # in place, where filtering (or skipping nulls) inside it costs up to twice as much. The
    # median comes out the same to the bit either way (a whole or half position); the
    # percentile's interpolation may differ in its last bit, as it does with the memory layout.
    ended = (
        rows.filter(days.is_not_null())
        .group_by(key)
        .agg(
            days.median().alias("median_days_in_stage"), days.quantile(0.9, "linear").alias("__p90")
        )
    )
    won = rows.filter(pl.col("won")).group_by(key).agg(to_close.median().alias("__to_close"))
    per_key = ended.join(won, on=key, how="full", coalesce=True)
    out = ranks.join(per_key, left_on=RANK if key == "__rank" else key, right_on=key)
    # A bare cache node over the shared history plans, collected on its own, trips the
    # planner of Polars 2.1: a projection on top keeps it out of that case.
    out = out.drop(RANK).cache().select(pl.all())
    ctx.cache["stage_days"] = out
    return out


def open_deals_entered(ctx: Context) -> pl.LazyFrame:
    """Open deals with `__entered`: when they entered their current stage, if it is the stage
    of their latest history entry (null otherwise, and without history). Shared by stuck deals
    and the forecast.

    A deal id given to k deals rows has k latest stays (see `stays`): each of its open rows
    in that stage comes k times, as a join with the stays would give it."""
    if "open_entered" in ctx.cache:
        return ctx.cache["open_entered"]
    deals = ctx.table("deals")
    if has_history(ctx) and ctx.has("deals", "id"):
        names = deals.collect_schema().names()
        in_stage = pl.col("stage") == pl.col("__last_stage")
        rows = (
            _history_deals(ctx)
            .filter(pl.col("__in_deals") & OPEN)
            .with_columns(pl.when(in_stage).then(pl.col("__last_entered")).alias("__entered"))
        )
        more = _deal_of_run(ctx)[1].select("__g")
        repeated = rows.filter(pl.col("__entered").is_not_null()).join(more, on="__g")
        out = pl.concat([frame.select(*names, "__entered") for frame in (rows, repeated)])
    else:
        out = deals.filter(OPEN).with_columns(
            pl.lit(None, dtype=pl.Datetime("us")).alias("__entered")
        )
    ctx.cache["open_entered"] = out
    return out


def as_of(ctx: Context) -> pl.Expr:
    """The moment ages are measured at: the window's end, else the data's as-of moment (the
    latest recorded event of the exports, or --as-of), never the machine's clock."""
    moment = ctx.grain.until if ctx.grain.until is not None else ctx.ds.data_as_of()
    if moment is None:
        dates = [c for c in ("created_at", "closed_at") if ctx.has("deals", c)]
        return pl.max_horizontal(*(pl.col(c).max() for c in dates))
    return pl.lit(moment, dtype=pl.Datetime("us"))


def data_end(ctx: Context) -> pl.LazyFrame:
    """One row, `__now`: see `as_of`."""
    moment = ctx.grain.until if ctx.grain.until is not None else ctx.ds.data_as_of()
    if moment is not None:
        return pl.LazyFrame({"__now": [moment]}, schema={"__now": pl.Datetime("us")})
    return ctx.table("deals").select(as_of(ctx).alias("__now"))


def stage_win_rates(ctx: Context) -> pl.LazyFrame:
    """(stage, __won_n, __closed_n, __rate): closed deals that reached each open stage, and
    the share of them won."""
    per_reach = (
        deal_reach(ctx, [])
        .filter(CLOSED)
        .group_by(REACH)
        .agg(WON.sum().alias("__won_n"), pl.len().alias("__closed_n"))
    )
    return (
        stage_ranks(ctx)
        .join(per_reach, how="cross")
        .filter(pl.col(REACH) >= pl.col(RANK))
        .group_by("stage")
        .agg(pl.col("__won_n").sum(), pl.col("__closed_n").sum())
        .with_columns((pl.col("__won_n") / pl.col("__closed_n")).alias("__rate"))
    )


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
        ).with_columns(pl.col("stage").cast(stage_dtype(ctx)))  # fmt: skip
    historic = stage_win_rates(ctx).select("stage", pl.col("__rate").alias("__hist"))
    frame = stage_ranks(ctx).join(historic, on="stage", how="left")
    if configured:
        conf = pl.LazyFrame(
            {"stage": list(configured), "__conf": [float(v) for v in configured.values()]}
        ).with_columns(pl.col("stage").cast(stage_dtype(ctx)))
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
