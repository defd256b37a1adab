"""What kind of number a metric is, and its parts named in words (as MetricFlow declares them).

A count, sum, mean, median or quantile is one `Measure` over the rows of a table: the rows that
enter it (`where`) and the value it takes of them (`of`). A ratio names its numerator and its
denominator, each a Measure with its own label. A stock is read at a moment; a derived metric is
computed from other KPIs. The formula text and `crmkpi explain` are written from these parts,
and the Polars aggregate is built from them (or given, when the parts are only named in words).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl


class Kind(StrEnum):
    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    MEDIAN = "median"
    QUANTILE = "quantile"
    RATIO = "ratio"
    STOCK = "stock"
    DERIVED = "derived"


AGGREGATES = (Kind.COUNT, Kind.SUM, Kind.MEAN, Kind.MEDIAN, Kind.QUANTILE)


def median(values: pl.Expr) -> pl.Expr:
    """The median of `values` (nulls skipped), over the whole frame or each group.

    Taken over the non-null values gathered into one list: handed a whole column, Polars'
    streaming engine sorts it in pieces, and so it does a list holding a null, where over a
    list without one it selects the middle value in place (six to eight times faster on a
    million rows); within a group-by the list costs a few percent."""
    return values.drop_nulls().implode().list.median()


def quantile(values: pl.Expr, q: float) -> pl.Expr:
    """The `q` quantile of `values` (nulls skipped, linear interpolation), gathered as for
    `median`."""
    return values.drop_nulls().implode().list.eval(pl.element().quantile(q, "linear")).list.first()


def safe_div(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null (never inf or NaN) when the denominator is zero or null."""
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def ordinal(q: float) -> str:
    """0.9 -> "90th", the way a percentile is named."""
    n = round(q * 100)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True, kw_only=True)
class Measure:
    """One aggregate over the rows of a table, named in words.

    `where`: the rows that enter it (every row when None); `of`: the value it takes of them
    (none for a count; a row whose value is empty is left out); `value`: the aggregate itself
    when it is not one of the plain kinds (a signed difference of counts), else built here.
    """

    kind: Kind
    label: str
    where: pl.Expr | None = None
    of: pl.Expr | None = None
    q: float | None = None
    value: pl.Expr | None = None

    def __post_init__(self) -> None:
        if self.kind not in AGGREGATES:
            raise ValueError(f"{self.label}: a measure is one of {', '.join(AGGREGATES)}")
        if (self.kind == Kind.COUNT) != (self.of is None) and self.value is None:
            raise ValueError(f"{self.label}: a count takes no `of`; every other measure does")
        if (self.kind == Kind.QUANTILE) != (self.q is not None):
            raise ValueError(f"{self.label}: `q` is given for a quantile, and only for it")

    def expr(self) -> pl.Expr:
        """The Polars aggregate of this measure."""
        if self.value is not None:
            return self.value
        if self.kind == Kind.COUNT:
            return pl.len() if self.where is None else self.where.sum()
        assert self.of is not None
        values = self.of if self.where is None else self.of.filter(self.where)
        if self.kind == Kind.SUM:
            return values.sum()
        if self.kind == Kind.MEAN:
            return values.mean()
        if self.kind == Kind.MEDIAN:
            return median(values)
        assert self.q is not None
        return quantile(values, self.q)

    @property
    def text(self) -> str:
        """The measure as a formula reads: "count of deals with status won"."""
        if self.kind == Kind.QUANTILE:
            assert self.q is not None
            return f"{ordinal(self.q)} percentile (linear interpolation) of {self.label}"
        return f"{self.kind} of {self.label}"

    def entering(self) -> pl.Expr:
        """True for the rows that enter the aggregate: they match `where` and have a value."""
        keep = pl.lit(True) if self.where is None else self.where.fill_null(False)
        return keep if self.of is None else keep & self.of.is_not_null()

    def matching(self) -> pl.Expr:
        """True for the rows `where` selects, with a value or not."""
        return pl.lit(True) if self.where is None else self.where.fill_null(False)


def count(label: str, where: pl.Expr | None = None, *, value: pl.Expr | None = None) -> Measure:
    return Measure(kind=Kind.COUNT, label=label, where=where, value=value)


def total(label: str, of: pl.Expr, where: pl.Expr | None = None) -> Measure:
    return Measure(kind=Kind.SUM, label=label, of=of, where=where)


def mean(label: str, of: pl.Expr, where: pl.Expr | None = None) -> Measure:
    return Measure(kind=Kind.MEAN, label=label, of=of, where=where)


def median_of(label: str, of: pl.Expr, where: pl.Expr | None = None) -> Measure:
    return Measure(kind=Kind.MEDIAN, label=label, of=of, where=where)


def quantile_of(label: str, of: pl.Expr, q: float, where: pl.Expr | None = None) -> Measure:
    return Measure(kind=Kind.QUANTILE, label=label, of=of, q=q, where=where)


@dataclass(frozen=True, kw_only=True)
class Ratio:
    """A ratio of two measures: numerator and denominator, each named.

    `value`: the aggregate when it is written otherwise than numerator / denominator (the mean
    of a true/false column), which must give the same number; a test holds them together.
    """

    numerator: Measure
    denominator: Measure
    value: pl.Expr | None = None
    kind: Kind = Kind.RATIO

    def expr(self) -> pl.Expr:
        if self.value is not None:
            return self.value
        return safe_div(self.numerator.expr(), self.denominator.expr())

    @property
    def text(self) -> str:
        return f"{self.numerator.label} / {self.denominator.label}"

    def named(self) -> list[tuple[str, Measure]]:
        return [("numerator", self.numerator), ("denominator", self.denominator)]


def ratio(numerator: Measure, denominator: Measure, *, value: pl.Expr | None = None) -> Ratio:
    return Ratio(numerator=numerator, denominator=denominator, value=value)


def words(label: str, kind: Kind = Kind.COUNT) -> Measure:
    """A part known only by its words, for a metric whose compute is written by hand: the
    explain and formula text name it, nothing evaluates it."""
    return Measure(kind=kind, label=label, value=pl.lit(None))


Parts = Measure | Ratio
