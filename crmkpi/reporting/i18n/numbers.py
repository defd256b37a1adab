"""Numbers, percentages, money and dates as the reader's locale writes them (CLDR via Babel).

Babel supplies separators, percent and currency patterns and the locale's default numbering
system; it does not transliterate digits, so the digits of that numbering system are put in
here (Persian ۰-۹ for `fa`, unless the reader asked for Latin digits).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

# The digits of the numbering systems CLDR names as a locale's default (Unicode digits).
NUMBERING_DIGITS = {
    "arabext": "۰۱۲۳۴۵۶۷۸۹",  # Persian, Urdu
    "arab": "٠١٢٣٤٥٦٧٨٩",  # Arabic
    "beng": "০১২৩৪৫৬৭৮৯",
    "deva": "०१२३४५६७८९",
}
_NUMBER = re.compile(r"([#,]*0)(?:\.0+)?")


class NumberFormat:
    """The number conventions of one locale; `digits="latin"` keeps ASCII digits."""

    def __init__(self, language: str, digits: str = "native") -> None:
        from babel import Locale  # Babel is not needed for an English report

        self.language = language
        self.locale = Locale.parse(language)
        native = self.locale.default_numbering_system
        self.numbering = native if digits == "native" else "latn"
        table = NUMBERING_DIGITS.get(self.numbering)
        self._digits = str.maketrans("0123456789", table) if table else None

    def native(self, text: str) -> str:
        """`text` with its ASCII digits in the locale's own digits (ids included: a deal id
        reads in the digits of the rest of the line)."""
        return text.translate(self._digits) if self._digits else text

    def decimal(self, value: float, decimals: int = 0, group: bool = True) -> str:
        from babel.numbers import format_decimal

        if round(value, decimals) == 0:
            value = 0  # -0.0 reads like a loss
        pattern = ("#,##0" if group else "0") + ("." + "0" * decimals if decimals else "")
        return self.native(
            format_decimal(value, pattern, locale=self.locale, numbering_system=self.numbering)
        )

    def percent(self, ratio: float, decimals: int = 1) -> str:
        """A ratio as a percentage, the percent sign where the locale puts it (31,2 % in
        Spanish, 31.2% in English)."""
        from babel.numbers import format_percent

        if round(ratio * 100, decimals) == 0:
            ratio = 0
        pattern = _with_fraction(_standard(self.locale.percent_formats), decimals)
        text = format_percent(ratio, pattern, locale=self.locale, numbering_system=self.numbering)
        # Babel keeps the Latin % for every numbering system; CLDR has Persian its own ٪.
        sign = self.locale.number_symbols[self.numbering].get("percentSign", "%")
        return self.native(text.replace("%", sign))

    def currency(self, value: float, code: str, decimals: int = 0) -> str:
        """An amount with its currency symbol where the locale puts it (12.480 € in Spanish)."""
        from babel.numbers import format_currency

        if round(value, decimals) == 0:
            value = 0
        pattern = _with_fraction(_standard(self.locale.currency_formats), decimals)
        return self.native(
            format_currency(
                value,
                code,
                pattern,
                locale=self.locale,
                currency_digits=False,
                numbering_system=self.numbering,
            )
        )

    def date(self, value: date | datetime) -> str:
        """A date in the locale's medium form (31 oct 2026); a time of day is added when set."""
        from babel.dates import format_date, format_datetime

        if isinstance(value, datetime) and (value.hour or value.minute):
            return self.native(format_datetime(value, "medium", locale=self.locale))
        day = value.date() if isinstance(value, datetime) else value
        return self.native(format_date(day, "medium", locale=self.locale))

    def month(self, value: date) -> str:
        """A month as the locale abbreviates it with its year (jun 2025, июнь 2025 г.)."""
        from babel.dates import format_skeleton

        return self.native(format_skeleton("yMMM", value, locale=self.locale))


def _standard(formats: Any) -> str:
    pattern = formats.get("standard") or formats.get(None)
    return pattern.pattern


def _with_fraction(pattern: str, decimals: int) -> str:
    """The locale's pattern with `decimals` fraction digits (#,##0% -> #,##0.0%)."""
    fraction = "." + "0" * decimals if decimals else ""
    return _NUMBER.sub(lambda m: m.group(1) + fraction, pattern, count=1)
