"""Number and date parsers: values formatted in random conventions must parse back exactly."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import jdatetime
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.io.dates import date_expr, sniff_date_format
from crmkpi.io.numbers import number_expr, sniff_number_format

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
# (decimal, thousands, digits)
CONVENTIONS = [
    (".", ",", None), (".", "", None), (",", ".", None), (",", " ", None), (",", "\u00a0", None),
    (",", "\u202f", None), (".", "'", None), (".", "\u2019", None), ("\u066b", "\u066c", ARABIC),
    ("\u066b", "\u066c", PERSIAN), (",", "", None),
]  # fmt: skip
AFFIXES = [("", ""), ("$", ""), ("", " €"), ("USD ", ""), ("", " руб."), ("", " ریال"), ("€ ", "")]


def fmt_number(cents: int, decimal: str, thousands: str, digits, affix, parens: bool) -> str:
    whole, frac = divmod(abs(cents), 100)
    groups = f"{whole:,}".replace(",", thousands)
    text = f"{groups}{decimal}{frac:02d}"
    if digits:
        text = text.translate(digits)
    text = f"{affix[0]}{text}{affix[1]}"
    if cents < 0:
        text = f"({text})" if parens else f"-{text}"
    return text


def parse_numbers(values: list[str]) -> list[float | None]:
    fmt = sniff_number_format(values)
    return (
        pl.select(number_expr(pl.lit(pl.Series(values, dtype=pl.String)), fmt))
        .to_series()
        .to_list()
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-(10**11), 10**11), min_size=1, max_size=8),
    st.sampled_from(CONVENTIONS),
    st.sampled_from(AFFIXES),
    st.booleans(),
)
def test_number_round_trip(cents: list[int], convention, affix, parens: bool) -> None:
    decimal, thousands, digits = convention
    values = [fmt_number(c, decimal, thousands, digits, affix, parens) for c in cents]
    parsed = parse_numbers(values)
    assert parsed == [round(c / 100, 2) for c in cents]


def test_number_specials() -> None:
    values = ["12%", "$342.09K", "1234.5-", "1e3", "5-20", "abc", "1,5"]
    # '1,5' cannot be a thousands group in a point-decimal column: null, not 15
    assert parse_numbers(values) == [12.0, 342090.0, -1234.5, 1000.0, None, None, None]


DATE_FORMATS = [
    ("%Y-%m-%d %H:%M:%S", None), ("%Y-%m-%dT%H:%M:%SZ", None), ("%d/%m/%Y", "dmy"),
    ("%m/%d/%Y %I:%M %p", "mdy"), ("%d.%m.%Y %H:%M", "dmy"), ("%m/%d/%y", "mdy"),
    ("%d %b %Y", None), ("%b %d, %Y", None), ("%Y.%m.%d", None), ("%d-%m-%Y", "dmy"),
    ("%Y%m%d", None),
]  # fmt: skip
MOMENTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2060, 12, 31)).map(
    lambda d: d.replace(second=d.second, microsecond=0)
)


def truncate(d: datetime, fmt: str) -> datetime:
    if "%S" in fmt:
        return d
    if "%M" in fmt:
        return d.replace(second=0)
    return d.replace(hour=0, minute=0, second=0)


def parse_dates(values: list[str], **hints):
    fmt = sniff_date_format(values, **hints)
    series = pl.select(date_expr(pl.lit(pl.Series(values, dtype=pl.String)), fmt)).to_series()
    return fmt, series.to_list()


@settings(max_examples=150, deadline=None)
@given(st.lists(MOMENTS, min_size=1, max_size=10), st.sampled_from(DATE_FORMATS))
def test_date_round_trip(moments: list[datetime], case) -> None:
    fmt, order = case
    values = [m.strftime(fmt) for m in moments]
    sniffed, parsed = parse_dates(values)
    expected = [truncate(m, fmt) for m in moments]
    days = [m.day for m in moments]
    # day-first is the default reading when no day above 12 is seen; month-first must then be
    # reported ambiguous and given as a hint
    if order == "mdy" and all(d <= 12 for d in days):
        assert sniffed.ambiguous  # cannot be told from the values: must say so
        _, parsed = parse_dates(values, date_order="mdy")
    assert parsed == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dates(min_value=date(1950, 1, 1), max_value=date(2070, 1, 1)), min_size=1))
def test_jalali_with_persian_digits(days) -> None:
    values = [
        jdatetime.date.fromgregorian(date=d).strftime("%Y/%m/%d").translate(PERSIAN) for d in days
    ]
    sniffed, parsed = parse_dates(values)
    assert sniffed.kind == "jalali"
    assert parsed == [datetime(d.year, d.month, d.day) for d in days]


# Epoch values are recognised from 1973-03 (1e11 ms) on; CRM data starts well after that.
RECENT = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31))


@settings(max_examples=60, deadline=None)
@given(st.lists(RECENT.map(lambda d: d.replace(microsecond=0)), min_size=1, max_size=8))
def test_epoch_milliseconds_and_excel_serials(moments: list[datetime]) -> None:
    epoch = datetime(1970, 1, 1)
    millis = [str(int((m - epoch).total_seconds() * 1000)) for m in moments]
    assert parse_dates(millis)[1] == moments
    serials = [str((m.date() - datetime(1899, 12, 30).date()).days) for m in moments]
    sniffed, parsed = parse_dates(serials)
    assert sniffed.kind == "excel_serial"
    assert parsed == [datetime(m.year, m.month, m.day) for m in moments]


def test_offsets_become_naive_utc() -> None:
    _, parsed = parse_dates(["2024-01-05T10:00:00+02:00", "2024-01-05T10:00:00Z"])
    assert parsed == [datetime(2024, 1, 5, 8), datetime(2024, 1, 5, 10)]
    assert parsed[0] + timedelta(hours=2) == datetime(2024, 1, 5, 10)


def test_month_names_in_other_languages() -> None:
    values = ["15 марта 2024", "5 janv. 2024", "13 Mär 2024", "15 Şubat 2024", "2 agosto 2024"]
    _, parsed = parse_dates(values)
    # each month word read in its own language; the shape '%d <month> %Y' is shared
    assert parsed[0] == datetime(2024, 3, 15)
    assert parsed[2:] == [datetime(2024, 3, 13), datetime(2024, 2, 15), datetime(2024, 8, 2)]
    # 'janv.' carries a dot the others lack: a second shape, parsed too
    assert parsed[1] == datetime(2024, 1, 5)
