"""Formatting numbers by unit, shared by the text renderers (terminal, markdown, html)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def format_value(value: Any, unit: str = "") -> str:
    """A value as a person reads it: 31.2% for ratios, 12,480 for currency, 4.5 d for days."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M")
            if (value.hour or value.minute)
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit in ("currency", "currency_per_day"):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if unit == "days":
        return f"{value:.1f} d"
    if unit == "minutes":
        return f"{value:.0f} min"
    if unit == "months":
        return f"{value:.1f} mo"
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"
