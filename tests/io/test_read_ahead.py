"""Files are parsed two at a time, but taken in, failed and counted in their order."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import crmkpi.io.load as load_module
from crmkpi.errors import InputError
from crmkpi.io.load import read_ahead


class Recorder:
    """A parse that records which files ran and how many at once. With `meet`, the first two
    parses wait for each other (a barrier): they pass only if they run at the same time."""

    def __init__(self, fail: str | None = None, meet: bool = False) -> None:
        self.fail = fail
        self.running = 0
        self.most = 0
        self.started: list[str] = []
        self.finished: list[str] = []
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(2, timeout=10) if meet else None

    def __call__(self, path: Path, source: object) -> list:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started.append(path.name)
            first_two = len(self.started) <= 2
        if self.barrier is not None and first_two:
            self.barrier.wait()  # BrokenBarrierError after 10 s when run one at a time
        with self.lock:
            self.running -= 1
            self.finished.append(path.name)
        if path.name == self.fail:
            raise InputError("not a table", path=str(path))
        return [(None, path.name)]


def _files(tmp_path: Path, n: int, suffix: str = ".csv") -> list[tuple[Path, None]]:
    out = []
    for i in range(n):
        path = tmp_path / f"f{i}{suffix}"
        path.write_text("a,b\n1,2\n")
        out.append((path, None))
    return out


def test_results_come_in_file_order_two_at_a_time(tmp_path: Path) -> None:
    parse = Recorder(meet=True)
    got = [take()[0][1] for take in read_ahead(_files(tmp_path, 5), parse)]
    assert got == ["f0.csv", "f1.csv", "f2.csv", "f3.csv", "f4.csv"]
    assert parse.most <= 2  # never more than two at once


def test_a_failure_is_raised_at_its_file_and_the_rest_still_come(tmp_path: Path) -> None:
    parse = Recorder(fail="f1.csv")
    outcomes = []
    for take in read_ahead(_files(tmp_path, 3), parse):
        try:
            outcomes.append(take()[0][1])
        except InputError as exc:
            outcomes.append(f"error: {Path(str(exc.path)).name}")
    assert outcomes == ["f0.csv", "error: f1.csv", "f2.csv"]


def test_closing_starts_no_more_files_and_waits_for_the_one_in_flight(tmp_path: Path) -> None:
    parse = Recorder()
    reads = read_ahead(_files(tmp_path, 6), parse)
    next(reads)()
    reads.close()
    # none after the two first submitted (the second may have been cancelled before it ran)
    assert set(parse.started) <= {"f0.csv", "f1.csv"}
    assert sorted(parse.finished) == sorted(parse.started)  # nothing left running
    with pytest.raises(StopIteration):
        next(reads)


def test_large_files_are_read_one_at_a_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(load_module, "PARALLEL_MAX_BYTES", 4)  # every file is "large"
    parse = Recorder()
    got = [take()[0][1] for take in read_ahead(_files(tmp_path, 3), parse)]
    assert got == ["f0.csv", "f1.csv", "f2.csv"]
    assert parse.most == 1


def test_workbooks_are_read_one_at_a_time(tmp_path: Path) -> None:
    # a workbook's size on disk says nothing of what it unpacks to
    parse = Recorder()
    files = _files(tmp_path, 2) + _files(tmp_path / "", 1, ".xlsx")
    got = [take()[0][1] for take in read_ahead(files, parse)]
    assert got == ["f0.csv", "f1.csv", "f0.xlsx"]
    assert parse.most == 1


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_files(tmp_path: Path, count: int) -> None:
    parse = Recorder()
    assert [take()[0][1] for take in read_ahead(_files(tmp_path, count), parse)] == [
        f"f{i}.csv" for i in range(count)
    ]
