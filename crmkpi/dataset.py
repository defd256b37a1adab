"""The loaded data: canonical frames plus the account of every input file.

A Dataset is what importers hand to metrics. It is the only thing the two rooms share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
