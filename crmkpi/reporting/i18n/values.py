"""A KPI value in the reader's locale: the same rules as crmkpi.metrics.value_text (31.2% for
a ratio, whole amounts of money, 4.5 d for days), with the locale's separators, percent and
currency patterns and digits, and the unit words of its catalog."""

from __future__ import annotations

from datetime import date
from typing import Any

from crmkpi.reporting.i18n.active import t
from crmkpi.reporting.i18n.numbers import NumberFormat

# Units shown after the number, as message templates ("{value} d" -> "{value} дн.").
UNIT_TEMPLATES = {
    "days": ("{value} d", 1),
    "minutes": ("{value} min", 0),
    "months": ("{value} mo", 1),
    "multiple": ("{value}x", 1),
}


def value_text(
    numbers: NumberFormat, value: Any, unit: str = "", currency: str | None = None
) -> str:
    if value is None:
        return "-"
    if isinstance(value, date):
        return numbers.date(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value != value:  # NaN
        return "-"
    if unit == "ratio":
        return numbers.percent(value, 1)
    if unit in UNIT_TEMPLATES:
        template, decimals = UNIT_TEMPLATES[unit]
        return t(template, "unit", value=numbers.decimal(value, decimals))
    if unit in ("currency", "currency_per_day"):
        decimals = 0 if abs(value) >= 10 or value == 0 else 2
        text = (
            numbers.currency(value, currency, decimals)
            if currency
            else numbers.decimal(value, decimals)
        )
        return t("{amount}/d", "unit", amount=text) if unit == "currency_per_day" else text
    if unit == "score":
        return numbers.decimal(value, 1)
    if isinstance(value, int) or float(value).is_integer():
        return numbers.decimal(value, 0)
    return numbers.decimal(value, 2)
