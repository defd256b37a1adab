"""How a KPI value reads: 31.2% for a ratio, 12,480 for money, 4.5 d for days.

Shared by `explain`, whose arithmetic is written in words and numbers, and by every renderer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def format_value(value: Any, unit: str = "", currency: str | None = None) -> str:
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
    if value != value:  # NaN
        return "-"
    if value == 0:
        value = abs(value)  # -0.0 would print as "-0"
    if unit == "ratio":
        return _no_minus_zero(f"{value * 100:.1f}%")
    if unit == "multiple":
        return f"{value:,.1f}x"
    if unit in ("currency", "currency_per_day"):
        text = f"{value:,.0f}" if abs(value) >= 10 or value == 0 else f"{value:,.2f}"
        text = _no_minus_zero(text)
        text = f"{text} {currency}" if currency else text
        return f"{text}/d" if unit == "currency_per_day" else text
    if unit == "days":
        return f"{value:.1f} d"
    if unit == "minutes":
        return _duration_minutes(value)
    if unit == "months":
        return f"{value:.1f} mo"
    if unit == "score":
        return f"{value:.1f}"
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


# A duration in minutes reads in the largest unit that keeps it a small number: 81 min,
# 19.3 h (not 1,160 min), 501.7 d (not 722,404 min).
MINUTES_UP_TO = 120
HOURS_UP_TO = 48


def _duration_minutes(minutes: float) -> str:
    if abs(minutes) < MINUTES_UP_TO:
        return f"{minutes:,.0f} min"
    if abs(minutes) < HOURS_UP_TO * 60:
        return f"{minutes / 60:,.1f} h"
    return f"{minutes / 1440:,.1f} d"


def _no_minus_zero(text: str) -> str:
    """A value that rounds to zero shows as zero: "-0.0%" reads like a loss."""
    return text[1:] if text.startswith("-") and not any(ch in "123456789" for ch in text) else text
