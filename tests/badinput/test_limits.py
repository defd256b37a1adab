"""Files that expand, hang or crash a reader: refused in one line, in bounded time and memory.

Each runs `crmkpi report` in a child process (tests/badinput/bounded.py) whose peak resident
size and run time are measured and held to 1 GB and 10 s. Before these limits, the far cell
aborted the process in Rust (exit 134), the shared string took 11 GB, the colspan never ended.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import badinput_corpus as corpus
import hostile_files as hostile
import polars as pl
import pytest
from bounded import run_bounded
from typer.testing import CliRunner

import crmkpi.api as api
from crmkpi.cli import app


@pytest.fixture(autouse=True)
def _in_test_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the test's folder, so only its own crmkpi.toml (if any) is picked up."""
    monkeypatch.chdir(tmp_path)


def _report(target: Path, cwd: Path, **ceilings: float) -> object:
    return run_bounded("report", target, "--format", "json", cwd=cwd, **ceilings)


@pytest.mark.parametrize(
    ("build", "words"),
    [
        # one cell at XFD1048576: 16,384 columns x 1,048,576 rows = 17,179,869,184 cells
        (hostile.xlsx_far_cell, ("17,179,869,184 cells", "[limits] max_cells")),
        # SF = 19 * 26 + 6 = 500 columns, x 200,000 rows = 100,000,000 cells
        (
            lambda folder: hostile.xlsx_far_cell(folder, "SF200000"),
            ("100,000,000 cells", "[limits] max_cells"),
        ),
        # 100,000 cells x a 32 KB string (+ its <si><t> tags) > 3,100 MB > 1,024 MB
        (hostile.xlsx_shared_string_fill, ("max_workbook_mb", "limit 1,024 MB")),
        # 120 sheets x 15 MiB = 1,800 MiB declared, > 1,024 MB
        (hostile.xlsx_many_big_sheets, ("unpacks to 1,800 MB", "max_workbook_mb")),
        (hostile.html_colspan, ("5,000,000 columns", "[limits] max_columns")),
        (hostile.xlsx_far_cell_prefixed, ("17,179,869,184 cells",)),
        (hostile.xlsx_cell_outside_its_row, ("17,179,869,184 cells",)),
    ],
    ids=[
        "XFD1048576",
        "SF200000",
        "shared-string",
        "120-sheets",
        "colspan",
        "XFD-prefixed",
        "cell-outside-row",
    ],  # fmt: skip
)
def test_an_expanding_file_is_refused_before_it_is_read(
    tmp_path: Path, build: object, words: tuple[str, ...]
) -> None:
    path = build(tmp_path)  # type: ignore[operator]
    assert path.stat().st_size < 6_000_000  # a few KB (1.7 KB) to a few MB
    line = _report(path, tmp_path).one_line_error(str(path), *words)  # type: ignore[attr-defined]
    assert "refusing" in line


def test_a_wrong_dimension_alone_is_harmless(tmp_path: Path) -> None:
    """calamine ignores <dimension>: a sheet claiming A1:XFD1048576 with 4 rows reads fine."""
    path = hostile.xlsx_far_dimension(tmp_path)
    result = CliRunner().invoke(app, ["report", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kpis"]["deals_total"]["value"] == 3  # the three GOOD_ROWS
    assert doc["kpis"]["revenue_won"]["value"] == 1000  # D1, the only won deal


def test_the_cell_limit_is_a_setting(tmp_path: Path) -> None:
    """The valid 4-row workbook spans 4 rows x 8 columns = 32 cells: refused at 31, read at 32."""
    path = corpus.valid_xlsx(tmp_path)
    config = tmp_path / "crmkpi.toml"
    config.write_text("[limits]\nmax_cells = 31\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(path), "--format", "json"])
    assert result.exit_code == 2
    assert "spans 32 cells (limit 31)" in result.stderr
    config.write_text("[limits]\nmax_cells = 32\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr


def test_a_rust_panic_is_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyo3's PanicException derives from BaseException: `except Exception` never saw it."""
    import fastexcel

    def panics(*_: object, **__: object) -> None:
        raise pl.exceptions.PanicException("index out of bounds: the len is 0 but the index is 7")

    monkeypatch.setattr(fastexcel, "read_excel", panics)
    path = corpus.valid_xlsx(tmp_path)
    result = CliRunner().invoke(app, ["report", str(path), "--format", "json"])
    assert result.exit_code == 2, repr(result.exception)
    (line,) = result.stderr.strip().splitlines()
    assert str(path) in line and "reader failed" in line and "index out of bounds" in line


def test_a_fifo_nobody_writes_to_times_out(tmp_path: Path) -> None:
    fifo = tmp_path / "deals.csv"
    os.mkfifo(fifo)
    (tmp_path / "crmkpi.toml").write_text(
        "[limits]\nstream_timeout_seconds = 1\n", encoding="utf-8"
    )
    line = _report(fifo, tmp_path, seconds=8).one_line_error(  # type: ignore[attr-defined]
        str(fifo), "no data arrived within 1 s", "stream_timeout_seconds"
    )
    assert "refusing" in line


def test_a_fifo_with_a_writer_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "deals.csv"
    os.mkfifo(fifo)
    body = hostile.good_csv_bytes()

    def write() -> None:
        with fifo.open("wb") as fh:
            fh.write(body)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result = CliRunner().invoke(app, ["report", str(fifo), "--format", "json"])
    writer.join(5)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kpis"]["deals_total"]["value"] == 3


def test_dev_zero_stops_at_the_stream_limit(tmp_path: Path) -> None:
    """The default limit (256 MB) is read and then refused: the memory stays bounded."""
    line = _report(Path("/dev/zero"), tmp_path).one_line_error(  # type: ignore[attr-defined]
        "/dev/zero", "more than 256 MB from a stream", "max_stream_mb"
    )
    assert "refusing" in line


def test_a_pipe_on_stdin_is_read_as_a_stream(tmp_path: Path) -> None:
    """`crmkpi report /dev/stdin < <(cat deals.csv)`: the pipe's link target (pipe:[N]) is not
    a path, so the input keeps its own name."""
    source = hostile.deals_bytes(tmp_path, hostile.good_csv_bytes(), "source.csv")
    with subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE) as cat:
        assert cat.stdout is not None
        run = run_bounded(
            "report", "/dev/stdin", "--format", "json", cwd=tmp_path, stdin=cat.stdout.fileno()
        )
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["kpis"]["deals_total"]["value"] == 3
    assert doc["kpis"]["revenue_won"]["value"] == 1000
    assert [i["rows_loaded"] for i in doc["inputs"]] == [3]
    assert [i["path"] for i in doc["inputs"]] == ["/dev/stdin"]


def test_a_panic_while_converting_columns_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A polars panic after the file was read (in the column conversion) is one line too."""
    import crmkpi.io.load as io_load

    def panics(*_: object, **__: object) -> None:
        raise pl.exceptions.PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(io_load, "canonical_frame", panics)
    path = corpus.deals_csv(tmp_path, corpus.GOOD_ROWS)
    result = CliRunner().invoke(app, ["report", str(path), "--format", "json"])
    assert result.exit_code == 2, repr(result.exception)
    (line,) = result.stderr.strip().splitlines()
    assert str(path) in line and "reader failed" in line


def test_a_csv_header_wider_than_the_column_limit_is_refused(tmp_path: Path) -> None:
    """2,000,000 commas after the 8 header names (2 MB): 2,000,008 columns > 16,384."""
    body = corpus.HEADER.strip() + "," * 2_000_000 + "\n" + corpus.GOOD_ROWS[0] + "\n"
    path = hostile.deals_bytes(tmp_path, body.encode())
    result = CliRunner().invoke(app, ["report", str(path), "--format", "json"])
    assert result.exit_code == 2, repr(result.exception)
    (line,) = result.stderr.strip().splitlines()
    assert f"{path}: refusing: table row 1 spans 2,000,008 columns (limit 16,384)" in line


def test_a_wide_data_line_under_a_narrow_header_is_read_and_flagged(tmp_path: Path) -> None:
    """The control: the frame has the header's 8 columns; the long line is kept and flagged."""
    body = corpus.HEADER + corpus.GOOD_ROWS[0] + "," * 2_000_000 + "\n"
    path = hostile.deals_bytes(tmp_path, body.encode())
    ds = api.load(path)
    assert (ds.inputs[0].rows_read, ds.inputs[0].rows_loaded) == (1, 1)
    assert ds.rejects.filter(pl.col("action") == "flagged")["row"].to_list() == [2]
