"""Jalali and Gregorian period boundaries, shifts and labels.

The Jalali facts below are checked two ways:

* jdatetime's leap rule (the 33-year arithmetic cycle): a year is leap when year % 33 is one of
  1, 5, 9, 13, 17, 22, 26, 30. 1402 % 33 = 16 (common, Esfand has 29 days), 1403 % 33 = 17
  (leap, Esfand has 30 days), 1404 % 33 = 18 (common).
* the astronomical rule of the official Iranian calendar: 1 Farvardin is the day of the March
  equinox when it falls before noon in Tehran (08:30 UTC), else the day after. Equinoxes
  (UTC): 2023-03-20 21:24 -> Nowruz 1402 = 2023-03-21; 2024-03-20 03:06 -> Nowruz 1403 =
  2024-03-20; 2025-03-20 09:01 -> Nowruz 1404 = 2025-03-21; 2026-03-20 14:46 -> Nowruz 1405 =
  2026-03-21. So 1402 has 365 days (2023-03-21 .. 2024-03-19), 1403 has 366 (2024-03-20 ..
  2025-03-20: Esfand 30 exists) and 1404 has 365: both rules agree on every year used here.

Months 1-6 have 31 days and 7-11 have 30, so month m starts (m-1)*31 days after Nowruz for
m <= 7 and 186 + (m-7)*30 days after it from Mehr on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import jdatetime
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.dataset import Dataset
from crmkpi.metrics import Grain, evaluate
from crmkpi.metrics.calendars import period_label, period_ranges, period_shift, period_start


def dt(*parts: int) -> datetime:
    return datetime(*parts)  # type: ignore[arg-type]


def starts(days: list[datetime], period: str, **options: object) -> list[datetime]:
    frame = pl.DataFrame({"d": days}, schema={"d": pl.Datetime("us")})
    return frame.select(period_start(pl.col("d"), period, "jalali", **options))["d"].to_list()


def shifted(start: datetime, period: str, count: int) -> datetime:
    moment = pl.lit(start, dtype=pl.Datetime("us"))
    return pl.select(period_shift(moment, period, count, "jalali")).item()


def test_nowruz_starts_the_month_quarter_and_year() -> None:
    # 2024-03-19 is Esfand 29, 1402 (the last day of a common year); 2024-03-20 is Nowruz 1403.
    # Esfand 1402 starts 336 days after Nowruz 1402 (2023-03-21): 2024-02-20.
    days = [dt(2024, 3, 19, 23, 59), dt(2024, 3, 20)]
    assert starts(days, "month") == [dt(2024, 2, 20), dt(2024, 3, 20)]
    # Dey (month 10, the fourth quarter) 1402 starts 276 days after Nowruz: 2023-12-22.
    assert starts(days, "quarter") == [dt(2023, 12, 22), dt(2024, 3, 20)]
    assert starts(days, "year") == [dt(2023, 3, 21), dt(2024, 3, 20)]


def test_esfand_of_leap_1403_has_thirty_days() -> None:
    # 2025-03-20 is Esfand 30, 1403, still in 1403; Nowruz 1404 is 2025-03-21. A rule that
    # took Nowruz for March 20 or 21 by the Gregorian year alone, or gave Esfand 29 days, puts
    # 2025-03-20 in Farvardin 1404.
    days = [dt(2025, 3, 20, 13, 5), dt(2025, 3, 21)]
    assert starts(days, "year") == [dt(2024, 3, 20), dt(2025, 3, 21)]
    # Esfand 1403 starts 2024-03-20 + 336 days = 2025-02-19 and lasts 2025-02-19 .. 2025-03-20.
    assert starts(days, "month") == [dt(2025, 2, 19), dt(2025, 3, 21)]
    assert shifted(dt(2025, 2, 19), "month", 1) == dt(2025, 3, 21)  # 30 days
    assert shifted(dt(2024, 2, 20), "month", 1) == dt(2024, 3, 20)  # Esfand 1402: 29 days


def test_months_of_31_then_30_days() -> None:
    # Farvardin 1404 (31 days) is 2025-03-21 .. 2025-04-20; Mehr 1404 starts 186 days after
    # Nowruz: 2025-09-23, and Mehr 1 is the day Iranian schools open (23 September).
    days = [dt(2025, 4, 20), dt(2025, 4, 21), dt(2025, 9, 22), dt(2025, 9, 23), dt(2025, 10, 22)]
    assert starts(days, "month") == [
        dt(2025, 3, 21), dt(2025, 4, 21), dt(2025, 8, 23), dt(2025, 9, 23), dt(2025, 9, 23)
    ]  # fmt: skip
    # Shahrivar (month 6, 31 days) starts 155 days after Nowruz: 2025-08-23.
    assert shifted(dt(2025, 9, 23), "month", 1) == dt(2025, 10, 23)  # Mehr has 30 days
    # Quarters: Tir (93 days after Nowruz) 2025-06-22, Mehr 2025-09-23.
    assert starts(days, "quarter") == [
        dt(2025, 3, 21), dt(2025, 3, 21), dt(2025, 6, 22), dt(2025, 9, 23), dt(2025, 9, 23)
    ]  # fmt: skip


def test_fiscal_year_counts_jalali_months() -> None:
    # A fiscal year from Tir (month 4): 2025-05-01 is Ordibehesht 11, 1404, in the fiscal year
    # that began on 1 Tir 1403 = 2024-03-20 + 93 days = 2024-06-21.
    assert starts([dt(2025, 5, 1)], "year", fiscal_year_start_month=4) == [dt(2024, 6, 21)]


def test_weeks_start_on_the_given_day() -> None:
    # 2025-10-05 is a Sunday: a Saturday week began on 2025-10-04.
    assert starts([dt(2025, 10, 5)], "week", week_start="saturday") == [dt(2025, 10, 4)]


def test_shift_back_over_nowruz_and_ranges() -> None:
    assert shifted(dt(2025, 3, 21), "month", -1) == dt(2025, 2, 19)
    assert shifted(dt(2025, 3, 21), "year", -1) == dt(2024, 3, 20)
    assert shifted(dt(2025, 3, 21), "quarter", -1) == dt(2024, 12, 21)  # Dey 1403: +276 days
    ranges = period_ranges(
        pl.lit(dt(2025, 2, 19)), pl.lit(dt(2025, 4, 21)), "month", "jalali"
    ).explode()
    assert pl.select(ranges).to_series().to_list() == [
        dt(2025, 2, 19), dt(2025, 3, 21), dt(2025, 4, 21)
    ]  # fmt: skip


def test_labels_with_latin_digits() -> None:
    assert period_label(dt(2025, 9, 23), "month", "jalali") == "مهر 1404"
    assert period_label(dt(2025, 9, 23), "month", "jalali", language="en") == "Mehr 1404"
    # 2025-09-23 is 1 Mehr 1404: the first day of autumn, the third quarter
    assert period_label(dt(2025, 9, 23), "quarter", "jalali") == "پاییز 1404"
    assert period_label(dt(2025, 9, 22), "quarter", "jalali") == "تابستان 1404"  # 31 Shahrivar
    assert period_label(dt(2025, 3, 21), "quarter", "jalali", language="en") == "Bahar 1404"
    assert period_label(dt(2025, 3, 21), "year", "jalali") == "1404"
    assert period_label(dt(2025, 10, 4), "week", "jalali") == "1404-07-12"
    assert period_label(dt(2024, 6, 21), "year", "jalali", 4) == "FY 1403-04"
    assert period_label(dt(2025, 9, 1), "month") == "2025-09"


def test_jalali_months_reach_the_metrics() -> None:
    # Gregorian months would count March 3 and April 2; Jalali: Esfand 1402 holds 03-19,
    # Farvardin 1403 (2024-03-20 .. 2024-04-19, 31 days) three, Ordibehesht 04-20.
    created = [dt(2024, 3, 19), dt(2024, 3, 20), dt(2024, 3, 25), dt(2024, 4, 19), dt(2024, 4, 20)]
    deals = pl.DataFrame({"id": list("abcde"), "created_at": created})
    grain = Grain(period="month", calendar="jalali")
    frame = evaluate(Dataset(frames={"deals": deals}), ["deals_created"], grain)["deals_created"]
    assert frame["period"].to_list() == [dt(2024, 2, 20), dt(2024, 3, 20), dt(2024, 4, 20)]
    assert frame["value"].to_list() == [1, 3, 1]


def _jalali_month_start(day: date) -> date:
    """jdatetime's answer, one date at a time: the first of the date's Jalali month."""
    j = jdatetime.date.fromgregorian(date=day)
    return jdatetime.date(j.year, j.month, 1).togregorian()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dates(date(1600, 1, 1), date(2600, 12, 31)), min_size=1, max_size=40))
def test_vectorised_months_match_jdatetime(days: list[date]) -> None:
    days = sorted(days)
    moments = [datetime.combine(d, datetime.min.time()) for d in days]
    got = starts(moments, "month")
    assert [g.date() for g in got] == [_jalali_month_start(d) for d in days]
    assert got == sorted(got)  # period starts ascend with the dates


@settings(max_examples=60, deadline=None)
@given(
    st.dates(date(1000, 3, 1), date(8999, 1, 1)),
    st.sampled_from(["month", "quarter", "year"]),
    st.integers(1, 12),
)
def test_every_day_lies_in_exactly_one_period(day: date, period: str, fiscal: int) -> None:
    moment = datetime.combine(day, datetime.min.time()) + timedelta(hours=15)
    (start,) = starts([moment], period, fiscal_year_start_month=fiscal)
    end = shifted(start, period, 1)
    assert start <= moment < end
    # The period's end starts the next period, so periods tile the days without gap or overlap.
    assert starts([end], period, fiscal_year_start_month=fiscal) == [end]
    assert starts([end - timedelta(microseconds=1)], period, fiscal_year_start_month=fiscal) == [
        start
    ]
    assert jdatetime.date.fromgregorian(date=start.date()).day == 1
