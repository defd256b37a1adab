"""The Metric declaration and the machinery every metric shares: windows, periods, breakdowns.

A metric is declared once (id, label, unit, direction, needs, formula) with a `compute` that
turns a Context into a LazyFrame of the grain's keys plus one `value` column. Nothing here
collects: the report builder collects every plan at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.dataset import Dataset

UNITS = (
    "count",
    "ratio",
    "currency",
    "currency_per_day",
    "days",
    "minutes",
    "months",
    "score",
)
DIRECTIONS = ("higher", "lower", "neutral")
PERIODS = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}
_WEEKDAY_INDEX = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
PERIOD = "period"
VALUE = "value"


@dataclass(frozen=True)
class Grain:
    """How finely to cut a metric: breakdown columns, period size and the time window.

    `until` is exclusive, so consecutive windows never share a moment.
    """

    by: tuple[str, ...] = ()
    period: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    week_start: str = "monday"
    fiscal_year_start_month: int = 1

    @property
    def keys(self) -> list[str]:
        return [*self.by, PERIOD] if self.period else list(self.by)

    def with_(self, **changes: object) -> Grain:
        return replace(self, **changes)  # type: ignore[arg-type]


def period_start(date: pl.Expr, grain: Grain) -> pl.Expr:
    """The first moment of the period holding `date`, honouring week start and fiscal year."""
    assert grain.period is not None
    every = PERIODS[grain.period]
    if grain.period == "week":
        shift = _WEEKDAY_INDEX[grain.week_start]
        if shift:
            # Polars weeks start on Monday: move the date so that the chosen day lands on Monday.
            back = f"{7 - shift}d"
            return date.dt.offset_by(back).dt.truncate(every).dt.offset_by(f"-{back}")
        return date.dt.truncate(every)
    if grain.period in ("quarter", "year") and grain.fiscal_year_start_month != 1:
        months = grain.fiscal_year_start_month - 1
        return date.dt.offset_by(f"-{months}mo").dt.truncate(every).dt.offset_by(f"{months}mo")
    return date.dt.truncate(every)


@dataclass(frozen=True)
class Context:
    """What a metric sees: the dataset, the grain and the config."""

    ds: Dataset
    grain: Grain = field(default_factory=Grain)
    config: Config | None = None

    def table(self, name: str) -> pl.LazyFrame:
        frame = self.ds.table(name)
        if frame is None:
            raise LookupError(f"no {name} table")
        return frame

    def window(self, frame: pl.LazyFrame, date: str) -> pl.LazyFrame:
        """Keep rows whose `date` falls in the window; add the period column when asked."""
        col = pl.col(date)
        if self.grain.since is not None:
            frame = frame.filter(col >= self.grain.since)
        if self.grain.until is not None:
            frame = frame.filter(col < self.grain.until)
        if self.grain.period:
            frame = frame.filter(col.is_not_null()).with_columns(
                period_start(col, self.grain).alias(PERIOD)
            )
        return frame

    def group(self, frame: pl.LazyFrame, value: pl.Expr) -> pl.LazyFrame:
        """Aggregate `value` over the grain's keys (one row in all when there are none)."""
        keys = self.grain.keys
        if not keys:
            return frame.select(value.alias(VALUE))
        return frame.group_by(keys).agg(value.alias(VALUE)).sort(keys, nulls_last=True)


Compute = Callable[[Context], pl.LazyFrame]


@dataclass(frozen=True)
class Metric:
    """One KPI, declared once; docs, `crmkpi metrics` and the report read this declaration."""

    id: str
    label: str
    unit: str
    direction: str
    needs: tuple[tuple[str, tuple[str, ...]], ...]
    formula: str
    compute: Compute
    period_date: str = ""
    notes: str = ""
    reference: str = ""
    point_in_time: bool = False

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"{self.id}: unit {self.unit!r} not in {UNITS}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"{self.id}: direction {self.direction!r} not in {DIRECTIONS}")

    def missing(self, ds: Dataset, by: Sequence[str] = ()) -> str | None:
        """Why this metric cannot be computed on `ds` (None when it can)."""
        return missing_inputs(self.needs, ds, by)


@dataclass(frozen=True)
class TableSpec:
    """A breakdown table of the report (funnel, owners, sources...), declared like a metric."""

    id: str
    title: str
    needs: tuple[tuple[str, tuple[str, ...]], ...]
    compute: Compute
    doc: str = ""
    units: dict[str, str] = field(default_factory=dict)

    def missing(self, ds: Dataset, by: Sequence[str] = ()) -> str | None:
        return missing_inputs(self.needs, ds, ())


def missing_inputs(
    needs: tuple[tuple[str, tuple[str, ...]], ...], ds: Dataset, by: Sequence[str] = ()
) -> str | None:
    for table, columns in needs:
        if table not in ds.frames:
            return f"no {table} table"
        have = set(ds.columns(table))
        absent = [c for c in columns if c not in have]
        if absent:
            return f"{table} has no {', '.join(absent)} column" + ("s" if len(absent) > 1 else "")
        if ds.frames[table].height == 0:
            return f"{table} table is empty"
    if by and needs:
        table = needs[0][0]
        absent = [c for c in by if c not in set(ds.columns(table))]
        if absent:
            return f"{table} has no {', '.join(absent)} column to break down by"
    return None


def safe_div(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null (never inf or NaN) when the denominator is zero or null."""
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def needs(*specs: tuple[str, Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((t, tuple(c)) for t, c in specs)


def aggregate(
    table: str,
    date: str,
    value: Callable[[Context], pl.Expr] | pl.Expr,
    where: Callable[[Context], pl.Expr] | pl.Expr | None = None,
) -> Compute:
    """A metric that filters one table, places rows in periods by `date`, and aggregates."""

    def compute(ctx: Context) -> pl.LazyFrame:
        frame = ctx.table(table)
        if where is not None:
            frame = frame.filter(where(ctx) if callable(where) else where)
        frame = ctx.window(frame, date)
        return ctx.group(frame, value(ctx) if callable(value) else value)

    return compute


def combine(parts: dict[str, Metric], formula: Callable[[dict[str, pl.Expr]], pl.Expr]) -> Compute:
    """A metric computed from other metrics at the same grain (e.g. velocity from four KPIs)."""

    def compute(ctx: Context) -> pl.LazyFrame:
        keys = ctx.grain.keys
        frames = [m.compute(ctx).rename({VALUE: f"__{name}"}) for name, m in parts.items()]
        joined = frames[0]
        for other in frames[1:]:
            if keys:
                joined = joined.join(other, on=keys, how="full", coalesce=True, nulls_equal=True)
            else:
                joined = joined.join(other, how="cross")
        cols = {name: pl.col(f"__{name}") for name in parts}
        out = joined.select([*(pl.col(k) for k in keys), formula(cols).alias(VALUE)])
        return out.sort(keys, nulls_last=True) if keys else out

    return compute
