"""Outputs never destroy what they point at: a device, a FIFO, a redirected stream, the config,
the history store, a folder; OS errors are one line; a killed run's temporary is cleaned up.

Each case checks the exit code, the one stderr line, that nothing was written where it must not
be (the protected file byte for byte), and the time and memory ceilings.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ceilings import ROWS, deals_csv, one_error_line, run_crmkpi, within_own_ceilings
from typer.testing import CliRunner

from crmkpi.cli import app


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_out_to_a_device_node_writes_through_it_and_keeps_it_a_device(tmp_path: Path) -> None:
    null_copy = tmp_path / "null"
    try:
        os.mknod(null_copy, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("making a device node needs root")
    deals = deals_csv(tmp_path)
    start = time.perf_counter()
    code, _, err = invoke("report", str(deals), "--format", "json", "--out", str(null_copy))
    within_own_ceilings(start)
    assert code == 0, err
    assert stat.S_ISCHR(null_copy.stat().st_mode)  # not replaced by a file of sales data
    assert null_copy.stat().st_rdev == os.makedev(1, 3)


def test_out_to_a_fifo_streams_into_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as fh:  # waits in open() for the writer, like `cat pipe`
            received.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.2)
    deals = deals_csv(tmp_path)
    start = time.perf_counter()
    code, _, err = invoke("report", str(deals), "--format", "json", "--out", str(fifo))
    reader.join(5)
    within_own_ceilings(start)
    assert code == 0, err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    document = json.loads(received[0])
    assert document["inputs"][0]["rows_loaded"] == 3


def test_out_to_a_fifo_nobody_reads_is_one_line_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    deals = deals_csv(tmp_path)
    start = time.perf_counter()
    code, _, err = invoke("report", str(deals), "--format", "json", "--out", str(fifo))
    within_own_ceilings(start)
    assert code == 2
    one_error_line(err, str(fifo), "FIFO")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_rejects_to_dev_stderr_appends_to_the_redirected_log(tmp_path: Path) -> None:
    """`--rejects /dev/stderr 2>>cron.log` must add to the log, not replace it."""
    deals = deals_csv(tmp_path, [*ROWS, "D4,Bad,Proposal,lots,USD,2024-02-02,,Ann"])
    log = tmp_path / "cron.log"
    log.write_text("earlier run: fine\n", encoding="utf-8")
    with log.open("ab") as appended:
        run = run_crmkpi(
            "report", str(deals), "--rejects", "/dev/stderr", "--quiet", cwd=tmp_path,
            stderr=appended,
        )  # fmt: skip
    assert run.code == 0
    text = log.read_text(encoding="utf-8")
    assert text.startswith("earlier run: fine\n")
    assert "lots" in text  # the rejected row's raw value, written after the old lines


def test_out_dev_stdout_appends_to_the_redirected_file(tmp_path: Path) -> None:
    """`--out /dev/stdout >>reports.jsonl` must add to the file, not replace it."""
    deals = deals_csv(tmp_path)
    collected = tmp_path / "reports.txt"
    collected.write_text("first\n", encoding="utf-8")
    with collected.open("ab") as appended:
        run = run_crmkpi(
            "report", str(deals), "--format", "json", "--out", "/dev/stdout", cwd=tmp_path,
            stdout=appended,
        )  # fmt: skip
    assert run.code == 0, run.stderr
    text = collected.read_text(encoding="utf-8")
    assert text.startswith("first\n{")
    assert json.loads(text[len("first\n") :])["inputs"][0]["rows_loaded"] == 3


def test_out_dev_stdout_into_a_pipe(tmp_path: Path) -> None:
    deals = deals_csv(tmp_path)
    run = run_crmkpi("report", str(deals), "--format", "json", "--out", "/dev/stdout", cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["inputs"][0]["rows_loaded"] == 3
    assert run.stderr == ""


def test_out_dash_is_standard_output_and_no_file(tmp_path: Path) -> None:
    deals = deals_csv(tmp_path)
    code, out, err = invoke("report", str(deals), "--format", "json", "--out", "-")
    assert code == 0, err
    assert json.loads(out)["inputs"][0]["rows_loaded"] == 3
    assert not (tmp_path / "-").exists()


def test_out_file_does_not_also_print_the_report(tmp_path: Path) -> None:
    deals = deals_csv(tmp_path)
    code, out, err = invoke("report", str(deals), "--out", "report.json")
    assert code == 0, err
    assert out == ""  # the terminal report is not printed beside the file
    assert json.loads((tmp_path / "report.json").read_text())["inputs"][0]["rows_loaded"] == 3


def _project(tmp_path: Path) -> tuple[Path, Path]:
    deals = deals_csv(tmp_path)
    config = tmp_path / "crmkpi.toml"
    config.write_text('[sources.deals]\npath = "deals.csv"\n', encoding="utf-8")
    return deals, config


@pytest.mark.parametrize(
    "command",
    [
        ["report", "--format", "json", "--out", "crmkpi.toml"],
        ["report", "--rejects", "crmkpi.toml"],
        ["metric", "deals_created", "--format", "json", "--out", "crmkpi.toml"],
        ["query", "select 1 as x", "--format", "json", "--out", "crmkpi.toml"],
        ["tables", "--format", "json", "--out", "crmkpi.toml"],
    ],
    ids=["report", "rejects", "metric", "query", "tables"],
)
def test_outputs_never_replace_the_config(tmp_path: Path, command: list[str]) -> None:
    _, config = _project(tmp_path)
    before = config.read_bytes()
    code, _, err = invoke(*command)
    assert code == 2
    one_error_line(err, "refusing to overwrite the config file", "crmkpi.toml")
    assert config.read_bytes() == before


def test_out_never_replaces_the_history_store(tmp_path: Path) -> None:
    _project(tmp_path)
    code, _, err = invoke("report", "--save", "--quiet")
    assert code == 0, err
    history = tmp_path / ".crmkpi" / "history.sqlite"
    before = history.read_bytes()
    code, _, err = invoke("report", "--format", "json", "--out", ".crmkpi/history.sqlite")
    assert code == 2
    one_error_line(err, "refusing to overwrite the history store")
    assert history.read_bytes() == before


def test_out_never_writes_into_the_parse_cache(tmp_path: Path) -> None:
    deals = deals_csv(tmp_path)
    cache = tmp_path / "cache"
    code, _, err = invoke("report", str(deals), "--cache", "--cache-dir", str(cache), "--quiet")
    assert code == 0, err
    entries = sorted(p.relative_to(cache) for p in cache.rglob("*"))
    target = next(p for p in cache.rglob("*") if p.is_file())
    before = target.read_bytes()
    code, _, err = invoke(
        "report", str(deals), "--cache-dir", str(cache), "--format", "json", "--out", str(target)
    )
    assert code == 2
    one_error_line(err, "refusing to overwrite the parse cache")
    assert target.read_bytes() == before
    assert sorted(p.relative_to(cache) for p in cache.rglob("*")) == entries


def test_out_an_existing_folder_is_one_line(tmp_path: Path) -> None:
    deals = deals_csv(tmp_path)
    (tmp_path / "reports.json").mkdir()
    code, _, err = invoke("report", str(deals), "--out", "reports.json")
    assert code == 2
    one_error_line(err, "reports.json", "is a folder")
    assert list((tmp_path / "reports.json").iterdir()) == []


@pytest.mark.parametrize(
    ("where", "failure"),
    [
        ("replace", OSError(errno.EROFS, "Read-only file system")),
        ("replace", PermissionError(errno.EACCES, "Permission denied")),
        ("fsync", OSError(errno.ENOSPC, "No space left on device")),
    ],
    ids=["read-only filesystem", "no permission", "disk full"],
)
def test_os_errors_are_one_line_and_leave_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, failure: OSError
) -> None:
    # Root ignores permission bits, and mounting a small full filesystem needs privileges a
    # test does not have: the failing call is made to fail the way the kernel would.
    deals = deals_csv(tmp_path)
    report = tmp_path / "report.json"
    report.write_text("yesterday's report\n", encoding="utf-8")

    def fail(*_: object, **__: object) -> None:
        raise failure

    monkeypatch.setattr(os, where, fail)
    code, _, err = invoke("report", str(deals), "--format", "json", "--out", str(report))
    monkeypatch.undo()
    assert code == 2
    one_error_line(err, str(report), failure.strerror or "")
    assert report.read_text(encoding="utf-8") == "yesterday's report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals.csv", "report.json"]


def test_a_killed_runs_temporary_is_removed_by_the_next_run(tmp_path: Path) -> None:
    """kill -9 between writing the temporary and renaming it: the next run cleans up."""
    deals = deals_csv(tmp_path)
    report = tmp_path / "report.json"
    report.write_text("{}\n", encoding="utf-8")
    report.chmod(0o640)
    killed_mid_write = (
        "import os, signal, sys\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "from crmkpi.cli import main\n"
        f"sys.argv = ['crmkpi', 'report', {str(deals)!r}, '--format', 'json', "
        f"'--out', {str(report)!r}]\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", killed_mid_write], cwd=tmp_path, timeout=10)
    assert proc.returncode == -9
    orphans = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(orphans) == 1  # what a killed run leaves
    assert report.read_text(encoding="utf-8") == "{}\n"

    start = time.perf_counter()
    code, _, err = invoke("report", str(deals), "--format", "json", "--out", str(report))
    within_own_ceilings(start)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals.csv", "report.json"]
    assert json.loads(report.read_text(encoding="utf-8"))["inputs"][0]["rows_loaded"] == 3
    assert stat.S_IMODE(report.stat().st_mode) == 0o640  # the replaced file's permissions


def test_diff_out_dash_is_standard_output(tmp_path: Path) -> None:
    old = deals_csv(tmp_path, ROWS[:1], name="old.csv")
    new = deals_csv(tmp_path, ROWS, name="new.csv")
    code, out, err = invoke("diff", str(old), str(new), "--format", "csv", "--out", "-")
    assert code == 0, err
    assert out.startswith("kind,") and out.count("created") == 2  # D2 and D3 are new
    assert not (tmp_path / "-").exists()


def test_out_dash_into_a_pipe_closed_early_is_quiet(tmp_path: Path) -> None:
    """`crmkpi report --out - | head -c 1`: the reader leaving is not an error."""
    deals = deals_csv(
        tmp_path, [f"D{i},Deal {i},Proposal,{i},USD,2024-01-05,,Ann" for i in range(1, 3000)]
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmkpi", "report", str(deals), "--format", "json", "--out", "-"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(1)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=10) == 0, err
    assert first == b"{" and err == ""


def test_out_dev_fd_writes_to_that_descriptor(tmp_path: Path) -> None:
    """`--out /dev/fd/3 3>>collected.json`: written to descriptor 3, the file kept."""
    deals = deals_csv(tmp_path)
    collected = tmp_path / "collected.txt"
    collected.write_text("kept\n", encoding="utf-8")
    script = (
        "import os, sys\n"
        f"fd = os.open({str(collected)!r}, os.O_WRONLY | os.O_APPEND)\n"
        "os.dup2(fd, 3)\n"
        "from crmkpi.cli import main\n"
        f"sys.argv = ['crmkpi', 'report', {str(deals)!r}, '--format', 'json', "
        "'--out', '/dev/fd/3']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, timeout=10
    )
    assert proc.returncode == 0, proc.stderr
    text = collected.read_text(encoding="utf-8")
    assert text.startswith("kept\n{")
    assert json.loads(text[len("kept\n") :])["inputs"][0]["rows_loaded"] == 3


def test_a_read_only_history_store_is_not_called_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import crmkpi.history.store

    _project(tmp_path)
    code, _, err = invoke("report", "--save", "--quiet")
    assert code == 0, err
    history = tmp_path / ".crmkpi" / "history.sqlite"
    before = history.read_bytes()
    connect = sqlite3.connect

    def read_only(path: object, **options: object) -> sqlite3.Connection:
        # What a read-only mount gives even root: the file opens, writes fail.
        return connect(f"file:{path}?mode=ro", uri=True, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(crmkpi.history.store.sqlite3, "connect", read_only)
    code, _, err = invoke("report", "--save", "--quiet")
    monkeypatch.undo()
    assert code == 2
    line = one_error_line(err, "the history store cannot be written", str(history))
    assert "damaged" not in line and "move the file away" not in line
    assert history.read_bytes() == before


def test_a_symlink_to_dev_stderr_is_that_stream_too(tmp_path: Path) -> None:
    deals = deals_csv(tmp_path)
    (tmp_path / "errors.json").symlink_to("/dev/stderr")
    log = tmp_path / "cron.log"
    log.write_text("earlier run: fine\n", encoding="utf-8")
    with log.open("ab") as appended:
        run = run_crmkpi(
            "report", str(deals), "--format", "json", "--out", "errors.json", cwd=tmp_path,
            stderr=appended,
        )  # fmt: skip
    assert run.code == 0
    text = log.read_text(encoding="utf-8")
    assert text.startswith("earlier run: fine\n{")
    assert (tmp_path / "errors.json").is_symlink()


def test_out_dev_stdin_is_refused(tmp_path: Path) -> None:
    deals = deals_csv(tmp_path)
    code, out, err = invoke("report", str(deals), "--format", "json", "--out", "/dev/stdin")
    assert code == 2
    one_error_line(err, "standard input")
    assert out == ""


@pytest.fixture
def small_mounts(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A 64 KiB tmpfs filled to the last block, and a read-only one; skipped where mounting
    is not allowed (the monkeypatched case above still runs everywhere)."""
    full, read_only = tmp_path / "full", tmp_path / "read-only"
    full.mkdir()
    read_only.mkdir()
    mounted: list[Path] = []
    try:
        for folder, options in ((full, "size=64k"), (read_only, "size=64k,ro")):
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                capture_output=True, timeout=10, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                pytest.skip("mounting a small tmpfs is not allowed here")
            mounted.append(folder)
        (full / "report.json").write_text("yesterday's report\n", encoding="utf-8")
        with (full / "filler").open("wb", buffering=0) as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 4096)
        yield full, read_only
    finally:
        for folder in mounted:
            subprocess.run(["umount", str(folder)], timeout=10, check=False)


def test_a_real_full_disk_and_read_only_filesystem_are_one_line(
    tmp_path: Path, small_mounts: tuple[Path, Path]
) -> None:
    full, read_only = small_mounts
    deals = deals_csv(tmp_path)
    code, _, err = invoke(
        "report", str(deals), "--format", "json", "--out", str(full / "report.json")
    )
    assert code == 2
    one_error_line(err, str(full / "report.json"), "No space left on device")
    assert (full / "report.json").read_text(encoding="utf-8") == "yesterday's report\n"
    assert sorted(p.name for p in full.iterdir()) == ["filler", "report.json"]
    code, _, err = invoke("report", str(deals), "--rejects", str(read_only / "rejects.csv"))
    assert code == 2
    one_error_line(err, str(read_only / "rejects.csv"), "Read-only file system")
    assert list(read_only.iterdir()) == []
