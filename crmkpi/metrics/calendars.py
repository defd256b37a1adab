"""Where periods begin and end, and what they are called, in the Gregorian or Jalali calendar.

Every period column (KPIs by period, trends, comparisons, target and quota windows) is cut by
`period_start` and moved by `period_shift`, so a calendar is added in one place. Days and weeks
are the same in both calendars (the week's first day is `week_start`); months, quarters and years
differ. A Jalali year starts at Nowruz (1 Farvardin), its months 1-6 have 31 days, 7-11 have 30
and Esfand 29, or 30 in a leap year; its quarters are three months (93, 93, 90 and 89/90 days).

The Jalali cut is vectorised arithmetic: Nowruz of a year is a day count from jdatetime's own
leap rule (a year is leap when year % 33 is in LEAP_REMAINDERS), anchored on the Nowruz of 1403
as jdatetime gives it; the day count from the right Nowruz gives the month, and a month index
(year * 12 + month - 1) gives quarter, year and shifts. Tests check it against jdatetime.
"""

from __future__ import annotations

from datetime import date, datetime

import jdatetime
import polars as pl

PERIOD_EVERY = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}
_MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}
_WEEKDAY_INDEX = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
# A Jalali year N begins in the Gregorian year N + 621 (1 Farvardin 1404 = 2025-03-21).
_JALALI_TO_GREGORIAN_YEAR = 621
# jdatetime's leap years: year % 33 is one of these (its conversions follow the same cycle),
# 8 in every 33 years: 33 * 365 + 8 days a cycle.
LEAP_REMAINDERS = (1, 5, 9, 13, 17, 22, 26, 30)
_DAYS_PER_CYCLE = 33 * 365 + len(LEAP_REMAINDERS)
JALALI_MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
                 "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")  # fmt: skip
JALALI_MONTHS_LATIN = ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
                       "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand")  # fmt: skip
# The Solar Hijri year's quarters are its seasons (Farvardin to Khordad is spring): an Iranian
# team says "پاییز 1404", not "Q3".
JALALI_SEASONS = ("بهار", "تابستان", "پاییز", "زمستان")
JALALI_SEASONS_LATIN = ("Bahar", "Tabestan", "Paeez", "Zemestan")


def period_start(
    moment: pl.Expr,
    period: str,
    calendar: str = "gregorian",
    week_start: str = "monday",
    fiscal_year_start_month: int = 1,
) -> pl.Expr:
    """The first moment of the period holding `moment` (a Datetime expression).

    `fiscal_year_start_month` counts in the calendar's own months (4 is Tir in Jalali)."""
    if period == "week":
        shift = _WEEKDAY_INDEX[week_start]
        if shift:
            # Polars weeks start on Monday: move the date so that the chosen day lands on Monday.
            back = f"{7 - shift}d"
            return moment.dt.offset_by(back).dt.truncate("1w").dt.offset_by(f"-{back}")
        return moment.dt.truncate("1w")
    if period == "day":
        return moment.dt.truncate("1d")
    if calendar == "jalali":
        first = _first_month(_jalali_month_index(moment), period, fiscal_year_start_month)
        return _named_as(_as_moment(_jalali_month_start(first)), moment)
    every = PERIOD_EVERY[period]
    if period in ("quarter", "year") and fiscal_year_start_month != 1:
        months = fiscal_year_start_month - 1
        return moment.dt.offset_by(f"-{months}mo").dt.truncate(every).dt.offset_by(f"{months}mo")
    return moment.dt.truncate(every)


def period_shift(start: pl.Expr, period: str, count: int, calendar: str = "gregorian") -> pl.Expr:
    """`start` moved by `count` periods: `count=1` on a period's start is its exclusive end."""
    if calendar == "jalali" and period in _MONTHS_IN:
        index = _jalali_month_index(start) + count * _MONTHS_IN[period]
        days_in = _days(start) - _jalali_month_start(_jalali_month_index(start))
        length = _jalali_month_start(index + 1) - _jalali_month_start(index)
        day = _jalali_month_start(index) + pl.min_horizontal(days_in, length - 1)
        return _named_as(_as_moment(day) + (start - start.dt.truncate("1d")), start)
    unit = PERIOD_EVERY[period][1:]
    return start.dt.offset_by(f"{count}{unit}")


def period_ranges(low: pl.Expr, high: pl.Expr, period: str, calendar: str = "gregorian") -> pl.Expr:
    """The list of period starts from `low` to `high`, both period starts, for each row."""
    if calendar == "jalali" and period in _MONTHS_IN:
        indexes = pl.int_ranges(
            _jalali_month_index(low), _jalali_month_index(high) + 1, _MONTHS_IN[period]
        )
        starts = indexes.list.eval(_as_moment(_jalali_month_start(pl.element())))
        return _named_as(starts, low)
    return pl.datetime_ranges(low, high, PERIOD_EVERY[period])


def period_label(
    start: datetime,
    period: str,
    calendar: str = "gregorian",
    fiscal_year_start_month: int = 1,
    language: str | None = None,
) -> str:
    """A period's name, in Latin digits (renderers localise digits): 2025-05, 2025-Q2, 2025;
    Jalali: 'مهر 1404' ('Mehr 1404' for a report in another language than Persian), a quarter
    by its season 'پاییز 1404' ('Paeez 1404'), 1404; a day or week is its first day's date in
    the calendar."""
    if calendar != "jalali":
        return _gregorian_label(start, period, fiscal_year_start_month)
    day = jdatetime.date.fromgregorian(date=start.date())
    if period in ("day", "week"):
        return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    if period == "month":
        names = JALALI_MONTHS if language in (None, "fa") else JALALI_MONTHS_LATIN
        return f"{names[day.month - 1]} {day.year}"
    if period == "quarter":
        if fiscal_year_start_month == 1:
            seasons = JALALI_SEASONS if language in (None, "fa") else JALALI_SEASONS_LATIN
            return f"{seasons[(day.month - 1) // 3]} {day.year}"
        index = ((day.month - fiscal_year_start_month) % 12) // 3 + 1
        return f"{day.year}-{day.month:02d} FQ{index}"
    return str(day.year) if fiscal_year_start_month == 1 else f"FY {day.year}-{day.month:02d}"


def _gregorian_label(start: datetime, period: str, fiscal_year_start_month: int) -> str:
    if period in ("day", "week"):
        return start.strftime("%Y-%m-%d")
    if period == "month":
        return start.strftime("%Y-%m")
    if period == "quarter":
        if fiscal_year_start_month == 1:
            return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        index = ((start.month - fiscal_year_start_month) % 12) // 3 + 1
        return f"{start.strftime('%Y-%m')} FQ{index}"
    return str(start.year) if fiscal_year_start_month == 1 else start.strftime("FY %Y-%m")


def _days(moment: pl.Expr) -> pl.Expr:
    return moment.dt.date().cast(pl.Int32)


def _nowruz(jalali_year: pl.Expr) -> pl.Expr:
    """Days from 1970-01-01 to 1 Farvardin of `jalali_year`: 365 days a year plus the leap
    days before it, (8 * year + 21) // 33, which is the count of the 33-year rule."""
    return _NOWRUZ_OFFSET + (_DAYS_PER_CYCLE * jalali_year + 21) // 33


def _jalali_month_index(moment: pl.Expr) -> pl.Expr:
    """Jalali year * 12 + month - 1 of each moment's day."""
    days = _days(moment)
    # The last year whose Nowruz is on or before the day (the inverse of _nowruz).
    jalali_year = (33 * (days - _NOWRUZ_OFFSET + 1) - 21 - 1) // _DAYS_PER_CYCLE
    into_year = days - _nowruz(jalali_year)
    month = pl.when(into_year < 186).then(into_year // 31).otherwise(6 + (into_year - 186) // 30)
    return jalali_year * 12 + month


def _first_month(index: pl.Expr, period: str, fiscal_year_start_month: int) -> pl.Expr:
    """The month index that starts the month, quarter or (fiscal) year holding `index`."""
    size = _MONTHS_IN[period]
    if size == 1:
        return index
    offset = fiscal_year_start_month - 1
    return (index - offset) // size * size + offset


def _jalali_month_start(index: pl.Expr) -> pl.Expr:
    """Days from 1970-01-01 to the first day of the Jalali month `index`."""
    month = index % 12
    # 31 days a month up to Shahrivar, 30 after: 31 * m for m < 6, 186 + 30 * (m - 6) after.
    return _nowruz(index // 12) + month * 30 + pl.min_horizontal(month, 6)


def _named_as(result: pl.Expr, source: pl.Expr) -> pl.Expr:
    """`result` under the name of the column it was computed from, as Polars' own dt methods."""
    name = source.meta.output_name(raise_if_undetermined=False)
    return result if name is None else result.alias(name)


def _as_moment(days: pl.Expr) -> pl.Expr:
    """Days since 1970 as that day's midnight (the canonical timestamp type)."""
    return days.cast(pl.Date).cast(pl.Datetime("us"))


def _anchor() -> int:
    """Days from 1970-01-01 to Nowruz of year 0 in the 33-year rule, from jdatetime's 1403."""
    nowruz = jdatetime.date(1403, 1, 1).togregorian()  # 2024-03-20
    return (nowruz - date(1970, 1, 1)).days - (_DAYS_PER_CYCLE * 1403 + 21) // 33


_NOWRUZ_OFFSET = _anchor()
