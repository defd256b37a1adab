"""Breakdown and period machinery shared by every metric: period grids, stocks, change.

Flow metrics (deals won, revenue) count events whose date falls in each period; a period with no
event still appears (0 for additive metrics, null otherwise) so that "change against the
previous period" always compares calendar neighbours. Stock metrics (open deals, MRR) are taken
at each period's end from running sums of entries and exits, never by a cross join of rows and
periods, so their cost grows with rows + periods, not rows x periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import polars as pl

from crmkpi.errors import UsageError
from crmkpi.metrics import calendars
from crmkpi.metrics.base import (
    CHANGE,
    PERIOD,
    PREVIOUS,
    VALUE,
    Context,
    Grain,
    period_start,
)
from crmkpi.metrics.kinds import safe_div

if TYPE_CHECKING:
    from crmkpi.metrics.base import Metric

_LO = "__lo"
_HI = "__hi"


def _window_bounds(grain: Grain) -> tuple[pl.Expr | None, pl.Expr | None]:
    """Period starts of the window's first and last moments, when the window is bounded."""
    lower = upper = None
    if grain.since is not None:
        lower = period_start(pl.lit(grain.since, dtype=pl.Datetime("us")), grain)
    if grain.until is not None:
        last = grain.until - timedelta(microseconds=1)
        upper = period_start(pl.lit(last, dtype=pl.Datetime("us")), grain)
    return lower, upper


def period_grid(bounds: pl.LazyFrame, grain: Grain) -> pl.LazyFrame:
    """One row per period from `__lo` to `__hi` of the one-row `bounds` frame."""
    assert grain.period is not None
    known = pl.col(_LO).is_not_null() & pl.col(_HI).is_not_null()
    ranges = calendars.period_ranges(pl.col(_LO), pl.col(_HI), grain.period, grain.calendar)
    return (
        bounds.filter(known)
        .select(ranges.alias(PERIOD))
        .explode(PERIOD)
        .filter(pl.col(PERIOD).is_not_null())
    )


def _cross(others: pl.LazyFrame | None, grid: pl.LazyFrame) -> pl.LazyFrame:
    return grid if others is None else others.join(grid, how="cross")


def complete_periods(
    frame: pl.LazyFrame, grain: Grain, others: Sequence[str], fill: float | None
) -> pl.LazyFrame:
    """Every period between the first and last (or the window's) for every `others` combination.

    Missing periods get `fill` (0 for additive metrics, null for rates and averages).
    """
    lower, upper = _window_bounds(grain)
    bounds = frame.select(
        (lower if lower is not None else pl.col(PERIOD).min()).alias(_LO),
        (upper if upper is not None else pl.col(PERIOD).max()).alias(_HI),
    )
    keys = [*others, PERIOD]
    combos = frame.select(others).unique() if others else None
    grid = _cross(combos, period_grid(bounds, grain))
    out = grid.join(frame, on=keys, how="left", nulls_equal=True)
    if fill is not None:
        out = out.with_columns(pl.col(VALUE).fill_null(fill))
    return out.sort(keys, nulls_last=True)


def add_change(frame: pl.LazyFrame, others: Sequence[str]) -> pl.LazyFrame:
    """`previous` (the value one period earlier) and `change` (relative, null when it was 0)."""
    prev = pl.col(VALUE).shift(1)
    prev = prev.over(list(others), order_by=PERIOD) if others else prev
    return (
        frame.sort([*others, PERIOD], nulls_last=True)
        .with_columns(prev.alias(PREVIOUS))
        .with_columns(
            safe_div(
                pl.col(VALUE).cast(pl.Float64) - pl.col(PREVIOUS).cast(pl.Float64),
                pl.col(PREVIOUS).cast(pl.Float64).abs(),
            ).alias(CHANGE)
        )
    )


def finish(metric: Metric, ctx: Context, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Counts as signed integers (a difference of two never wraps around); per period, fill the
    calendar gaps and add the change against the previous period."""
    schema = frame.collect_schema()
    if schema.get(VALUE) in (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64):
        frame = frame.with_columns(pl.col(VALUE).cast(pl.Int64))
    if not ctx.grain.period:
        return frame
    names = schema.names()
    others = [c for c in names if c not in (PERIOD, VALUE, PREVIOUS, CHANGE)]
    if not metric.point_in_time:
        frame = complete_periods(frame, ctx.grain, others, 0 if metric.additive else None)
    return add_change(frame, others)


def stock(
    ctx: Context,
    frame: pl.LazyFrame,
    start: str,
    stop: pl.Expr,
    weight: pl.Expr,
    alive_now: pl.Expr,
    extra: Sequence[str] = (),
) -> pl.LazyFrame:
    """Sum of `weight` over rows alive at a moment: started (`start` before it), not stopped.

    Without a period the moment is the window's end (`until`), or "now" when the window is
    open: then `alive_now` decides (e.g. status open), whatever the dates say. With a period the
    moment is each period's end. Rows that are not alive now but have no `stop` date cannot be
    placed in time and count in no period (they would otherwise look alive forever).
    """
    grain = ctx.grain
    others = [*grain.by, *extra]
    start_col = pl.col(start)
    if start not in frame.collect_schema().names():
        if grain.period or grain.until is not None:
            raise UsageError(f"no {start} column to place rows in time")
        frame = frame.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias(start))
    if not grain.period:
        if grain.until is None:
            # alive now whatever the dates say: a row without a start date still counts
            alive = alive_now
        else:
            frame = frame.filter(start_col.is_not_null())
            until = pl.lit(grain.until, dtype=pl.Datetime("us"))
            placed = alive_now | stop.is_not_null()
            alive = placed & (start_col < until) & (stop.is_null() | (stop >= until))
        total = weight.filter(alive).sum().alias(VALUE)
        if not others:
            return frame.select(total)
        return frame.group_by(others).agg(total).sort(others, nulls_last=True)

    frame = frame.filter(start_col.is_not_null())  # a row without a start has no period
    stop_clamped = pl.max_horizontal(stop, start_col)
    rows = frame.filter(alive_now | stop.is_not_null()).select(
        *others,
        period_start(start_col, grain).alias("__in"),
        pl.when(alive_now).then(None).otherwise(period_start(stop_clamped, grain)).alias("__out"),
        weight.alias("__w"),
    )
    lower, upper = _window_bounds(grain)
    bounds = rows.select(
        (lower if lower is not None else pl.col("__in").min()).alias(_LO),
        (upper if upper is not None else pl.max_horizontal(pl.col("__in").max(),
                                                           pl.col("__out").max())).alias(_HI),
    )  # fmt: skip
    events = pl.concat(
        [
            rows.select(*others, pl.col("__in").alias(PERIOD), pl.col("__w")),
            rows.filter(pl.col("__out").is_not_null()).select(
                *others, pl.col("__out").alias(PERIOD), (-pl.col("__w")).alias("__w")
            ),
        ]
    )
    # Entries and exits before the grid's first period still count in its running sum.
    events = (
        events.join(bounds, how="cross")
        .with_columns(pl.max_horizontal(pl.col(PERIOD), pl.col(_LO)).alias(PERIOD))
        .filter(pl.col(PERIOD) <= pl.col(_HI))
        .group_by([*others, PERIOD])
        .agg(pl.col("__w").sum())
    )
    combos = rows.select(others).unique() if others else None
    grid = _cross(combos, period_grid(bounds, grain))
    keys = [*others, PERIOD]
    running = pl.col("__w").fill_null(0).cum_sum()
    return (
        grid.join(events, on=keys, how="left", nulls_equal=True)
        .sort(keys, nulls_last=True)
        .with_columns((running.over(others) if others else running).alias(VALUE))
        .select(*keys, VALUE)
    )


def stock_of_known(
    ctx: Context,
    frame: pl.LazyFrame,
    start: str,
    stop: pl.Expr,
    weight: pl.Expr,
    alive_now: pl.Expr,
    extra: Sequence[str] = (),
) -> pl.LazyFrame:
    """`stock` of a weight that may be unknown (an amount): where no row alive at the moment
    has one, the sum is unknown (null), not 0 — open deals that carry no amount are not a
    pipeline worth nothing."""
    total = stock(ctx, frame, start, stop, weight, alive_now, extra)
    known = stock(ctx, frame, start, stop, weight.is_not_null().cast(pl.Int64), alive_now, extra)
    known = known.rename({VALUE: "__known"})
    keys = [c for c in total.collect_schema().names() if c != VALUE]
    if keys:
        both = total.join(known, on=keys, how="left", nulls_equal=True, maintain_order="left")
    else:
        both = pl.concat([total, known], how="horizontal")
    value = pl.when(pl.col("__known") > 0).then(pl.col(VALUE))
    return both.with_columns(value.alias(VALUE)).drop("__known")
