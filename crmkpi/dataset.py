"""The loaded data: canonical frames plus the account of every input file.

A Dataset is what importers hand to metrics. It is the only thing the two rooms share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from crmkpi.schema import TABLES

if TYPE_CHECKING:
    from crmkpi.config import Config

REJECTS_SCHEMA = {
    "file": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "action": pl.String,  # "rejected" (row dropped) or "flagged" (row kept, cell null)
}


@dataclass
class InputSummary:
    """What happened to one input file (or sheet): how it was read and where each row went."""

    path: str
    table: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    format: str = "csv"
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int = 1
    preset: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> header in the file
    cells_flagged: dict[str, int] = field(default_factory=dict)  # canonical column -> cells
    modified_at: float | None = None  # file mtime, for staleness alerts

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "table": self.table,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "format": self.format,
            "sheet": self.sheet,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "header_row": self.header_row,
            "preset": self.preset,
            "columns": self.columns,
            "cells_flagged": self.cells_flagged,
        }


@dataclass(frozen=True)
class StageModel:
    """Stage order and meaning: which stages win, which lose, and where `order` came from."""

    order: tuple[str, ...] = ()
    won: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()
    origin: str = "none"  # config, preset, history, inferred, none

    def rank(self) -> dict[str, int]:
        return {stage: i for i, stage in enumerate(self.order)}

    @property
    def open_order(self) -> tuple[str, ...]:
        """Stages in order, without the closing (won/lost) ones."""
        return tuple(s for s in self.order if s not in self.won and s not in self.lost)


@dataclass
class Dataset:
    """Canonical frames by table name, the per-file account, rejected rows and stage semantics."""

    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    inputs: list[InputSummary] = field(default_factory=list)
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECTS_SCHEMA))
    stages: StageModel = field(default_factory=StageModel)
    config: Config | None = None
    unused: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of folder files
    conflicts: list[str] = field(default_factory=list)  # ids with different rows across files
    # When the exports were taken (--as-of), for data that cannot say it; see data_as_of.
    as_of: datetime | None = None

    def data_as_of(self) -> datetime | None:
        """The moment "now" means for every KPI (ages, overdue deals, active subscriptions):
        `as_of` when given, else the latest recorded event of the exports, never
        the machine's clock, so the same files give the same report next year. Due dates
        (expected closes, scheduled activities, budgeted spend) are not events, and neither is
        a date after the moment the report runs (a typo such as 2091 for 2019, which the
        data-quality facts name): one bad cell must not move every age."""
        if self.as_of is not None:
            return self.as_of
        cached = self.__dict__.get("_data_as_of", False)
        if cached is not False:
            return cached
        running = running_epoch_us()
        latest = [
            moment
            for table, column in _event_columns(self)
            if (moment := _latest(self.frames[table], table, column, running)) is not None
        ]
        found = max(latest) if latest else None
        self.__dict__["_data_as_of"] = found
        return found

    def table(self, name: str) -> pl.LazyFrame | None:
        """The canonical table as a LazyFrame, or None when no input held it."""
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
        frame = self.frames.get(name)
        return None if frame is None else frame.lazy()

    def columns(self, name: str) -> list[str]:
        frame = self.frames.get(name)
        return [] if frame is None else frame.columns

    def has(self, name: str, *columns: str) -> bool:
        have = self.columns(name)
        return bool(have) and all(c in have for c in columns)

    @property
    def deals(self) -> pl.LazyFrame | None:
        return self.table("deals")

    @property
    def stage_history(self) -> pl.LazyFrame | None:
        return self.table("stage_history")

    @property
    def leads(self) -> pl.LazyFrame | None:
        return self.table("leads")

    @property
    def activities(self) -> pl.LazyFrame | None:
        return self.table("activities")

    @property
    def spend(self) -> pl.LazyFrame | None:
        return self.table("spend")

    @property
    def subscriptions(self) -> pl.LazyFrame | None:
        return self.table("subscriptions")

    @property
    def nps(self) -> pl.LazyFrame | None:
        return self.table("nps")


# The dates that record something that happened. Subscription ends can be scheduled (a
# cancellation at the term's end), so they count only where subscriptions are all there is.
_EVENT_DATES = {
    "deals": ("created_at", "closed_at"),
    "stage_history": ("entered_at",),
    "leads": ("created_at", "first_contact_at", "converted_at"),
    "subscriptions": ("start_at",),
    "nps": ("answered_at",),
}


def _event_columns(ds: Dataset) -> list[tuple[str, str]]:
    found = [(t, c) for t, columns in _EVENT_DATES.items() for c in columns if ds.has(t, c)]
    if all(t == "subscriptions" for t, _ in found) and ds.has("subscriptions", "end_at"):
        found.append(("subscriptions", "end_at"))
    return found


def running_epoch_us() -> int:
    """The moment the report runs, in microseconds since 1970 on the wall clock: no recorded
    event can lie after it."""
    return int((datetime.now() - datetime(1970, 1, 1)).total_seconds() * 1_000_000)


def _latest(frame: pl.DataFrame, table: str, column: str, running: int) -> datetime | None:
    past = frame[column].dt.epoch("us") <= running
    values = frame[column].filter(past)
    if table == "deals" and column == "closed_at" and "status" in frame.columns:
        # An open deal's close date is the one it is expected on.
        closed = frame["status"].cast(pl.String) != "open"
        values = frame[column].filter(closed & past)
    latest = values.max()
    return latest if isinstance(latest, datetime) else None
