"""The report's calendar: the data's span, the default period, the comparison and trend periods.

KPI values cover the window (or all the data); `change` compares them with the window before, or,
without a window, compares the last complete period with the one before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.errors import UsageError
from crmkpi.metrics import calendars
from crmkpi.metrics.base import Grain, period_start
from crmkpi.metrics.calendars import period_shift
from crmkpi.reporting.model import Comparison

TREND_PERIODS = 12
# Every canonical date column that says when something happened (not when it is due).
DATE_COLUMNS = {
    "deals": ("created_at", "closed_at"),
    "stage_history": ("entered_at",),
    "leads": ("created_at",),
    "activities": ("at",),
    "spend": ("date",),
    "subscriptions": ("start_at",),
    "nps": ("answered_at",),
}
_MICRO = timedelta(microseconds=1)
# Windows, trends and comparisons are placed in this range: a dozen periods either side of a
# date must still be a date Python holds. A date outside it (9999-12-31, 0001-01-01: "never"
# and "unknown" placeholders) stays in the data, counted by the quality facts, but does not
# stretch the report's window to the edge of the calendar.
REPORTABLE = (datetime(1000, 1, 1), datetime(9000, 1, 1))


def table_spans(ds: Dataset) -> dict[str, tuple[datetime, datetime]]:
    """Each dated table's first and last date (due dates included), so the report can say
    which tables reach before or beyond the span its header shows."""
    spans: dict[str, tuple[datetime, datetime]] = {}
    for table, columns in DATE_COLUMNS.items():
        frame = ds.frames.get(table)
        present = [c for c in columns if frame is not None and c in frame.columns]
        if frame is None or frame.height == 0 or not present:
            continue
        usable = [
            pl.col(c).filter(pl.col(c).is_between(*REPORTABLE, closed="left")) for c in present
        ]
        low, high = frame.select(
            pl.min_horizontal([c.min() for c in usable]).alias("lo"),
            pl.max_horizontal([c.max() for c in usable]).alias("hi"),
        ).row(0)
        if low is not None:
            spans[table] = (low, high)
    return spans


def data_span(
    ds: Dataset, spans: dict[str, tuple[datetime, datetime]] | None = None
) -> tuple[datetime | None, datetime | None]:
    """The earliest and latest event dates in any canonical table, the latest no later than
    the data's as-of moment. `spans`: the tables' own (`table_spans`), when already taken."""
    spans = table_spans(ds) if spans is None else spans
    if not spans:
        return (None, None)
    low = min(first for first, _ in spans.values())
    highest = max(last for _, last in spans.values())
    # Dates after the as-of moment are due, not past (scheduled activities, budgeted spend).
    as_of = ds.data_as_of()
    high = highest if as_of is None else min(highest, as_of)
    return (low, max(high, low))


def check_reportable(moment: datetime | None, option: str) -> None:
    """A window bound outside REPORTABLE is refused with the range, not an OverflowError."""
    low, high = REPORTABLE
    if moment is not None and not low <= moment.replace(tzinfo=None) < high:
        raise UsageError(
            f"{option} {moment.date().isoformat()} is outside the dates a report can hold",
            hint=f"use a date from {low:%Y-%m-%d} to before {high:%Y-%m-%d}",
        )


def check_within_span(
    since: datetime | None, until: datetime | None, span: tuple[datetime | None, datetime | None]
) -> None:
    """A window that misses the data entirely is refused with the data's span: a report of
    nothing, with a period that ends before it starts, would read as a real one."""
    first, last = span
    if first is None or last is None:
        return
    spans = f"the data runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    if since is not None and since.replace(tzinfo=None) > last:
        raise UsageError(f"--since {since:%Y-%m-%d} is after the end of the data: {spans}")
    if until is not None and until.replace(tzinfo=None) <= first:
        raise UsageError(f"--until {until:%Y-%m-%d} is before the start of the data: {spans}")


def default_period(since: datetime | None, until: datetime | None) -> str:
    """A period that gives a readable trend for the span: days for weeks, months for years."""
    if since is None or until is None:
        return "month"
    days = (until - since).days
    if days <= 31:
        return "day"
    if days <= 150:
        return "week"
    if days <= 3 * 366:
        return "month"
    return "quarter"


def floor(moment: datetime, grain: Grain) -> datetime:
    """The start of the period holding `moment` (same rules as the metrics' period column)."""
    return pl.select(period_start(pl.lit(moment, dtype=pl.Datetime("us")), grain)).item()


# Every KPI's trend asks for the same dozen period ends, and each answer costs a Polars call
# (2 ms): 300 of them were a tenth of the report's build at a million deals.
@lru_cache(maxsize=1024)
def shift(moment: datetime, period: str, count: int, calendar: str = "gregorian") -> datetime:
    """`moment` moved by `count` periods (calendar-aware for months, quarters and years)."""
    moved = period_shift(pl.lit(moment, dtype=pl.Datetime("us")), period, count, calendar)
    return pl.select(moved).item()


def period_label(start: datetime, grain: Grain) -> str:
    """A short label for the period starting at `start`, in the grain's calendar."""
    assert grain.period is not None
    return calendars.period_label(
        start, grain.period, grain.calendar, grain.fiscal_year_start_month
    )


def human_range(since: datetime, until: datetime) -> str:
    """[since, until) as a person says it: 'May 2025', '2025-05-03 .. 2025-05-09'."""
    last = until - _MICRO
    if since.day == 1 and until.day == 1 and _is_midnight(since) and _is_midnight(until):
        months = (until.year - since.year) * 12 + until.month - since.month
        if months == 1:
            return since.strftime("%b %Y")
        if months > 1:
            return f"{since.strftime('%b %Y')} .. {last.strftime('%b %Y')}"
    if since.date() == last.date():
        return since.strftime("%Y-%m-%d")
    return f"{since.strftime('%Y-%m-%d')} .. {last.strftime('%Y-%m-%d')}"


def _is_midnight(moment: datetime) -> bool:
    return moment.hour == moment.minute == moment.second == moment.microsecond == 0


def previous_window(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The window of equal length just before [since, until); whole months stay whole months."""
    if since.day == 1 and until.day == 1 and _is_midnight(since) and _is_midnight(until):
        months = (until.year - since.year) * 12 + until.month - since.month
        if months > 0:
            return shift(since, "month", -months), since
    return since - (until - since), since


def end_of_data(last: datetime) -> datetime:
    """The exclusive end of a window that holds `last`: the following midnight."""
    return datetime.combine(last.date(), datetime.min.time()) + timedelta(days=1)


def trend_starts(end: datetime, grain: Grain, count: int = TREND_PERIODS) -> list[datetime]:
    """The starts of the `count` periods up to the one holding the moment before `end`."""
    assert grain.period is not None
    last = floor(end - _MICRO, grain)
    return [shift(last, grain.period, -i, grain.calendar) for i in range(count - 1, -1, -1)]


def last_period_partial(starts: list[datetime], grain: Grain, end: datetime | None) -> bool:
    """Whether the data or window stops inside the trend's last period (a half-month's dip is
    not a fall, so renderers say so)."""
    assert grain.period is not None
    return (
        bool(starts)
        and end is not None
        and shift(starts[-1], grain.period, 1, grain.calendar) > end
    )


def window_comparison(since: datetime, until: datetime) -> Comparison:
    previous = previous_window(since, until)
    return Comparison(
        current=(since, until),
        previous=previous,
        label=f"vs {human_range(*previous)}",
        current_name=human_range(since, until),
        previous_name=human_range(*previous),
        basis="window",
    )


def period_comparison(starts: list[datetime], data_last: datetime, grain: Grain) -> Comparison:
    """The last complete period against the one before; a period is complete when the data
    reaches its final day (exports are taken mid-month, and half a month is no comparison)."""
    assert grain.period is not None
    ends = [shift(s, grain.period, 1, grain.calendar) for s in starts]
    index = len(starts) - 1
    if data_last < ends[index] - timedelta(days=1) and index > 0:
        index -= 1
    current = (starts[index], ends[index])
    previous = (starts[index - 1], ends[index - 1]) if index > 0 else None
    label = (
        f"{period_label(current[0], grain)} vs {period_label(previous[0], grain)}"
        if previous
        else period_label(current[0], grain)
    )
    return Comparison(
        current=current,
        previous=previous,
        label=label,
        basis="period",
        current_name=period_label(current[0], grain),
        previous_name=period_label(previous[0], grain) if previous else "",
    )
