"""One headline value from a metric's frame: the shape the report's KpiValue is filled from.

A monetary metric without a base currency comes back with one row per currency; amounts in
different currencies are never added, so the headline then has no single value:

    {"value": 300.0, "currency": "EUR"}                       one currency (or converted)
    {"value": null, "by_currency": {"EUR": 100.0, "USD": 200.0},
     "reason": "amounts in several currencies: set [currency] base to convert them"}
    {"value": null, "reason": "no deal won or lost in the period"}   zero denominator
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from crmkpi.metrics.base import CURRENCY, VALUE

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.metrics.base import Metric

SEVERAL_CURRENCIES = "amounts in several currencies: set [currency] base to convert them"


@dataclass(frozen=True)
class Headline:
    value: float | None
    currency: str | None = None
    by_currency: dict[str, float | None] | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        for key in ("currency", "by_currency", "reason"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def headline(metric: Metric, frame: pl.DataFrame, config: Config | None = None) -> Headline:
    """The single value of an ungrouped result (the last period's when cut by period)."""
    if "period" in frame.columns and frame.height:
        frame = frame.filter(pl.col("period") == pl.col("period").max())
    base = config.base_currency if config else None
    if CURRENCY in frame.columns and frame.height > 1:
        by_currency = {
            str(row[CURRENCY]): _number(row[VALUE]) for row in frame.iter_rows(named=True)
        }
        return Headline(None, by_currency=by_currency, reason=SEVERAL_CURRENCIES)
    if frame.height == 0:
        return Headline(None, reason=metric.null_reason or "no data in the window")
    value = _number(frame[VALUE][0])
    currency = str(frame[CURRENCY][0]) if CURRENCY in frame.columns else None
    if metric.unit in ("currency", "currency_per_day") and currency is None:
        currency = base
    reason = (metric.null_reason or "no data in the window") if value is None else None
    return Headline(value, currency=currency, reason=reason)
