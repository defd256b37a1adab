"""Business minutes between two timestamps: working hours, working days, public holidays.

Configured in crmkpi.toml under [leads.working_hours]:
    start = "09:00"  end = "18:00"  days = ["mon", "tue", "wed", "thu", "fri"]
    timezone = "Europe/Athens"  holidays = "GR"  (country code of the `holidays` package)
    subdivision = "..."  (optional region of that country)
    data_timezone = "UTC"  (optional: the zone the timestamps are written in; default: `timezone`)

Vectorised: minutes(t) = business days before t's day x minutes per day + minutes of t's own day
inside the hours (when that day is a working day); the difference of two such counts is the
business time between them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from crmkpi.errors import ConfigError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EPOCH = date(1970, 1, 1)
HOLIDAY_YEARS = range(2000, 2041)


def _minutes_of(text: Any, key: str) -> int:
    try:
        hours, minutes = str(text).split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError as exc:
        raise ConfigError(f"leads.working_hours.{key} must be HH:MM, got {text!r}") from exc
    if not 0 <= value <= 24 * 60:
        raise ConfigError(f"leads.working_hours.{key} must be within the day, got {text!r}")
    return value


class WorkingTime:
    """Parsed [leads.working_hours]; `minutes_between` builds the expression."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.start = _minutes_of(spec.get("start", "09:00"), "start")
        self.end = _minutes_of(spec.get("end", "17:00"), "end")
        if self.end <= self.start:
            raise ConfigError("leads.working_hours.end must be after start")
        days = [str(d).lower()[:3] for d in spec.get("days", _DAYS[:5])]
        unknown = [d for d in days if d not in _DAYS]
        if unknown:
            raise ConfigError(f"leads.working_hours.days: unknown day {unknown[0]!r}",
                              hint="mon, tue, wed, thu, fri, sat, sun")  # fmt: skip
        self.week_mask = [d in days for d in _DAYS]
        self.timezone = spec.get("timezone")
        self.data_timezone = spec.get("data_timezone")
        self.country = spec.get("holidays")
        self.subdivision = spec.get("subdivision")
        self.holidays = self._holidays()

    def _holidays(self) -> list[date]:
        if not self.country:
            return []
        import holidays

        try:
            found = holidays.country_holidays(
                str(self.country), subdiv=self.subdivision, years=HOLIDAY_YEARS
            )
        except NotImplementedError as exc:
            raise ConfigError(
                f"leads.working_hours.holidays: no holiday calendar for {self.country!r}",
                hint="an ISO 3166 country code such as GR, ES, IR, RU, US",
            ) from exc
        return sorted(found)

    def describe(self) -> str:
        days = ",".join(d for d, on in zip(_DAYS, self.week_mask, strict=True) if on)
        hours = (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )
        where = f" {self.timezone}" if self.timezone else ""
        hol = f", {self.country} holidays" if self.country else ""
        return f"{days} {hours}{where}{hol}"

    def _local(self, t: pl.Expr) -> pl.Expr:
        if self.data_timezone and self.timezone and self.data_timezone != self.timezone:
            return (
                t.dt.replace_time_zone(self.data_timezone)
                .dt.convert_time_zone(self.timezone)
                .dt.replace_time_zone(None)
            )
        return t

    def _count(self, t: pl.Expr) -> pl.Expr:
        """Business minutes from the epoch to `t`."""
        local = self._local(t)
        day = local.dt.date()
        full_days = pl.business_day_count(
            pl.lit(_EPOCH), day, week_mask=self.week_mask, holidays=self.holidays
        )
        minute = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
        minute = minute + local.dt.second().cast(pl.Int32) / 60
        inside = (minute.clip(self.start, self.end) - self.start).cast(pl.Float64)
        working = day.dt.is_business_day(week_mask=self.week_mask, holidays=self.holidays)
        per_day = self.end - self.start
        return full_days.cast(pl.Float64) * per_day + pl.when(working).then(inside).otherwise(0.0)

    def minutes_between(self, start: pl.Expr, end: pl.Expr) -> pl.Expr:
        return self._count(end) - self._count(start)
