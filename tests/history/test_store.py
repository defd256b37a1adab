"""The SQLite history store: round trips, previous-run lookup, damaged files, two writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from crmkpi.errors import HistoryError
from crmkpi.history.store import HistoryStore

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
JAN = (datetime(2025, 1, 1), datetime(2025, 2, 1))


def test_save_and_read_back(tmp_path):
    path = tmp_path / "deep" / "history.sqlite"
    with HistoryStore(path, create=True) as store:
        first = store.save(T0, None, None, [("deals_open", "", 4.0), ("deals_open", "Ana", 3.0)])
        store.save(T0 + timedelta(days=7), None, None, [("deals_open", "", 6.0)])
    with HistoryStore(path) as store:
        assert [p.value for p in store.series("deals_open")] == [4.0, 6.0]
        assert [p.value for p in store.series("deals_open", "Ana")] == [3.0]
        assert store.run_values(first) == {("deals_open", ""): 4.0, ("deals_open", "Ana"): 3.0}
        assert store.kpis() == [("deals_open", 2)]
        assert store.owners("deals_open") == ["Ana"]
        assert store.series("deals_open")[1].run_at == T0 + timedelta(days=7)


def test_previous_run_is_the_latest_before_over_the_same_window(tmp_path):
    path = tmp_path / "h.sqlite"
    with HistoryStore(path, create=True) as store:
        a = store.save(T0, *JAN, [("deals_open", "", 1.0)])
        b = store.save(T0 + timedelta(days=1), *JAN, [("deals_open", "", 2.0)])
        store.save(T0 + timedelta(days=2), None, None, [("deals_open", "", 3.0)])  # other window
        store.save(T0 + timedelta(days=3), *JAN, [("deals_open", "", 4.0)])  # after "now"
        now = T0 + timedelta(days=2, hours=12)
        assert store.previous_run(JAN, before=now).id == b
        assert store.previous_run(JAN, before=T0 + timedelta(hours=1)).id == a
        assert store.previous_run(JAN, before=T0) is None
        assert store.previous_run((None, None), before=now).id == b + 1
        # A local-time moment is compared in UTC: 10:30 at +02:00 is 08:30 UTC, after a.
        local = datetime(2025, 5, 1, 10, 30, tzinfo=timezone(timedelta(hours=2)))
        assert store.previous_run(JAN, before=local).id == a


def test_reading_a_missing_store_says_so(tmp_path):
    with pytest.raises(HistoryError, match="no history saved yet"):
        HistoryStore(tmp_path / "none.sqlite")


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is a spreadsheet, honestly\n" * 100)
    for create in (False, True):
        with pytest.raises(HistoryError, match="damaged history store: file is not a database"):
            HistoryStore(path, create=create)
    assert path.read_bytes().startswith(b"this is a spreadsheet")  # left untouched


def test_another_programs_database_is_not_taken_over(tmp_path):
    path = tmp_path / "h.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(HistoryError, match="not a crmkpi history store"):
        HistoryStore(path, create=True)
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master")]
    assert tables == ["invoices"]


def test_wrong_schema_and_newer_version(tmp_path):
    path = tmp_path / "h.sqlite"
    HistoryStore(path, create=True).close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE kpi_values RENAME COLUMN value TO amount")
    with pytest.raises(HistoryError, match="wrong schema: table kpi_values lacks value"):
        HistoryStore(path)
    other = tmp_path / "newer.sqlite"
    HistoryStore(other, create=True).close()
    with sqlite3.connect(other) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="schema version 99"):
        HistoryStore(other)


def test_a_failed_save_leaves_nothing_behind(tmp_path):
    path = tmp_path / "h.sqlite"
    with HistoryStore(path, create=True) as store:
        store.save(T0, None, None, [("win_rate", "", 0.5)])
        with pytest.raises(HistoryError):
            # a value that is a list cannot be bound: the insert fails half-way
            bad: list = [("deals_won", "", 1.0), ("x", "", [1])]
            store.save(T0, None, None, bad)
        assert store.run_count() == 1
        assert store.kpis() == [("win_rate", 1)]


RUNS_PER_WRITER = 30


def _writer(path: str, name: str, start: multiprocessing.synchronize.Event) -> None:
    start.wait()
    for i in range(RUNS_PER_WRITER):
        with HistoryStore(Path(path), create=True) as store:
            values = [("deals_open", "", float(i))]
            values += [(f"kpi_{k}", name, float(i * 100 + k)) for k in range(20)]
            store.save(T0 + timedelta(seconds=i), None, None, values, title=name)


def test_two_processes_saving_at_once_lose_nothing(tmp_path):
    path = tmp_path / "shared" / "history.sqlite"
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    writers = [ctx.Process(target=_writer, args=(str(path), n, start)) for n in ("a", "b")]
    for w in writers:
        w.start()
    start.set()  # both create the store and write from the same moment
    for w in writers:
        w.join(60)
    assert [w.exitcode for w in writers] == [0, 0]
    with HistoryStore(path) as store:
        assert store.run_count() == 2 * RUNS_PER_WRITER
        for name in ("a", "b"):
            for k in (0, 19):
                got = [p.value for p in store.series(f"kpi_{k}", name)]
                assert got == [float(i * 100 + k) for i in range(RUNS_PER_WRITER)]
        assert sorted(p.value for p in store.series("deals_open")) == sorted(
            [float(i) for i in range(RUNS_PER_WRITER)] * 2
        )
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_store_locked_beyond_the_busy_timeout_is_reported(tmp_path, monkeypatch):
    import crmkpi.history.store

    path = tmp_path / "h.sqlite"
    HistoryStore(path, create=True).close()
    monkeypatch.setattr(crmkpi.history.store, "BUSY_TIMEOUT_SECONDS", 0.1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer that does not let go
    try:
        with HistoryStore(path) as store, pytest.raises(HistoryError, match="stayed locked"):
            store.save(T0, None, None, [("win_rate", "", 0.5)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with HistoryStore(path) as store:  # once released, the store is whole and writable
        store.save(T0, None, None, [("win_rate", "", 0.5)])
        assert store.run_count() == 1


def test_a_moving_window_falls_back_to_the_last_run_of_the_same_kind(tmp_path):
    feb = (datetime(2025, 2, 1), datetime(2025, 3, 1))
    mar = (datetime(2025, 3, 1), datetime(2025, 4, 1))
    since_only = (datetime(2025, 1, 1), None)
    with HistoryStore(tmp_path / "h.sqlite", create=True) as store:
        all_data = store.save(T0, None, None, [("deals_open", "", 1.0)])
        february = store.save(T0 + timedelta(days=1), *feb, [("deals_open", "", 2.0)])
        later = T0 + timedelta(days=5)
        # No run over March yet: the February run (also bounded on both ends) is the previous.
        assert store.previous_run(mar, before=later).id == february
        # An open-ended window matches neither a bounded one nor all data.
        assert store.previous_run(since_only, before=later) is None
        assert store.previous_run((None, None), before=later).id == all_data
        march = store.save(T0 + timedelta(days=2), *mar, [("deals_open", "", 3.0)])
        store.save(T0 + timedelta(days=3), *feb, [("deals_open", "", 4.0)])
        # The same window wins over a later run of another window.
        assert store.previous_run(mar, before=later).id == march
