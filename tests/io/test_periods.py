"""Dates that name a period (2025-01, Jan 2025, 2025-Q1, FY2025) are read as that period."""

from __future__ import annotations

import calendar
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crmkpi
from crmkpi.errors import UsageError
from crmkpi.io.periods import read_period


@pytest.mark.parametrize(
    ("text", "start", "grain"),
    [
        ("2025-01", datetime(2025, 1, 1), "month"),
        ("2025/3", datetime(2025, 3, 1), "month"),
        ("01/2025", datetime(2025, 1, 1), "month"),
        ("11.2024", datetime(2024, 11, 1), "month"),
        ("Jan 2025", datetime(2025, 1, 1), "month"),
        ("January 2025", datetime(2025, 1, 1), "month"),
        ("Sept 2024", datetime(2024, 9, 1), "month"),
        ("2025-Q1", datetime(2025, 1, 1), "quarter"),
        ("2025 Q3", datetime(2025, 7, 1), "quarter"),  # Q3 = months 7, 8, 9
        ("Q4 2024", datetime(2024, 10, 1), "quarter"),
        ("q2-2025", datetime(2025, 4, 1), "quarter"),
        ("FY2025", datetime(2025, 1, 1), "year"),
        ("FY 25", datetime(2025, 1, 1), "year"),
        ("2025", datetime(2025, 1, 1), "year"),
    ],
)
def test_english_and_numeric_periods(text: str, start: datetime, grain: str) -> None:
    assert read_period(text) == (start, grain)


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("Januar 2025", 1),  # de
        ("März 2025", 3),  # de
        ("janvier 2025", 1),  # fr
        ("févr. 2025", 2),  # fr abbreviation with a dot
        ("marzo 2025", 3),  # es / it
        ("março 2025", 3),  # pt
        ("gener 2025", 1),  # ca
        ("января 2025", 1),  # ru, genitive
        ("Ocak 2025", 1),  # tr
        ("Ιανουάριος 2025", 1),  # el
        ("ژانویه ۲۰۲۵", 1),  # fa, Gregorian month, Persian digits
        ("2025 Dezember", 12),  # year first
    ],
)
def test_month_names_of_every_alias_language(text: str, month: int) -> None:
    assert read_period(text) == (datetime(2025, month, 1), "month")


def test_jalali_months_start_on_their_gregorian_day() -> None:
    # Nowruz 1403 (1 Farvardin) fell on 20 March 2024; 1 Mehr 1403 on 22 September 2024.
    assert read_period("فروردین ۱۴۰۳") == (datetime(2024, 3, 20), "month")
    assert read_period("مهر 1403") == (datetime(2024, 9, 22), "month")
    assert read_period("1403-01") == (datetime(2024, 3, 20), "month")


def test_fiscal_year_is_the_one_ending_in_its_year() -> None:
    # with a fiscal year starting in April, FY2025 runs April 2024 to March 2025
    assert read_period("FY2025", fiscal_start_month=4) == (datetime(2024, 4, 1), "year")


@pytest.mark.parametrize("text", ["2025-13", "00/2025", "Q5 2025", "foo 2025", "2025-01-05", ""])
def test_values_naming_no_period_are_not_periods(text: str) -> None:
    assert read_period(text) is None


@given(st.integers(1950, 2090), st.integers(1, 12))
def test_every_spelling_of_a_month_names_the_same_period(year: int, month: int) -> None:
    expected = (datetime(year, month, 1), "month")
    abbr, name = calendar.month_abbr[month], calendar.month_name[month]
    spellings = [f"{year}-{month:02d}", f"{month:02d}/{year}", f"{abbr} {year}", f"{name} {year}"]
    assert all(read_period(s) == expected for s in spellings)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_spend_by_month_loads_every_row_and_feeds_cost_per_lead(tmp_path: Path) -> None:
    spend = _write(
        tmp_path / "spend.csv", "Month,Channel,Spend\n2025-01,Ads,100\nFeb 2025,Ads,300\n"
    )
    leads = _write(
        tmp_path / "leads.csv",
        "Lead ID,Created,Source\n1,2025-01-05,Ads\n2,2025-01-31,Ads\n3,2025-02-10,Ads\n",
    )
    ds = crmkpi.load([spend, leads])
    summary = next(i for i in ds.inputs if i.table == "spend")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (2, 2, 0)
    frame = crmkpi.metric(ds, "cost_per_lead", period="month")
    # January: 100 / 2 leads = 50; February: 300 / 1 lead = 300
    assert frame["cost_per_lead"].to_list() == [50.0, 300.0]


def test_a_quarter_of_spend_is_placed_in_quarters_and_years_not_months(tmp_path: Path) -> None:
    spend = _write(tmp_path / "spend.csv", "Period,Spend\n2025-Q1,900\n2025-04,100\n")
    ds = crmkpi.load([spend])
    assert ds.frames["spend"]["date_grain"].cast(pl.String).to_list() == ["quarter", "month"]
    by_quarter = crmkpi.metric(ds, "spend_total", period="quarter")
    assert by_quarter["spend_total"].to_list() == [900.0, 100.0]
    with pytest.raises(UsageError, match="dated by quarter"):
        crmkpi.metric(ds, "spend_total", period="month")


def test_a_window_that_cuts_a_month_leaves_that_month_out(tmp_path: Path) -> None:
    spend = _write(tmp_path / "spend.csv", "Month,Spend\n2025-01,100\n2025-02,200\n")
    ds = crmkpi.load([spend])
    # until 15 Feb: January lies wholly inside, February does not (placing half would be a guess)
    frame = crmkpi.metric(ds, "spend_total", since="2025-01-01", until="2025-02-15")
    assert frame["spend_total"].to_list() == [100.0]
