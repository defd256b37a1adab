"""Dates and times as exports write them -> naive UTC Datetime, formats sniffed once per column.

The reader never guesses: every column is read as text, the formats its values use are worked out
from a sample (a value's shape gives the format; day-first vs month-first is decided from the
values: a 13..31 in the first field means day-first), and then each format is applied to the whole
column with `str.to_datetime(fmt, strict=False)`. Values that none of the formats parse come back
null, so the caller can count and flag them. Excel serial numbers, Unix epoch seconds and
milliseconds, and Jalali (Persian calendar) dates with Persian digits are recognised too; Jalali
conversion runs in Python over the distinct dates only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from crmkpi.io.numbers import ascii_digits, ascii_digits_text
from crmkpi.io.periods import looks_like_periods, period_start_expr
from crmkpi.io.vocabulary import words
from crmkpi.schema import TIMESTAMP

SAMPLE_VALUES = 2000

_TIME = re.compile(
    r"(?P<sep>[ T]+)(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?P<f>[.,]\d+)?)?"
    r"(?P<ampm>\s*[AaPp]\.?[Mm]\.?)?(?P<tz>\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?$"
)
_TOKENS = re.compile(r"\d+|[^\W\d_]+|[^\w]+")
_EXCEL_EPOCH = datetime(1899, 12, 30)


@dataclass(frozen=True)
class DateFormat:
    """How one column writes dates: strptime formats tried in order, or a numeric/calendar kind."""

    kind: str = "strptime"  # strptime, excel_serial, epoch_s, epoch_ms, jalali, period, none
    formats: tuple[str, ...] = ()
    day_first: bool | None = None  # None: no day/month fields to order
    ambiguous: bool = False  # day/month order not provable from the values
    # local month words seen in the column -> English abbreviation ("марта" -> "mar")
    month_words: tuple[tuple[str, str], ...] = ()
    native_digits: bool = False  # Persian / Arabic-Indic digits to map to ASCII
    # text clean-ups the sample needed (each costs a pass over the column)
    odd_spaces: bool = False  # runs of spaces, tabs, NBSP
    zulu: bool = False  # a trailing Z / UTC / GMT
    dotted_ampm: bool = False  # a.m. / p.m.
    fiscal_start_month: int = 1  # which month FY2025 starts in (kind "period")

    def complete(self) -> DateFormat:
        """The same formats with every clean-up on, for values the lean parser missed."""
        return replace(self, native_digits=True, odd_spaces=True, zulu=True, dotted_ampm=True)

    def describe(self) -> str:
        if self.kind == "strptime":
            return " | ".join(self.formats) or "no date format found"
        if self.kind == "period":
            return "a month, quarter or year: 2025-01, Jan 2025, 2025-Q1, FY2025"
        return self.kind.replace("_", " ")


_ENGLISH_MONTHS = frozenset(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
     "january", "february", "march", "april", "june", "july", "august", "september", "october",
     "november", "december")
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]{3,}")
_NATIVE_DIGITS = re.compile("[\u06f0-\u06f9\u0660-\u0669]")
# compiled once: the sniffer runs them over every sampled value
_SPACE_RUN = re.compile(r"\s+")
_ODD_SPACES = re.compile(r"\s\s|[^\S ]")
_ZULU = re.compile(r"(\d)(?:Z| ?UTC| ?GMT)$")
_DOTTED_AMPM = re.compile(r"(?i)\b([ap])\.m\.")
_COMPACT = re.compile(r"\d{8}")
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
_YEAR_FIRST = re.compile(r"^(\d{4})[-/.]")


def normalise_text(column: pl.Expr, fmt: DateFormat | None = None) -> pl.Expr:
    """ASCII digits, single spaces, `Z`/`UTC` as +00:00, AM/PM without dots, English months."""
    text = column.str.strip_chars()
    if fmt is None or fmt.native_digits:
        text = ascii_digits(text)
    if fmt is None or fmt.odd_spaces:
        text = text.str.replace_all(r"\s+", " ")
    if fmt is None or fmt.zulu:
        text = text.str.replace(r"(\d)(?:Z| ?UTC| ?GMT)$", "${1}+00:00")
    if fmt is None or fmt.dotted_ampm:
        text = text.str.replace_all(r"(?i)\b([ap])\.m\.", "${1}M")
    if fmt is not None and fmt.month_words:
        # the first word of the value is the month: swap it whole (never inside another word)
        parts = text.str.to_lowercase().str.extract_groups(r"^(.*?)([^\W\d_]{3,})(.*)$")
        word = parts.struct.field("2")
        english = word.replace_strict(dict(fmt.month_words), default=word)
        text = pl.coalesce(
            pl.concat_str(parts.struct.field("1"), english, parts.struct.field("3")), text
        )
    return text


def _normalise_value(value: str, months: dict[str, str] | None = None) -> str:
    value = _SPACE_RUN.sub(" ", ascii_digits_text(value.strip()))
    value = _ZULU.sub(r"\1+00:00", value)
    value = _DOTTED_AMPM.sub(r"\1M", value)
    if months:
        lowered = value.lower()
        found = _WORD.search(lowered)
        if found and found.group(0) in months:
            value = lowered[: found.start()] + months[found.group(0)] + lowered[found.end() :]
    return value


def _local_month_words(values: list[str]) -> dict[str, str]:
    """Every language's month words (-> English abbreviations) when the sample shows any, so
    months the sample happened to miss still parse."""
    table = words().months
    for value in values:
        match = _WORD.search(value.lower())
        if match and match.group(0) not in _ENGLISH_MONTHS and match.group(0) in table:
            return {k: v for k, v in table.items() if k not in _ENGLISH_MONTHS}
    return {}


def _time_format(match: re.Match[str]) -> str:
    hour = "%I" if match["ampm"] else "%H"
    fmt = f"{hour}:%M"
    if match["s"]:
        fmt += ":%S"
        if match["f"]:
            fmt += "%.f" if match["f"].startswith(".") else ",%f"
    if match["ampm"]:
        fmt += (" " if match["ampm"].startswith(" ") else "") + "%p"
    if match["tz"]:
        fmt += (" " if match["tz"].startswith(" ") else "") + "%z"
    return fmt


def _date_shape(date_part: str) -> tuple[str, tuple[int, int] | None] | None:
    """A format with {A}{B} for the two fields whose order is unknown, and their values."""
    tokens = _TOKENS.findall(date_part)
    numbers = [t for t in tokens if t.isdigit()]
    words = [t for t in tokens if t.isalpha()]
    if len(numbers) == 3 and not words:
        first, second, third = numbers
        if len(first) == 4:
            codes = ["%Y", "%m", "%d"]
            pair = None
        elif len(third) in (2, 4) and len(first) <= 2 and len(second) <= 2:
            codes = ["{A}", "{B}", "%Y" if len(third) == 4 else "%y"]
            pair = (int(first), int(second))
        else:
            return None
    elif len(numbers) == 2 and len(words) == 1:
        month = "%b" if len(words[0]) <= 3 else "%B"
        if any(len(n) == 4 for n in numbers):
            codes = ["%Y" if len(n) == 4 else "%d" for n in numbers]
        else:
            codes = ["%d", "%y"]
        if sorted(codes) != sorted({*codes}) or "%d" not in codes:
            return None
        it = iter(codes)
        fmt = "".join(
            next(it) if t.isdigit() else month if t.isalpha() else t.replace("%", "%%")
            for t in tokens
        )
        return fmt, None
    else:
        return None
    it = iter(codes)
    fmt = "".join(next(it) if t.isdigit() else t.replace("%", "%%") for t in tokens)
    return fmt, pair


def _numeric_kind(values: list[str]) -> str | None:
    try:
        nums = [float(v) for v in values]
    except ValueError:
        return None
    if all(v.isdigit() and len(v) == 8 and 1900 <= int(v[:4]) <= 2100 for v in values):
        return None  # 20240105 is a compact date, handled by strptime
    if all(20_000 <= n <= 80_000 for n in nums):
        return "excel_serial"
    if all(1e8 <= n < 1e10 for n in nums):
        return "epoch_s"
    if all(1e11 <= n < 1e13 for n in nums):
        return "epoch_ms"
    return None


def sniff_date_format(
    values: Iterable[str],
    *,
    date_order: str | None = None,
    calendar: str | None = None,
    fiscal_start_month: int = 1,
) -> DateFormat:
    """Work out the formats a column's values use. `date_order` ("dmy"/"mdy") breaks ties."""
    raw = [v for v in values if v and v.strip()][:SAMPLE_VALUES]
    if looks_like_periods(raw):
        return DateFormat(kind="period", fiscal_start_month=fiscal_start_month)
    native = any(_NATIVE_DIGITS.search(v) for v in raw)
    cleanups = {
        "odd_spaces": any(_ODD_SPACES.search(v) for v in raw),
        "zulu": any(_ZULU.search(v) for v in raw),
        "dotted_ampm": any(_DOTTED_AMPM.search(v) for v in raw),
    }
    months = _local_month_words(raw)
    sample = [_normalise_value(v, months) for v in raw]
    if not sample:
        return DateFormat(kind="none")
    numeric = _numeric_kind(sample)
    if numeric:
        return DateFormat(kind=numeric, native_digits=native, **cleanups)
    if calendar == "jalali" or _looks_jalali(sample):
        return DateFormat(kind="jalali", day_first=False, native_digits=native, **cleanups)
    shapes: Counter[str] = Counter()
    firsts: list[int] = []
    seconds: list[int] = []
    # A value's format depends on where its digits are, not on which they are: values of one
    # skeleton (every digit written 0) share it, and only a day/month pair is read per value.
    known: dict[str, str | None] = {}  # None: no shape, or a pair to read (in `paired`)
    paired: set[str] = set()
    for value in sample:
        skeleton = value.translate(_DIGITS_AS_ZERO)
        if skeleton in known:
            fmt_known = known[skeleton]
            if fmt_known is not None:
                shapes[fmt_known] += 1
                continue
            if skeleton not in paired:
                continue  # no date shape at all
        match = _TIME.search(value)
        date_part = value[: match.start()] if match else value
        if _COMPACT.fullmatch(date_part):
            shape = ("%Y%m%d", None)
        else:
            found = _date_shape(date_part)
            if found is None:
                known[skeleton] = None
                continue
            shape = found
        fmt, pair = shape
        if pair:
            firsts.append(pair[0])
            seconds.append(pair[1])
            paired.add(skeleton)
        if match:
            fmt += match["sep"] + _time_format(match)
        known[skeleton] = None if pair else fmt
        shapes[fmt] += 1
    if not shapes:
        return DateFormat(kind="none")
    day_first: bool | None = None
    ambiguous = False
    if firsts:
        if any(f > 12 for f in firsts):
            day_first = True
        elif any(s > 12 for s in seconds):
            day_first = False
        else:
            ambiguous = True
            day_first = date_order != "mdy"
    a, b = ("%d", "%m") if day_first or day_first is None else ("%m", "%d")
    formats = tuple(fmt.replace("{A}", a).replace("{B}", b) for fmt, _ in shapes.most_common(6))
    return DateFormat(
        formats=formats,
        day_first=day_first,
        ambiguous=ambiguous,
        month_words=tuple(sorted(months.items())),
        native_digits=native,
        **cleanups,
    )


def _looks_jalali(sample: list[str]) -> bool:
    years = [int(m.group(1)) for v in sample if (m := _YEAR_FIRST.match(v))]
    return bool(years) and all(1300 <= y <= 1499 for y in years)


def _strip_tz(parsed: pl.Expr, fmt: str) -> pl.Expr:
    return parsed.dt.replace_time_zone(None) if "%z" in fmt else parsed


def date_expr(column: pl.Expr, fmt: DateFormat) -> pl.Expr:
    """A naive-UTC Datetime expression for a String column written in `fmt`; unparseable -> null."""
    if fmt.kind == "none":
        return pl.lit(None, dtype=TIMESTAMP)
    text = normalise_text(column, fmt)
    if fmt.kind in ("excel_serial", "epoch_s", "epoch_ms"):
        num = text.cast(pl.Float64, strict=False)
        if fmt.kind == "excel_serial":
            micros = ((num * 86_400_000_000).round(0)).cast(pl.Int64) + int(
                (_EXCEL_EPOCH - datetime(1970, 1, 1)).total_seconds() * 1_000_000
            )
        elif fmt.kind == "epoch_s":
            micros = (num * 1_000_000).round(0).cast(pl.Int64)
        else:
            micros = (num * 1_000).round(0).cast(pl.Int64)
        return micros.cast(pl.Datetime("us"))
    if fmt.kind == "jalali":
        return jalali_expr(text)
    if fmt.kind == "period":
        return period_start_expr(column, fmt.fiscal_start_month)
    # Polars caches each distinct text's result: a win for dates (a few thousand days), a loss
    # twice over for date-times, which are nearly all distinct.
    parsed = [
        _strip_tz(
            text.str.to_datetime(
                f,
                strict=False,
                time_unit="us",
                time_zone="UTC" if "%z" in f else None,
                cache=not _has_time(f),
            ),
            f,
        )
        for f in fmt.formats
    ]
    return pl.coalesce(parsed).cast(TIMESTAMP) if len(parsed) > 1 else parsed[0].cast(TIMESTAMP)


def _has_time(strptime_format: str) -> bool:
    return any(code in strptime_format for code in ("%H", "%I", "%M", "%S", "%T", "%R"))


_JALALI = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"


def jalali_expr(text: pl.Expr) -> pl.Expr:
    """Jalali y/m/d [H:M[:S]] -> Gregorian Datetime; the calendar maths runs once per distinct date.

    Implemented with `map_batches` so that the Python conversion sees the whole column at once and
    converts only its unique dates, then maps them back with `replace_strict`.
    """
    return text.map_batches(_jalali_series, return_dtype=TIMESTAMP)


def _jalali_series(series: pl.Series) -> pl.Series:
    import jdatetime

    parts = series.str.extract_groups(_JALALI).struct.unnest()
    parts.columns = ["y", "m", "d", "H", "M", "S"]
    days = parts.select(pl.concat_str(["y", "m", "d"], separator="/").alias("key"))["key"]
    lookup: dict[str, datetime | None] = {}
    for key in days.drop_nulls().unique().to_list():
        y, m, d = (int(p) for p in key.split("/"))
        try:
            lookup[key] = jdatetime.date(y, m, d).togregorian()
        except ValueError:
            lookup[key] = None
    base = days.replace_strict(lookup, default=None, return_dtype=pl.Date).cast(TIMESTAMP)
    offset = (
        parts["H"].cast(pl.Int64, strict=False).fill_null(0) * 3600
        + parts["M"].cast(pl.Int64, strict=False).fill_null(0) * 60
        + parts["S"].cast(pl.Int64, strict=False).fill_null(0)
    ) * 1_000_000
    return (base + pl.Series(offset).cast(pl.Duration("us"))).alias(series.name)
