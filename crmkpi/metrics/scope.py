"""What a KPI is computed over, from the user's options: the grain (breakdown, period, window),
the rows a --where filter keeps, and the moment the data is read at. The API, `explain` and the
row listing share these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from crmkpi.config import CALENDARS, Config
from crmkpi.errors import UsageError
from crmkpi.metrics.base import PERIODS, Grain
from crmkpi.metrics.filters import Filter, parse_where

if TYPE_CHECKING:
    from crmkpi.dataset import Dataset

When = date | datetime | str | None


def make_grain(
    ds: Dataset,
    *,
    by: str | Sequence[str] = (),
    period: str | None = None,
    since: When = None,
    until: When = None,
) -> Grain:
    """A Grain from user options, with week start and fiscal year from the dataset's config."""
    if period is not None and period not in PERIODS:
        raise UsageError(f"unknown period {period!r}", hint=f"use one of {', '.join(PERIODS)}")
    start, end = to_datetime(since, "since"), to_datetime(until, "until")
    if start is not None and end is not None and start >= end:
        raise UsageError(f"since {start:%Y-%m-%d} is not before until {end:%Y-%m-%d}")
    config = ds.config
    return Grain(
        by=split_names(by),
        period=period,
        since=start,
        until=end,
        week_start=config.week_start if config else "monday",
        fiscal_year_start_month=config.fiscal_year_start_month if config else 1,
        calendar=config.calendar if config else "gregorian",
    )


def filtered(ds: Dataset, where: str | Filter | None, own_tables: Sequence[str]) -> Dataset:
    """`ds` with the --where filter applied to `own_tables` (which must have its columns) and
    to every other table that has all the columns it names."""
    if where is None or (isinstance(where, str) and not where.strip()):
        return ds
    flt = where if isinstance(where, Filter) else parse_where(where)
    frames = dict(ds.frames)
    for name, frame in ds.frames.items():
        if name in own_tables or flt.applies_to(frame.columns):
            frames[name] = frame.filter(flt.to_expr(frame.schema, table=name))
            if name in own_tables and frame.height and not frames[name].height:
                raise UsageError(f"no {name} row matches --where {flt.text!r}")
    # The filtered rows were exported at the same moment as the others.
    return replace(ds, frames=frames, as_of=ds.data_as_of())


def at_moment(ds: Dataset, as_of: When) -> Dataset:
    """`ds` read as of `as_of` (a date is its midnight), or unchanged when none is given."""
    moment = to_datetime(as_of, "as_of")
    return ds if moment is None else replace(ds, as_of=moment)


def in_calendar(ds: Dataset, calendar: str | None) -> Dataset:
    """`ds` whose periods are cut in `calendar` (--calendar), or unchanged when none is given."""
    if calendar is None:
        return ds
    if calendar not in CALENDARS:
        raise UsageError(
            f"unknown calendar {calendar!r}", hint=f"use one of {', '.join(CALENDARS)}"
        )
    return replace(ds, config=(ds.config or Config()).with_calendar(calendar))


def split_names(names: str | Sequence[str] | None) -> tuple[str, ...]:
    """ "owner,source" or ["owner", "source"] -> ("owner", "source")."""
    if not names:
        return ()
    parts = names.split(",") if isinstance(names, str) else list(names)
    return tuple(p.strip() for p in parts if p and p.strip())


def to_datetime(value: When, option: str) -> datetime | None:
    """A date, datetime or ISO string as a datetime (midnight for a date)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise UsageError(f"{option} {value!r} is not a date", hint="use YYYY-MM-DD") from exc
