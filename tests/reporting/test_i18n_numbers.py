"""Numbers in the reader's locale (crmkpi.reporting.i18n.numbers): separators, percent and
currency placement from CLDR, and the locale's own digits unless Latin ones are asked for."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from crmkpi.reporting.i18n import NumberFormat

NBSP = "\u00a0"
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")  # written out by hand


def test_separators_by_locale() -> None:
    # 1234567.891 to one decimal is 1234567.9: Spanish groups with "." and decimals with ",",
    # Russian groups with a no-break space; the English form 1,234,567.9 would be wrong in both.
    assert NumberFormat("es").decimal(1234567.891, 1) == "1.234.567,9"
    assert NumberFormat("ru").decimal(1234567.891, 1) == f"1{NBSP}234{NBSP}567,9"
    assert NumberFormat("el").decimal(1234567.891, 1) == "1.234.567,9"


def test_persian_digits_and_separators_unless_latin_asked() -> None:
    # Persian writes ٬ between groups and ٫ before decimals, in the digits ۰-۹.
    assert NumberFormat("fa").decimal(1234567.891, 1) == "۱٬۲۳۴٬۵۶۷٫۹"
    assert NumberFormat("fa", digits="latin").decimal(1234567.891, 1) == "1,234,567.9"


def test_percent_sign_where_the_locale_puts_it() -> None:
    # 0.312 is 31.2 %: Spanish and Catalan put a no-break space before the sign, Greek does
    # not, Persian has its own sign ٪.
    assert NumberFormat("es").percent(0.312) == f"31,2{NBSP}%"
    assert NumberFormat("ca").percent(0.312) == f"31,2{NBSP}%"
    assert NumberFormat("el").percent(0.312) == "31,2%"
    assert NumberFormat("fa").percent(0.312) == "۳۱٫۲٪"


def test_a_value_rounding_to_zero_has_no_minus() -> None:
    assert NumberFormat("es").percent(-0.0001) == f"0,0{NBSP}%"
    assert NumberFormat("ru").decimal(-0.004, 2) == "0,00"


def test_currency_symbol_and_its_position() -> None:
    # Spanish: amount then symbol; Persian: symbol first (after a left-to-right mark).
    assert NumberFormat("es").currency(12480, "EUR") == f"12.480{NBSP}€"
    assert NumberFormat("fa").currency(12480, "EUR") == f"\u200e€{NBSP}۱۲٬۴۸۰"


def test_dates_in_the_locale_medium_form() -> None:
    assert NumberFormat("es").date(date(2026, 10, 31)) == "31 oct 2026"
    assert NumberFormat("fa").date(date(2026, 10, 31)) == "۳۱ اکتبر ۲۰۲۶"
    assert NumberFormat("es").month(date(2025, 6, 1)) == "jun 2025"


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_persian_digits_are_the_latin_form_transliterated(number: int) -> None:
    native = NumberFormat("fa").decimal(number, 0)
    latin = NumberFormat("fa", digits="latin").decimal(number, 0)
    assert native == latin.translate(PERSIAN).replace(",", "٬")


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_spanish_text_reads_back_as_the_rounded_number(value: float) -> None:
    text = NumberFormat("es").decimal(value, 2)
    assert float(text.replace(".", "").replace(",", ".").replace("−", "-")) == round(value, 2)
