"""One parse plan per mapped column: sniff its convention from a sample, then one expression.

Each plan says how a text column becomes its canonical dtype and what a failed cell means
("not a number", "not a date (expected %d/%m/%Y)"), so the loader can flag or reject it.
Python only ever runs over distinct values (word lookups); rows are handled by Polars.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import polars as pl

from crmkpi.io.dates import DateFormat, date_expr, sniff_date_format
from crmkpi.io.numbers import NumberFormat, number_expr, sniff_number_format
from crmkpi.io.vocabulary import normalise_word, words
from crmkpi.schema import TABLES, TIMESTAMP

SAMPLE_ROWS = 2000
SPREAD_ROWS = 20_000
# Cell texts meaning "no value" in canonical columns (R's NA, Excel's #N/A, SQL NULL, dashes).
NULL_WORDS = ("NA", "N/A", "n/a", "#N/A", "NULL", "null", "None", "none", "nan", "NaN", "-", "--",
              "—", "–", "(none)", "(blank)", "Select")  # fmt: skip

# Set to 1, every cell of a number or date column is read by the column's complete parser
# instead of its lean one plus repairs of the values the lean one missed: the slow reference
# the fast path is compared with (tests/io/test_parse_paths.py). Not a user setting.
COMPLETE_PARSE_ENV = "CRMKPI_COMPLETE_PARSE"

HELPER_KINDS = {"_won_flag": "bool", "_closed_flag": "bool", "_won_at": "date", "_lost_at": "date"}


@dataclass(frozen=True)
class ColumnPlan:
    canonical: str
    header: str
    kind: str  # text, number, integer, date, bool, probability, currency
    expr: pl.Expr
    expected: str  # what a cell must look like, for messages
    number: NumberFormat | None = None
    date: DateFormat | None = None
    # The complete parser for a column whose sample allowed a fast one: applied by the loader
    # to the distinct values the fast one could not read.
    repair: pl.Expr | None = None


def kind_of(table: str, column: str) -> str:
    if column in HELPER_KINDS:
        return HELPER_KINDS[column]
    if column == "probability":
        return "probability"
    if column == "currency":
        return "currency"
    dtype = TABLES[table].dtype(column)
    if dtype == pl.Float64:
        return "number"
    if dtype == pl.Int64:
        return "integer"
    if dtype == TIMESTAMP:
        return "date"
    if dtype == pl.Boolean:
        return "bool"
    return "text"


def cleaned(header: str) -> pl.Expr:
    """The cell as stripped text, with empty and null-words as null."""
    text = pl.col(header).str.strip_chars()
    return pl.when(text.is_in(NULL_WORDS) | (text.str.len_bytes() == 0)).then(None).otherwise(text)


EDGE_SPACES = (" ", "\t", "\r", "\n", "\u00a0")


def needs_cleaning(header: str, mapped: bool, spaces: str | None = None) -> pl.Expr:
    """Whether a column holds any cell that cleaning would change (most columns hold none,
    and checking is several times cheaper than cleaning). `spaces`: the ones of EDGE_SPACES
    the file holds at all (None: any of them)."""
    col = pl.col(header)
    spaces = "".join(EDGE_SPACES) if spaces is None else spaces
    if not spaces:
        edge = pl.lit(False)
    elif spaces == " ":
        edge = col.str.starts_with(" ") | col.str.ends_with(" ")
    else:  # a cell starts or ends with one of them exactly when stripping them shortens it
        edge = col.str.strip_chars(spaces).str.len_bytes() != col.str.len_bytes()
    words = col.is_in([*NULL_WORDS, ""]) if mapped else col == ""
    return (words | edge).any().alias(header)


def stripped(header: str) -> pl.Expr:
    """The cell as stripped text, empty as null (for columns kept as they are)."""
    text = pl.col(header).str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text)


def sample_values(series: pl.Series) -> list[str]:
    """Distinct values from the first rows plus an even spread over the rest of the column.

    Formats are sniffed from these, so a 1M-row column costs no more than a 40k-row one.
    """
    if series.len() > 2 * SPREAD_ROWS:
        step = series.len() // SPREAD_ROWS
        series = pl.concat([series.head(SPREAD_ROWS), series.gather_every(step)])
    s = series.str.strip_chars()
    s = s.filter(s.is_not_null() & (s.str.len_bytes() > 0) & ~s.is_in(NULL_WORDS))
    return s.unique(maintain_order=True).head(SAMPLE_ROWS).to_list()


def word_lookup(values: list[str], table: dict[str, object]) -> dict[str, object]:
    """Distinct raw values -> looked-up meaning via their normalised form."""
    out = {}
    for v in values:
        key = normalise_word(v)
        if key in table:
            out[v] = table[key]
    return out


def bool_expr(text: pl.Expr, distinct: list[str]) -> pl.Expr:
    w = words()
    table: dict[str, object] = {**{k: False for k in w.false}, **{k: True for k in w.true}}
    lookup = word_lookup(distinct, table)
    return text.replace_strict(lookup, default=None, return_dtype=pl.Boolean)


def plan_column(
    table: str,
    canonical: str,
    header: str,
    series: pl.Series,
    *,
    decimal: str | None = None,
    decimal_default: str = ".",
    date_order: str | None = None,
    calendar: str | None = None,
    fiscal_start_month: int = 1,
) -> ColumnPlan:
    """Sniff one column's convention from its values and build its parse expression."""
    kind = kind_of(table, canonical)
    text = pl.col(header)  # already cleaned by the loader
    if kind == "text":
        return ColumnPlan(canonical, header, kind, text, "text")
    if kind == "currency":
        return ColumnPlan(canonical, header, kind, text.str.to_uppercase(), "text")
    distinct = sample_values(series)
    if kind in ("number", "integer", "probability"):
        fmt = sniff_number_format(distinct, decimal, decimal_default)
        over_one = False
        if kind == "probability":
            sample = pl.Series(distinct, dtype=pl.String).to_frame("v")
            parsed = sample.select(number_expr(pl.col("v"), fmt).alias("p"))["p"]
            over_one = bool(parsed.drop_nulls().gt(1).any()) or fmt.percent
        expected = {
            "integer": "a whole number",
            "probability": "a probability 0..100% (or 0..1)",
        }.get(kind, f"a number (decimal {'comma' if fmt.decimal == ',' else 'point'})")
        value = _number_value(kind, number_expr(text, fmt), over_one)
        repair = None
        if fmt.plain:
            full = replace(fmt, plain=False)
            repair = _number_value(kind, number_expr(text, full), over_one)
        value, repair = _complete_parse(value, repair)
        return ColumnPlan(canonical, header, kind, value, expected, number=fmt, repair=repair)
    if kind == "date":
        fmt = sniff_date_format(
            distinct, date_order=date_order, calendar=calendar,
            fiscal_start_month=fiscal_start_month,
        )  # fmt: skip
        expected = f"a date ({fmt.describe()})"
        repair = date_expr(text, fmt.complete()) if fmt.kind == "strptime" else None
        value, repair = _complete_parse(date_expr(text, fmt), repair)
        return ColumnPlan(canonical, header, kind, value, expected, date=fmt, repair=repair)
    if kind == "bool":
        return ColumnPlan(
            canonical, header, kind, bool_expr(text, distinct), "yes/no or true/false"
        )
    raise AssertionError(f"unhandled kind {kind}")


def _complete_parse(lean: pl.Expr, repair: pl.Expr | None) -> tuple[pl.Expr, pl.Expr | None]:
    """The lean parser and its repair, or the complete parser alone (COMPLETE_PARSE_ENV)."""
    if repair is not None and os.environ.get(COMPLETE_PARSE_ENV) == "1":
        return repair, None
    return lean, repair


def _number_value(kind: str, value: pl.Expr, over_one: bool) -> pl.Expr:
    if kind == "integer":
        return pl.when(value == value.round(0)).then(value).otherwise(None).cast(pl.Int64)
    if kind == "probability":
        # A 0-100 column (or one written with %) is divided by 100; never multiply by it.
        value = value / 100.0 if over_one else value
        return pl.when(value.is_between(0, 1)).then(value).otherwise(None)
    return value


def outcome_success(outcome: pl.Expr, distinct: list[str]) -> pl.Expr:
    """activities.success from outcome words: success words -> true, failure words -> false."""
    w = words()
    table: dict[str, object] = {**{k: False for k in w.failure}, **{k: True for k in w.success}}
    lookup = word_lookup(distinct, table)
    # Outcomes are often phrases ("Meeting held", "No reply yet"): a failure phrase inside the
    # text decides first (so "not connected" is not read as "connected"), then a success word.
    for value in distinct:
        if value in lookup:
            continue
        text = f" {normalise_word(value)} "
        if any(f" {phrase} " in text for phrase in w.failure):
            lookup[value] = False
        elif any(f" {word} " in text for word in w.success):
            lookup[value] = True
    return outcome.replace_strict(lookup, default=None, return_dtype=pl.Boolean)
