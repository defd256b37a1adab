"""Dates that name a period, not a day: `2025-01`, `01/2025`, `Jan 2025`, `2025-Q1`, `FY2025`.

Spend, quotas and targets are kept by month, quarter or year far more often than by day. Such a
value is read as the period it names: its first day plus its grain (month, quarter, year), so a
month's spend covers that month and is never taken for a spend on the 1st. Month names are read
in every language of crmkpi/io/aliases/ and in the Jalali calendar (`فروردین ۱۴۰۳` is the
Jalali month that starts on 2024-03-20); a numeric year 1300-1499 is a Jalali year too.

`FY2025` is the fiscal year that ends in 2025 (the usual reading: Microsoft's, the US
government's); with the fiscal year starting in January it is the calendar year 2025.
"""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl

from crmkpi.io.numbers import ascii_digits_text
from crmkpi.io.vocabulary import words
from crmkpi.schema import TIMESTAMP

MONTH, QUARTER, YEAR = "month", "quarter", "year"

_ENGLISH_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
                   "september", "october", "november", "december")  # fmt: skip
_ENGLISH = {**{m: i for i, m in enumerate(_ENGLISH_MONTHS, 1)},
            **{m[:3]: i for i, m in enumerate(_ENGLISH_MONTHS, 1)}, "sept": 9}  # fmt: skip
_NUMERIC = (
    (re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})$"), MONTH),  # 2025-01, 2025/1
    (re.compile(r"^(?P<m>\d{1,2})[-/.](?P<y>\d{4})$"), MONTH),  # 01/2025, 1.2025
    (re.compile(r"^(?P<y>\d{4})\s*[-/ ]?\s*q(?P<q>[1-4])$"), QUARTER),  # 2025-Q1, 2025 Q1
    (re.compile(r"^q(?P<q>[1-4])\s*[-/ ]?\s*(?P<y>\d{4})$"), QUARTER),  # Q1 2025, Q1-2025
    (re.compile(r"^fy\s*[-']?\s*(?P<fy>\d{4}|\d{2})$"), YEAR),  # FY2025, FY 2025, FY25
    (re.compile(r"^(?P<y>\d{4})$"), YEAR),  # 2025
)
_NAMED = (
    re.compile(r"^(?P<w>[^\W\d_]+)\.?[\s,/-]*(?P<y>\d{4})$"),  # Jan 2025, January, 2025
    re.compile(r"^(?P<y>\d{4})[\s,/-]*(?P<w>[^\W\d_]+)\.?$"),  # 2025 Jan
)


def _month_number(word: str) -> int | None:
    """1..12 for a month name or abbreviation in English or any alias language."""
    word = word.lower()
    return _ENGLISH.get(words().months.get(word, word))


def _jalali_start(year: int, month: int) -> datetime | None:
    import jdatetime

    try:
        return datetime.combine(jdatetime.date(year, month, 1).togregorian(), datetime.min.time())
    except ValueError:
        return None


def _month_start(year: int, month: int) -> datetime | None:
    if not 1 <= month <= 12:
        return None
    if 1300 <= year <= 1499:
        return _jalali_start(year, month)
    return datetime(year, month, 1) if 1900 <= year <= 2100 else None


def read_period(value: str, fiscal_start_month: int = 1) -> tuple[datetime, str] | None:
    """(first day, grain) of the period `value` names, or None when it names none."""
    text = re.sub(r"\s+", " ", ascii_digits_text(value.strip()).lower())
    for pattern, grain in _NUMERIC:
        m = pattern.match(text)
        if not m:
            continue
        found = m.groupdict()
        if "fy" in found:
            year = int(found["fy"]) + (2000 if len(found["fy"]) == 2 else 0)
            # the fiscal year that ends in `year` starts in the year before unless it is January
            start_year = year if fiscal_start_month == 1 else year - 1
            return datetime(start_year, fiscal_start_month, 1), YEAR
        year = int(found["y"])
        if grain == MONTH:
            start = _month_start(year, int(found["m"]))
        elif grain == QUARTER:
            start = _month_start(year, 3 * int(found["q"]) - 2)
        else:
            start = datetime(year, 1, 1) if 1900 <= year <= 2100 else None
        return (start, grain) if start else None
    for pattern in _NAMED:
        m = pattern.match(text)
        if not m:
            continue
        year, word = int(m["y"]), m["w"]
        jalali = words().jalali_months.get(word)
        if jalali is not None:
            start = _jalali_start(year, jalali)
        else:
            number = _month_number(word)
            start = _month_start(year, number) if number else None
        return (start, MONTH) if start else None
    return None


def looks_like_periods(values: list[str]) -> bool:
    """Whether a date column's sample names periods: most values do, and none is a plain day."""
    if not values:
        return False
    named = sum(read_period(v) is not None for v in values)
    return named * 2 > len(values)


def period_start_expr(text: pl.Expr, fiscal_start_month: int = 1) -> pl.Expr:
    """The first day of the period each cell names (null when it names none)."""
    return text.map_batches(
        lambda s: _lookup(s, fiscal_start_month, 0, TIMESTAMP), return_dtype=TIMESTAMP
    )


def period_grain_expr(text: pl.Expr, fiscal_start_month: int = 1) -> pl.Expr:
    """The grain (month, quarter, year) of the period each cell names."""
    return text.map_batches(
        lambda s: _lookup(s, fiscal_start_month, 1, pl.String), return_dtype=pl.String
    )


def _lookup(series: pl.Series, fiscal_start_month: int, part: int, dtype: object) -> pl.Series:
    """Read each distinct value once (a period column holds few), then map the column."""
    table = {}
    for value in series.drop_nulls().unique().to_list():
        found = read_period(value, fiscal_start_month)
        table[value] = found[part] if found else None
    return series.replace_strict(table, default=None, return_dtype=dtype)  # type: ignore[arg-type]
