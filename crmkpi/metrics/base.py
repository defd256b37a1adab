"""The Metric declaration and the machinery every metric shares: windows, periods, money, groups.

A metric is declared once, by keyword (id, label, unit, direction, needs, its kind and parts: see
crmkpi.metrics.kinds) with a `compute` that turns a Context into a LazyFrame of the grain's keys
plus one `value` column: an `aggregate` of its parts, a `combine` of other KPIs, or a function
written by hand. Nothing here
collects: `crmkpi.metrics.evaluate` and the report builder collect every plan at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl
import polars.selectors as cs

from crmkpi.errors import UsageError
from crmkpi.metrics import calendars
from crmkpi.metrics.kinds import Kind, Measure, Parts, Ratio
from crmkpi.metrics.rates import CURRENCY, in_base_currency
from crmkpi.schema import TABLES

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.dataset import Dataset

UNITS = (
    "count",
    "ratio",
    "multiple",
    "currency",
    "currency_per_day",
    "days",
    "minutes",
    "months",
    "score",
)
DIRECTIONS = ("higher", "lower", "neutral")
PERIODS = calendars.PERIOD_EVERY  # period -> Polars interval
SPAN_RANK = {name: rank for rank, name in enumerate(PERIODS)}
PERIOD = "period"
VALUE = "value"
PREVIOUS = "previous"
CHANGE = "change"
DAY_US = 86_400_000_000
MINUTE_US = 60_000_000


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
    calendar: str = "gregorian"

    def __post_init__(self) -> None:
        if self.period is not None and self.period not in PERIODS:
            raise UsageError(
                f"unknown period {self.period!r}", hint=f"use one of {', '.join(PERIODS)}"
            )

    @property
    def keys(self) -> list[str]:
        return [*self.by, PERIOD] if self.period else list(self.by)

    def with_(self, **changes: object) -> Grain:
        return replace(self, **changes)  # type: ignore[arg-type]


def period_start(date: pl.Expr, grain: Grain) -> pl.Expr:
    """The first moment of the period holding `date`, honouring calendar, week start and
    fiscal year."""
    assert grain.period is not None
    return calendars.period_start(
        date, grain.period, grain.calendar, grain.week_start, grain.fiscal_year_start_month
    )


def period_end(start: pl.Expr, grain: Grain) -> pl.Expr:
    """The first moment after the period that begins at `start` (exclusive end)."""
    assert grain.period is not None
    return calendars.period_shift(start, grain.period, 1, grain.calendar)


_SHARED = "_metric_plan_cache"


def each_together(frame: pl.LazyFrame, key: str, *within: str) -> pl.LazyFrame:
    """The rows of each `key` value together, in `within` order among themselves (the order
    of the groups is no order at all). Sorting by the key's hash first is an integer sort; the
    key itself only parts two values of one hash. A text key sorted outright costs 2-3x as much
    (1M activities by deal id: 0.30 -> 0.09-0.14 s)."""
    return frame.sort(pl.col(key).hash(), key, *within)


def labels_as_text(plan: pl.LazyFrame) -> pl.LazyFrame:
    """A result with its dictionary-encoded label columns (see crmkpi.schema.LABEL) as text:
    the encoding is how the frames are held, not what a KPI or table gives."""
    return plan.with_columns(cs.categorical().cast(pl.String))


def shared_cache(ds: Dataset, config: Config | None) -> dict[str, Any]:
    """Plans that do not depend on the grain (stage history passes, rates), shared by every
    Context on the same frames and config, so a report cutting KPIs at several grains in one
    collect builds them once. Replacing a frame, the stage model or the config starts afresh."""
    key = (id(config), id(ds.stages), *(id(frame) for frame in ds.frames.values()))
    store = ds.__dict__.setdefault(_SHARED, {})
    if key not in store:
        store.clear()
        store[key] = {}
    return store[key]


@dataclass(frozen=True)
class Context:
    """What a metric sees: the dataset, the grain and the config (plus the shared plan cache)."""

    ds: Dataset
    grain: Grain = field(default_factory=Grain)
    config: Config | None = None
    cache: dict[str, Any] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.cache is None:
            object.__setattr__(self, "cache", shared_cache(self.ds, self.config))

    def table(self, name: str) -> pl.LazyFrame:
        """The canonical table. Label columns (crmkpi.schema.LABEL) stay dictionary-encoded;
        any other text column that arrives encoded is read as text, as the schema has it."""
        frame = self.ds.table(name)
        if frame is None:
            raise LookupError(f"no {name} table")
        canonical = TABLES[name]
        as_text = [
            column
            for column, dtype in self.ds.frames[name].schema.items()
            if isinstance(dtype, pl.Categorical | pl.Enum)
            and column in canonical.names
            and canonical.dtype(column) == pl.String
        ]
        return frame.with_columns(pl.col(as_text).cast(pl.String)) if as_text else frame

    def has(self, table: str, *columns: str) -> bool:
        return self.ds.has(table, *columns)

    def column(self, table: str, name: str, dtype: pl.DataType | None = None) -> pl.Expr:
        """The column when `table` has it, else a typed null (optional canonical columns)."""
        if self.ds.has(table, name):
            return pl.col(name)
        return pl.lit(None, dtype=dtype or TABLES[table].dtype(name)).alias(name)

    def require_by(self, table: str) -> None:
        """Raise the usual reason when `table` lacks a breakdown column (for computes that
        choose their table from the data)."""
        absent = [c for c in self.grain.by if not self.ds.has(table, c)]
        if absent:
            raise UsageError(f"{table} has no {', '.join(absent)} column to break down by")

    @property
    def base_currency(self) -> str | None:
        return self.config.base_currency if self.config else None

    def currency_keys(self, table: str) -> list[str]:
        """["currency"] when amounts of `table` must stay apart per currency, else []."""
        if self.base_currency is None and self.ds.has(table, CURRENCY):
            return [CURRENCY]
        return []

    def money(self, frame: pl.LazyFrame, table: str, amount: str = "amount") -> pl.LazyFrame:
        """`frame` with `amount` in the base currency when one is configured (else unchanged)."""
        if self.base_currency is None:
            return frame
        return in_base_currency(self, frame, table, amount)

    def window(self, frame: pl.LazyFrame, date: str) -> pl.LazyFrame:
        """Keep rows whose `date` falls in the window; add the period column when asked."""
        col = pl.col(date)
        if date not in frame.collect_schema().names():
            if self.grain.since or self.grain.until or self.grain.period:
                raise UsageError(f"no {date} column to place rows in the window or in periods")
            return frame
        if "date_grain" in frame.collect_schema().names():
            return self._window_spans(frame, col)
        if self.grain.since is not None:
            frame = frame.filter(col >= self.grain.since)
        if self.grain.until is not None:
            frame = frame.filter(col < self.grain.until)
        if self.grain.period:
            frame = frame.filter(col.is_not_null()).with_columns(
                period_start(col, self.grain).alias(PERIOD)
            )
        return frame

    def _window_spans(self, frame: pl.LazyFrame, col: pl.Expr) -> pl.LazyFrame:
        """Rows dated by a period ("2025-01": the month): a row is in the window when its whole
        period is, and is placed only in periods at least as long as its own; a month's spend
        in weeks cannot be placed without a guess, so the caller is told why it cannot be."""
        grains = [g for g in self.ds.frames["spend"]["date_grain"].unique().to_list() if g]
        if self.grain.period and grains:
            coarsest = max(grains, key=SPAN_RANK.__getitem__)
            if SPAN_RANK[self.grain.period] < SPAN_RANK[coarsest]:
                raise UsageError(f"spend is dated by {coarsest}: it cannot be placed in "
                                 f"{self.grain.period}s without a guess")  # fmt: skip
        end = pl.coalesce(
            *(pl.when(pl.col("date_grain") == g).then(col.dt.offset_by(PERIODS[g]))
              for g in grains),
            col,
        )  # fmt: skip
        if self.grain.since is not None:
            frame = frame.filter(col >= self.grain.since)
        if self.grain.until is not None:
            frame = frame.filter((end <= self.grain.until) & (col < self.grain.until))
        if self.grain.period:
            frame = frame.filter(col.is_not_null()).with_columns(
                period_start(col, self.grain).alias(PERIOD)
            )
        return frame

    def in_window(self, date: str) -> pl.Expr:
        """True for rows whose `date` lies in the window (every row when it is open)."""
        keep = pl.lit(True)
        if self.grain.since is not None:
            keep = keep & (pl.col(date) >= self.grain.since)
        if self.grain.until is not None:
            keep = keep & (pl.col(date) < self.grain.until)
        return keep

    def rows(
        self,
        table: str,
        date: str,
        *,
        where: pl.Expr | None = None,
        amount: str | None = None,
    ) -> pl.LazyFrame:
        """Rows of `table` in the window (periods added), amounts converted when `amount` given."""
        frame = self.table(table)
        if where is not None:
            frame = frame.filter(where)
        if amount is not None:
            frame = self.money(frame, table, amount)
        return self.window(frame, date)

    def group(self, frame: pl.LazyFrame, value: pl.Expr, extra: Sequence[str] = ()) -> pl.LazyFrame:
        """Aggregate `value` over the grain's keys plus `extra` (one row when there are none)."""
        keys = [*self.grain.keys, *extra]
        if not keys:
            return frame.select(value.alias(VALUE))
        return frame.group_by(keys).agg(value.alias(VALUE)).sort(keys, nulls_last=True)


Compute = Callable[[Context], pl.LazyFrame]
Needs = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One KPI, declared once; docs, `crmkpi metrics`, `explain` and the report read it.

    `kind` and `parts` say what the number is (crmkpi.metrics.kinds): an `aggregate` compute
    carries its parts, a compute written by hand names them; a `combine` compute is derived from
    the KPIs it names. `formula` is written from the parts (plus `scope`, the rows they are
    taken over) and given in words only for a metric without parts (a stock, a derived KPI).
    `additive`: values of a breakdown add up to the total (counts, sums), so an empty period is 0.
    `monetary`: amounts are summed, so without a base currency the result carries `currency`.
    `null_reason`: what a null value means (zero denominator, too few rows).
    `support`: the count KPI whose value says how many rows stand behind this one (new
    customers behind CAC); aggregates count their own rows and additive counts are their own.
    `cohort`: a rate over rows created in the period that have not all had time to finish
    (close rate): a recent period always looks worse, so it is never alerted on.
    """

    id: str
    label: str
    unit: str
    direction: str
    needs: Needs
    compute: Compute
    kind: Kind | None = None
    parts: Parts | None = None
    inputs: tuple[Metric, ...] = ()
    formula: str = ""
    scope: str = ""
    period_date: str = ""
    notes: str = ""
    reference: str = ""
    point_in_time: bool = False
    additive: bool = False
    monetary: bool = False
    null_reason: str = ""
    requires: Callable[[Dataset, Config | None], str | None] | None = None
    support: str = ""
    cohort: bool = False
    # What a headline value without a period covers when it is neither the window nor a state
    # at its end: "latest month" (churn rates), or a sentence for a ratio of two windows.
    headline_window: str = ""
    # For a KPI whose method depends on the data (the forecast): its inputs in words and
    # numbers, (name, text) pairs that `explain` shows.
    account: Callable[[Context], tuple[tuple[str, str], ...]] | None = None
    # A label that fits a narrow column (the report uses it rather than cutting `label`).
    short_label: str = ""
    # The KPI this one repeats on most data (deals = deals created unless some rows have no
    # date): the report shows it only where its values differ from that KPI's.
    repeats: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"{self.id}: unit {self.unit!r} not in {UNITS}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"{self.id}: direction {self.direction!r} not in {DIRECTIONS}")
        declared = {name: getattr(self.compute, name, None) for name in ("parts", "inputs")}
        if (self.parts is not None and declared["parts"]) or (self.inputs and declared["inputs"]):
            raise ValueError(f"{self.id}: the compute already carries its parts")
        if isinstance(self.compute, Aggregate):
            object.__setattr__(self, "parts", self.compute.value)
        if isinstance(self.compute, Combined):
            object.__setattr__(self, "inputs", tuple(self.compute.parts.values()))
            object.__setattr__(self, "kind", self.kind or Kind.DERIVED)
        if self.parts is not None:
            if self.kind not in (None, self.parts.kind):
                raise ValueError(
                    f"{self.id}: kind {self.kind} but its parts are a {self.parts.kind}"
                )
            object.__setattr__(self, "kind", self.parts.kind)
            if self.formula:
                raise ValueError(f"{self.id}: the formula is written from the parts")
            text = self.parts.text + (f", {self.scope}" if self.scope else "")
            object.__setattr__(self, "formula", text)
        if self.kind is None:
            raise ValueError(f"{self.id}: declare its kind ({', '.join(Kind)})")
        if not self.formula:
            raise ValueError(f"{self.id}: a metric without parts gives its formula in words")

    def measures(self) -> list[tuple[str, Measure]]:
        """The named aggregates of the formula: numerator and denominator, or the measure."""
        if isinstance(self.parts, Ratio):
            return self.parts.named()
        return [] if self.parts is None else [(self.id, self.parts)]

    def missing(
        self, ds: Dataset, by: Sequence[str] = (), config: Config | None = None
    ) -> str | None:
        """Why this metric cannot be computed on `ds` (None when it can)."""
        reason = missing_inputs(self.needs, ds, by)
        if reason is None and self.requires is not None:
            reason = self.requires(ds, config if config is not None else ds.config)
        return reason


@dataclass(frozen=True)
class ColumnLayout:
    """How a table narrows without misleading: `essential` columns are its point (without room
    for them the table becomes a list of rows), `groups` go together or not at all (a value and
    what it is compared with), `ranked_by` ties a rank column to the measure it ranks by."""

    essential: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    ranked_by: tuple[tuple[str, str], ...] = ()  # (rank column, measure column)


REPORT_LIST_ROWS = 200  # rows of a list table (stuck deals, outliers) the report keeps


@dataclass(frozen=True)
class TableSpec:
    """A breakdown table of the report (funnel, owners, sources...), declared like a metric.

    `note` gives the sentence the report prints under the table (how it was computed), when the
    method depends on the data (e.g. funnel from stage history or from current stages).
    """

    id: str
    title: str
    needs: Needs
    compute: Compute
    doc: str = ""
    units: dict[str, str] = field(default_factory=dict)
    note: Callable[[Context], str | None] | None = None
    supports_by: bool = False
    supports_period: bool = False  # rows per period (--period); else one window's rows
    requires: Callable[[Dataset, Config | None], str | None] | None = None
    reference: str = ""  # the authority whose definition the table follows
    # A list of deals rather than a breakdown: the report keeps its first rows, and
    # `crmkpi metric ID` prints them all.
    report_rows: int | None = None
    layout: ColumnLayout = field(default_factory=ColumnLayout)
    # False for a table that is there only when asked for (currency conversion with a base
    # currency): the report does not list it as not computed when it is not.
    listed_when_missing: bool = True

    def missing(
        self, ds: Dataset, by: Sequence[str] = (), config: Config | None = None
    ) -> str | None:
        reason = missing_inputs(self.needs, ds, by if self.supports_by else ())
        if reason is None and self.requires is not None:
            reason = self.requires(ds, config if config is not None else ds.config)
        return reason


def missing_inputs(needs: Needs, ds: Dataset, by: Sequence[str] = ()) -> str | None:
    """The first reason (absent table, column, empty table, absent breakdown column), or None."""
    for table, columns in needs:
        if table not in ds.frames:
            return f"no {table} table"
        have = set(ds.columns(table))
        absent = [c for c in columns if c not in have]
        if absent:
            return f"{table} has no {', '.join(absent)} column" + ("s" if len(absent) > 1 else "")
        if ds.frames[table].height == 0:
            return f"{table} table is empty"
    for table, _ in needs:
        absent = [c for c in by if c not in set(ds.columns(table))]
        if absent:
            return f"{table} has no {', '.join(absent)} column to break down by"
    return None


def needs(*specs: tuple[str, Sequence[str]]) -> Needs:
    return tuple((t, tuple(c)) for t, c in specs)


@dataclass(frozen=True)
class Aggregate:
    """A compute that places rows of one table in periods by `date` and aggregates its parts.

    Declared as data so `evaluate` can fuse every aggregate over the same rows into one
    group-by: the fused plan reads the table once for all of them.
    """

    table: str
    date: str
    value: Parts
    amount: str | None = None  # column converted to the base currency; adds currency keys

    def rows(self, ctx: Context) -> pl.LazyFrame:
        return ctx.rows(self.table, self.date, amount=self.amount)

    def extra_keys(self, ctx: Context) -> list[str]:
        return ctx.currency_keys(self.table) if self.amount else []

    def fusion_key(self, ctx: Context) -> tuple[object, ...]:
        return (self.table, self.date, self.amount, tuple(self.extra_keys(ctx)))

    def __call__(self, ctx: Context) -> pl.LazyFrame:
        return ctx.group(self.rows(ctx), self.value.expr(), self.extra_keys(ctx))


def aggregate(table: str, date: str, value: Parts, amount: str | None = None) -> Aggregate:
    """A metric that places rows of `table` in periods by `date` and aggregates `value`."""
    return Aggregate(table, date, value, amount)


def fused_key(ctx: Context, metric: Metric) -> str:
    """Where the shared cache holds the group-by pass that computed `metric` with others."""
    assert isinstance(metric.compute, Aggregate)
    return f"fused:{ctx.grain!r}:{metric.compute.fusion_key(ctx)!r}:{metric.id}"


def fused_value(ctx: Context, shared: pl.LazyFrame, metric: Metric) -> pl.LazyFrame:
    """The grain's keys and `value` of `metric` from its fused pass, as its compute gives them."""
    assert isinstance(metric.compute, Aggregate)
    keys = [*ctx.grain.keys, *metric.compute.extra_keys(ctx)]
    one = shared.select(*keys, pl.col(metric.id).alias(VALUE))
    return one.sort(keys, nulls_last=True) if keys else one


Formula = Callable[[dict[str, pl.Expr], Context], pl.Expr]


@dataclass(frozen=True)
class Combined:
    """A metric computed from other metrics at the same grain (e.g. velocity from four KPIs).

    Parts that carry a `currency` key (monetary parts without a base currency) are joined on it;
    parts without it are broadcast to every currency. `formula` gets each part's value column
    by its name, and the context (for a configured constant such as the gross margin).
    """

    parts: dict[str, Metric]
    formula: Formula

    def part(self, ctx: Context, metric: Metric) -> pl.LazyFrame:
        """The part's own compute, or its column of the pass the report already fused."""
        if isinstance(metric.compute, Aggregate):
            shared = ctx.cache.get(fused_key(ctx, metric))
            if shared is not None:
                return fused_value(ctx, shared, metric)
        return metric.compute(ctx)

    def __call__(self, ctx: Context) -> pl.LazyFrame:
        parts = self.parts
        keys = ctx.grain.keys
        frames = {name: self.part(ctx, m).rename({VALUE: f"__{name}"}) for name, m in parts.items()}
        with_currency = [
            n for n, m in parts.items() if m.monetary and ctx.currency_keys(m.needs[0][0])
        ]
        ordered = with_currency + [n for n in parts if n not in with_currency]
        joined = frames[ordered[0]]
        joined_keys = [*keys, CURRENCY] if with_currency else keys
        for name in ordered[1:]:
            on = joined_keys if name in with_currency else keys
            how = "full" if name in with_currency or not with_currency else "left"
            if on:
                joined = joined.join(frames[name], on=on, how=how, coalesce=True, nulls_equal=True)
            else:
                joined = joined.join(frames[name], how="cross")
        cols = {name: pl.col(f"__{name}") for name in parts}
        out = joined.select(
            [*(pl.col(k) for k in joined_keys), self.formula(cols, ctx).alias(VALUE)]
        )
        return out.sort(joined_keys, nulls_last=True) if joined_keys else out


def combine(parts: dict[str, Metric], formula: Formula) -> Combined:
    """A metric computed from other metrics at the same grain: see `Combined`."""
    return Combined(parts, formula)
