"""Named frames: what `metric`, `query`, `tables` and `explain --rows` return beside the Report.

Every format module renders both: `render(report)` and `render_frames(frames)`. A frame's cells
are shown as a SQL client would (no thousands separators in a column without a unit), and in
their report unit where the command knows one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl

from crmkpi.reporting.format import format_period, format_value


@dataclass(frozen=True)
class NamedFrame:
    """A named frame; `units` maps columns to report units (ratio, currency...) for display."""

    name: str
    frame: pl.DataFrame
    units: dict[str, str] = field(default_factory=dict)
    title: str | None = None


def iso_text(value: datetime | date | time | timedelta) -> str:
    """A date as ISO text, midnight datetimes as the date alone; a duration in seconds."""
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    if isinstance(value, datetime) and value.time() == time(0) and value.tzinfo is None:
        return value.date().isoformat()
    return value.isoformat()


def display_text(value: Any, unit: str) -> str:
    """A frame cell for people: in its unit when it has one, else as it is."""
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if unit == "":
        # A column without a unit (SQL results, ids, years) is shown as it is, like a SQL
        # client would: no thousands separators that turn 2025 into "2,025".
        if value is None:
            return "-"
        if isinstance(value, datetime | date | time | timedelta):
            return iso_text(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:.6f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
        return str(value)
    return format_value(value, unit)


def with_period_labels(
    frame: pl.DataFrame, period: str, column: str = "period", calendar: str = "gregorian"
) -> pl.DataFrame:
    """The period column labelled as the report labels it (2017-Q1, 2017-03; Jalali seasons
    and months), so a period reads the same in `metric` as in the report."""
    if column not in frame.columns:
        return frame
    labels = [format_period(start, period, calendar) for start in frame[column].to_list()]
    return frame.with_columns(pl.Series(column, labels, dtype=pl.String))
