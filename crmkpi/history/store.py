"""The SQLite store of past runs: KPI values (team and per owner) keyed by run time and window.

Point-in-time KPIs (open pipeline, stuck deals) cannot be rebuilt from an old export, so saving
each scheduled run is the only way to show how they moved. Two cron jobs may save at the same
moment: WAL mode, a busy timeout and one IMMEDIATE transaction per save keep both runs whole.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from crmkpi.errors import HistoryError

if TYPE_CHECKING:
    from crmkpi.reporting.model import Report

APPLICATION_ID = 0x63726B70  # "crkp": marks the file as ours
SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 30.0
_READ_ONLY_HINT = "make it writable, point [history] path elsewhere, or run without --save"
TEAM = ""  # the owner key of team-level values

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_at TEXT NOT NULL,          -- UTC, ISO 8601, sorts as text
    window_since TEXT NOT NULL,    -- '' when the report had no lower bound
    window_until TEXT NOT NULL,    -- '' when the report had no upper bound
    title TEXT,
    crmkpi_version TEXT,
    inputs TEXT NOT NULL           -- JSON list of input paths
);
CREATE INDEX runs_by_window ON runs (window_since, window_until, run_at);
CREATE TABLE kpi_values (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kpi TEXT NOT NULL,
    owner TEXT NOT NULL,           -- '' for the team-level value
    value REAL,
    PRIMARY KEY (run_id, kpi, owner)
);
"""
_COLUMNS = {
    "runs": {"id", "run_at", "window_since", "window_until", "title", "crmkpi_version", "inputs"},
    "kpi_values": {"run_id", "kpi", "owner", "value"},
}


@dataclass(frozen=True)
class Run:
    id: int
    run_at: datetime
    since: str
    until: str


@dataclass(frozen=True)
class Point:
    """One stored value of a KPI: when it was saved, over which window, and the value."""

    run_at: datetime
    since: str
    until: str
    value: float | None


def _window_key(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_CANNOT_WRITE = ("readonly", "read-only", "disk is full", "unable to open", "disk I/O error")


class HistoryStore:
    """A connection to the history file; use as a context manager."""

    def __init__(self, path: str | Path, create: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise HistoryError("no history saved yet", path=str(self.path), hint="run with --save")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HistoryError(
                    f"cannot create the history store's folder: {exc.strerror}",
                    path=str(self.path), hint=_READ_ONLY_HINT,
                ) from exc  # fmt: skip
        try:
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError(
                f"cannot open the history store: {exc}", path=str(self.path)
            ) from exc
        try:
            self._prepare(create)
        except BaseException:
            self.db.close()
            raise

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _fail(self, exc: sqlite3.Error) -> HistoryError:
        text = str(exc)
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN) or "readonly" in text:
            # a read-only file or folder is not damage: nothing should be moved away
            return HistoryError(
                f"the history store cannot be written ({text}); this run was not recorded",
                path=str(self.path),
                hint=_READ_ONLY_HINT,
            )
        if "locked" in text or "busy" in text:
            return HistoryError(
                f"the history store stayed locked for {BUSY_TIMEOUT_SECONDS:g} s",
                path=str(self.path),
                hint="another crmkpi run is writing; try again",
            )
        if any(word in text for word in _CANNOT_WRITE):
            # The file may be fine: the folder, the filesystem or the disk is not.
            return HistoryError(
                f"cannot write the history store: {text}",
                path=str(self.path),
                hint="check the permissions and free space where it lives",
            )
        return HistoryError(
            f"damaged history store: {text}",
            path=str(self.path),
            hint="move the file away to start a new history",
        )

    def _prepare(self, create: bool) -> None:
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            self.db.execute("PRAGMA foreign_keys = ON")
            app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
            if app_id == APPLICATION_ID:
                self._check_schema()
                return
            if not create:
                self._reject_foreign(app_id)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have created the schema while this one waited.
                app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
                if app_id != APPLICATION_ID:
                    self._reject_foreign(app_id)
                    self._create_schema()
                self.db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._check_schema()
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it does on some errors)."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _create_schema(self) -> None:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self.db.execute(statement)
        self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _reject_foreign(self, app_id: int) -> None:
        tables = self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        if app_id != 0 or tables:
            raise HistoryError(
                "not a crmkpi history store (an SQLite file with other tables)",
                path=str(self.path),
                hint="point [history] path at a new file",
            )

    def _check_schema(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"history store has schema version {version}; this crmkpi reads {SCHEMA_VERSION}",
                path=str(self.path),
                hint="upgrade crmkpi",
            )
        for table, expected in _COLUMNS.items():
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if not expected <= have:
                raise HistoryError(
                    f"history store has the wrong schema: table {table} lacks "
                    f"{', '.join(sorted(expected - have))}",
                    path=str(self.path),
                    hint="move the file away to start a new history",
                )

    def save_report(
        self, report: Report, by_owner: dict[str, dict[str, float | None]] | None = None
    ) -> int:
        """Record every KPI value of `report`, and each owner's values when given."""
        values = [(k, TEAM, v.value) for k, v in report.kpis.items() if v.value is not None]
        for owner, kpis in sorted((by_owner or {}).items()):
            values += [(k, owner, v) for k, v in sorted(kpis.items()) if v is not None]
        since, until = report.window
        return self.save(
            report.generated_at,
            since,
            until,
            values,
            title=report.title,
            version=report.version,
            inputs=[i.path for i in report.inputs],
        )

    def save(
        self,
        run_at: datetime,
        since: datetime | None,
        until: datetime | None,
        values: list[tuple[str, str, float | None]],
        *,
        title: str | None = None,
        version: str | None = None,
        inputs: list[str] | None = None,
    ) -> int:
        """One run and its values, in one transaction: all of it is stored or none."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self.db.execute(
                    "INSERT INTO runs (run_at, window_since, window_until, title, crmkpi_version,"
                    " inputs) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        _utc_text(run_at),
                        _window_key(since),
                        _window_key(until),
                        title,
                        version,
                        json.dumps(inputs or [], ensure_ascii=False),
                    ),
                )
                run_id = int(cursor.lastrowid or 0)
                self.db.executemany(
                    "INSERT OR REPLACE INTO kpi_values (run_id, kpi, owner, value)"
                    " VALUES (?, ?, ?, ?)",
                    [(run_id, kpi, owner, value) for kpi, owner, value in values],
                )
                self.db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc
        return run_id

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def previous_run(
        self, window: tuple[datetime | None, datetime | None], before: datetime
    ) -> Run | None:
        """The latest run saved before `before` over the same window; failing that, over a
        window of the same kind (both bounded, open-ended, or all data), since a scheduled
        job moves its dates each run and still wants "open pipeline since last time"."""
        since, until = _window_key(window[0]), _window_key(window[1])
        same = (
            "window_since = ? AND window_until = ?",
            (since, until),
        )
        kind = (
            "(window_since = '') = ? AND (window_until = '') = ?",
            (since == "", until == ""),
        )
        for condition, params in (same, kind):
            rows = self._query(
                "SELECT id, run_at, window_since, window_until FROM runs"
                f" WHERE {condition} AND run_at < ? ORDER BY run_at DESC, id DESC LIMIT 1",
                (*params, _utc_text(before)),
            )
            if rows:
                run_id, run_at, run_since, run_until = rows[0]
                return Run(
                    int(run_id), datetime.fromisoformat(str(run_at)), str(run_since), str(run_until)
                )
        return None

    def run_values(self, run_id: int) -> dict[tuple[str, str], float | None]:
        rows = self._query("SELECT kpi, owner, value FROM kpi_values WHERE run_id = ?", (run_id,))
        return {(str(k), str(o)): _float(v) for k, o, v in rows}

    def series(self, kpi: str, owner: str = TEAM) -> list[Point]:
        """Every stored value of one KPI (for one owner, or the team), oldest first."""
        rows = self._query(
            "SELECT r.run_at, r.window_since, r.window_until, v.value FROM kpi_values v"
            " JOIN runs r ON r.id = v.run_id WHERE v.kpi = ? AND v.owner = ?"
            " ORDER BY r.run_at, r.id",
            (kpi, owner),
        )
        return [
            Point(datetime.fromisoformat(str(t)), str(s), str(u), _float(v)) for t, s, u, v in rows
        ]

    def kpis(self) -> list[tuple[str, int]]:
        """Each KPI with team-level values stored, and how many runs hold it."""
        rows = self._query(
            "SELECT kpi, COUNT(*) FROM kpi_values WHERE owner = '' GROUP BY kpi ORDER BY kpi"
        )
        return [(str(k), int(str(n))) for k, n in rows]

    def owners(self, kpi: str) -> list[str]:
        rows = self._query(
            "SELECT DISTINCT owner FROM kpi_values WHERE kpi = ? AND owner != '' ORDER BY owner",
            (kpi,),
        )
        return [str(r[0]) for r in rows]

    def run_count(self) -> int:
        return int(str(self._query("SELECT COUNT(*) FROM runs")[0][0]))


def _float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None
