"""Collected metric frames -> the model's values: one KpiValue per KPI, wide breakdown tables.

A KPI's frames arrive per grain (window, previous window, trend periods, per currency); this
module reads them into value, previous, change, trend and per-currency amounts, and never sums
amounts across currencies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from crmkpi.metrics.base import CURRENCY, PERIOD, VALUE, Grain, Metric
from crmkpi.reporting import periods
from crmkpi.reporting.layout import kpi_group
from crmkpi.reporting.model import Comparison, KpiValue

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.dataset import Dataset

CURRENCY_UNITS = ("currency", "currency_per_day")
CURRENCY_TABLES = ("deals", "spend", "subscriptions")


def value_window(
    metric: Metric, ds: Dataset, comparison: Comparison | None, end: datetime | None
) -> str:
    """What the headline value covers, said once per KPI: a state "as of" a day, or a sum or
    rate over the window ("all data" without one)."""
    windowed = comparison is not None and comparison.basis == "window"
    if metric.point_in_time:
        moment = end - timedelta(microseconds=1) if windowed and end else ds.data_as_of()
        return f"as of {moment:%Y-%m-%d}" if moment else ""
    if metric.headline_window == "latest month":
        moment = end - timedelta(microseconds=1) if windowed and end else ds.data_as_of()
        return f"{moment:%Y-%m} (latest month)" if moment else "latest month"
    if metric.headline_window:
        return metric.headline_window
    return comparison.current_name if windowed and comparison else "all data"


def first_row(metric: Metric, ds: Dataset) -> datetime | None:
    """When the data behind `metric` begins: the latest of its tables' first dated rows. A
    period that ends before it is blank, not zero: nothing was exported for it."""
    tables = [table for table, _ in metric.needs] or [
        t for t in ("deals", "subscriptions") if t in ds.frames
    ][:1]
    firsts = []
    for table in tables:
        frame = ds.frames.get(table)
        columns = [
            c
            for c in periods.DATE_COLUMNS.get(table, ())
            if frame is not None and c in frame.columns
        ]
        if frame is None or not columns or frame.height == 0:
            continue
        first = frame.select(pl.min_horizontal(pl.col(c).min() for c in columns)).item()
        if first is not None:
            firsts.append(first)
    return max(firsts) if firsts else None


def mixed_currencies(ds: Dataset, config: Config | None) -> dict[str, list[str]]:
    """Tables whose amounts are in more than one currency and no base currency to convert to
    (summing them would mean nothing)."""
    mixed: dict[str, list[str]] = {}
    if config is not None and config.base_currency:
        return mixed
    for table in CURRENCY_TABLES:
        frame = ds.frames.get(table)
        if frame is not None and "currency" in frame.columns:
            codes = sorted(frame["currency"].drop_nulls().unique().to_list())
            if len(codes) > 1:
                mixed[table] = codes
    return mixed


def single_currency(ds: Dataset, table: str) -> str | None:
    frame = ds.frames.get(table)
    if frame is None or "currency" not in frame.columns:
        return None
    codes = frame["currency"].drop_nulls().unique().to_list()
    return codes[0] if len(codes) == 1 else None


def per_currency(frame: pl.DataFrame) -> dict[str, float | None]:
    """A scalar-grain frame of a monetary KPI: one row per currency."""
    return {
        str(code): None if value is None else float(value)
        for code, value in frame.select(CURRENCY, VALUE).iter_rows()
        if code is not None
    }


def scalar(frame: pl.DataFrame | None, currency: str | None = None) -> float | None:
    """The one value of a scalar-grain frame (of `currency` when the frame is per currency)."""
    if frame is None or frame.height == 0:
        return None
    if CURRENCY in frame.columns:
        return per_currency(frame).get(currency or "")
    value = frame[VALUE][0]
    return None if value is None else float(value)


def relative_change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


def wide_table(frames: dict[str, pl.DataFrame], keys: list[str]) -> pl.DataFrame | None:
    """KPI frames sharing `keys` joined into one table: keys, then one column per KPI.

    A monetary KPI in one currency loses its currency column; in several it is left out (its
    values exist per currency only, and one column cannot hold them)."""
    joined: pl.DataFrame | None = None
    for kpi_id, frame in frames.items():
        per_currency = CURRENCY in frame.columns and CURRENCY not in keys
        if per_currency and frame[CURRENCY].drop_nulls().n_unique() > 1:
            continue
        part = frame.select([*keys, pl.col(VALUE).cast(pl.Float64).alias(kpi_id)])
        joined = (
            part
            if joined is None
            else joined.join(part, on=keys, how="full", coalesce=True, nulls_equal=True)
        )
    return None if joined is None else joined.sort(keys, nulls_last=True)


def kpi_value(
    metric: Metric,
    results: dict[tuple[str, str], pl.DataFrame],
    mixed: dict[str, list[str]],
    ds: Dataset,
    comparison: Comparison | None,
    starts: list[datetime],
    grain: Grain,
    end: datetime | None,
    config: Config | None,
) -> KpiValue:
    table = metric.needs[0][0] if metric.needs else ""
    kpi = KpiValue(
        metric.id,
        metric.label,
        metric.unit,
        None,
        direction=metric.direction,
        group=kpi_group(metric.needs),
        formula=metric.formula,
        point_in_time=metric.point_in_time,
        short_label=metric.short_label,
    )
    frame = results.get((metric.id, "value"))
    if frame is not None and CURRENCY in frame.columns:
        amounts = per_currency(frame)
        if len(amounts) == 1:
            kpi.currency = next(iter(amounts))
        elif amounts:
            kpi.by_currency = amounts
            kpi.reason = f"mixed currencies ({', '.join(amounts)}); see by_currency"
    elif metric.unit in CURRENCY_UNITS and table in mixed:
        kpi.reason = f"mixed currencies ({', '.join(mixed[table])}); see by_currency"
        by_currency = results.get((metric.id, "by_currency"))
        kpi.by_currency = None if by_currency is None else per_currency(by_currency)
    elif metric.unit in CURRENCY_UNITS:
        # Amounts converted to the base currency are in it, whatever the files held.
        base = config.base_currency if config is not None else None
        kpi.currency = base or single_currency(ds, table)
    kpi.window = value_window(metric, ds, comparison, end)
    if kpi.by_currency is not None or kpi.reason:
        return kpi  # no single value, so no change or trend either
    kpi.value = scalar(frame, kpi.currency)
    trend_frame = results.get((metric.id, "trend"))
    if trend_frame is not None:
        if CURRENCY in trend_frame.columns:
            trend_frame = trend_frame.filter(pl.col(CURRENCY) == kpi.currency)
        by_start = {
            row[0]: None if row[1] is None else float(row[1])
            for row in trend_frame.select(PERIOD, VALUE).iter_rows()
        }
        begins = first_row(metric, ds)
        kpi.trend = [
            (
                periods.period_label(s, grain),
                None
                if begins and periods.shift(s, str(grain.period), 1, grain.calendar) <= begins
                else by_start.get(s),
            )
            for s in starts
        ]
    if comparison is None:
        return kpi
    if comparison.basis == "window":
        kpi.latest = kpi.value
        kpi.previous = scalar(results.get((metric.id, "previous")), kpi.currency)
    elif kpi.trend:
        values = dict(zip(starts, (v for _, v in kpi.trend), strict=True))
        kpi.latest = values.get(comparison.current[0])
        kpi.previous = values.get(comparison.previous[0]) if comparison.previous else None
    kpi.change = relative_change(kpi.latest, kpi.previous)
    if kpi.latest is not None and kpi.previous is not None:
        kpi.delta = kpi.latest - kpi.previous
    return kpi


def same_values(kpi: KpiValue, other: KpiValue) -> bool:
    """Two KPIs that read the same everywhere the report shows them (a row said twice)."""
    fields = ("value", "latest", "previous", "trend", "by_currency")
    return all(getattr(kpi, f) == getattr(other, f) for f in fields)
