"""Ordinary exports that gave silent wrong reports or crashed: line ends, encodings, long
messages, odd delimiters, unreadable neighbours, a read-only history store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import badinput_corpus as corpus
import hostile_files as hostile
import pytest
from bounded import run_bounded
from typer.testing import CliRunner

import crmkpi.api as api
from crmkpi.cli import app


@pytest.fixture(autouse=True)
def _in_test_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 2, 3), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


# GOOD_ROWS: D1 won 1000 (Ann), D2 lost 250 (Bob), D3 open 400 (Ann): 3 deals, revenue 1000.
EXPECTED = {"deals_total": 3, "revenue_won": 1000, "deals_lost": 1}


@pytest.mark.parametrize(
    "line_ends",
    [[b"\r"] * 4, [b"\r\n", b"\n", b"\r", b"\r\n"], [b"\n", b"\r", b"\n", b"\r"]],
    ids=["CR-only", "CRLF-LF-CR", "LF-CR"],
)
def test_cr_and_mixed_line_ends_read_every_deal(tmp_path: Path, line_ends: list[bytes]) -> None:
    """Excel's "CSV (Macintosh)" ends lines with CR alone: it was "0 rows, no alerts"."""
    lines = [corpus.HEADER.strip(), *corpus.GOOD_ROWS]
    body = b"".join(line.encode() + end for line, end in zip(lines, line_ends, strict=True))
    path = hostile.deals_bytes(tmp_path, body)
    ds = api.load(path)
    (item,) = ds.inputs
    assert (item.rows_read, item.rows_loaded, item.rows_rejected) == (3, 3, 0)
    deals = ds.frames["deals"]
    assert deals["id"].to_list() == ["D1", "D2", "D3"]  # no deal merged into another
    assert deals["owner"].to_list() == ["Ann", "Bob", "Ann"]
    kpis = api.report(ds).kpis
    assert {k: kpis[k].value for k in EXPECTED} == EXPECTED


def test_a_stray_cr_inside_a_line_is_not_a_line_end(tmp_path: Path) -> None:
    """A CR between fields of an LF file (pasted from a Mac cell) splits no record: the pieces
    around it do not hold the header's 7 commas."""
    rows = [corpus.GOOD_ROWS[0].replace("Alpha", "Al\rpha"), *corpus.GOOD_ROWS[1:]]
    path = hostile.deals_bytes(tmp_path, (corpus.HEADER + "\n".join(rows) + "\n").encode())
    ds = api.load(path)
    assert ds.inputs[0].rows_read == 3
    assert ds.frames["deals"]["id"].to_list() == ["D1", "D2", "D3"]


def test_one_latin1_line_in_utf8_is_flagged_not_a_cp1251_file(tmp_path: Path) -> None:
    """Before: the whole file was read as cp1251 ("JГјrgen WeiГџ") with nothing flagged."""
    rows = [
        corpus.GOOD_ROWS[0].replace("Ann", "Jürgen Weiß").encode("utf-8"),
        corpus.GOOD_ROWS[1].replace("Bob", "Jürgen Weiß").encode("latin-1"),  # line 3
        corpus.GOOD_ROWS[2].replace("Ann", "Zoë").encode("utf-8"),
    ]
    path = hostile.deals_bytes(tmp_path, corpus.HEADER.encode() + b"\n".join(rows) + b"\n")
    rejects = tmp_path / "rejects.csv"
    code, stdout, stderr = _invoke("report", str(path), "--format", "json", "--rejects",
                                   str(rejects))  # fmt: skip
    assert code == 0, stderr
    (item,) = json.loads(stdout)["inputs"]
    assert item["encoding"] == "utf-8"
    assert (item["rows_read"], item["rows_loaded"], item["rows_rejected"]) == (3, 3, 0)
    owners = api.load(path).frames["deals"]["owner"].to_list()
    assert owners == ["Jürgen Weiß", "Jürgen Weiß", "Zoë"]  # line 3 repaired as cp1252
    flagged = [r for r in corpus_rows(rejects) if r["action"] == "flagged"]
    assert [(r["row"], r["reason"]) for r in flagged] == [
        ("3", "line is not in the file's encoding: read as cp1252")
    ]


def test_a_cp1251_file_stays_cp1251(tmp_path: Path) -> None:
    """The control: a file all in cp1251 is cp1251, nothing flagged."""
    rows = [r.replace("Ann", "Анна").replace("Bob", "Борис") for r in corpus.GOOD_ROWS]
    text = corpus.HEADER + "\n".join(rows) + "\n"
    ds = api.load(hostile.deals_bytes(tmp_path, text.encode("cp1251")))
    assert ds.inputs[0].encoding == "cp1251"
    assert ds.frames["deals"]["owner"].to_list() == ["Анна", "Борис", "Анна"]
    assert ds.rejects.filter(ds.rejects["action"] == "flagged").height == 0


def corpus_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_an_unclosed_quote_is_one_short_line_with_its_line_number(tmp_path: Path) -> None:
    """Before: the reader's message quoted everything after the quote (76 MB on stderr)."""
    rows = [f"D{i},Name {i},Proposal,{i},USD,2024-01-05,,Ann" for i in range(4, 60_000)]
    body = corpus.HEADER + corpus.GOOD_ROWS[0] + "\n" + 'D2,"Beta,Closed Lost,250\n'
    path = hostile.deals_bytes(tmp_path, (body + "\n".join(rows) + "\n").encode())
    run = run_bounded("report", path, "--format", "json", cwd=tmp_path)
    run.one_line_error(f"{path}:3:", "cannot read")  # the quote opens on line 3
    assert len(run.stderr) < 1200


def test_a_50_mb_line_without_a_newline_is_not_echoed(tmp_path: Path) -> None:
    path = hostile.deals_bytes(tmp_path, b"x" * (50 * 1024 * 1024))
    run = run_bounded("report", path, "--format", "json", cwd=tmp_path)
    run.one_line_error(str(path), "not a table")
    assert len(run.stderr) < 2000  # was 52,429,262 bytes


def test_a_multibyte_excel_sep_line_is_one_line(tmp_path: Path) -> None:
    """`sep=é` names a delimiter the reader cannot use: was a ValueError, exit 1."""
    body = "sep=é\n" + corpus.HEADER + corpus.GOOD_ROWS[0].replace(",", "é") + "\n"
    path = hostile.deals_bytes(tmp_path, body.encode())
    code, _, stderr = _invoke("report", str(path), "--format", "json")
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert f"{path}:1: the delimiter 'é' is not a one-byte character" in line


def test_an_unreadable_txt_in_a_folder_is_listed_as_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root, who reads any file: the denial is made by the open call."""
    corpus.deals_csv(tmp_path, corpus.GOOD_ROWS)
    secret = tmp_path / "contacts-2024.txt"  # not a README-like name: it has to be opened
    secret.write_text("a\tb\n1\t2\n", encoding="utf-8")
    real_open = Path.open

    def denied(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == secret.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", denied)
    code, stdout, stderr = _invoke("report", str(tmp_path), "--format", "json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["kpis"]["deals_total"]["value"] == 3
    unused = [s for s in doc["skipped"] if s.get("file") == str(secret)]
    assert [s["detail"] for s in unused] == ["cannot read: Permission denied"]


def test_a_read_only_history_store_is_not_called_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root writes any file: read-only is made by opening the store with SQLite's mode=ro."""
    path = corpus.deals_csv(tmp_path, corpus.GOOD_ROWS)
    code, _, stderr = _invoke("report", str(path), "--format", "json", "--save")
    assert code == 0, stderr
    real_connect = sqlite3.connect

    def read_only(database: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        return real_connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", read_only)
    code, stdout, stderr = _invoke("report", str(path), "--format", "json")
    assert code == 0, stderr  # reading the past runs needs no write
    assert json.loads(stdout)["kpis"]["deals_total"]["value"] == 3
    code, _, stderr = _invoke("report", str(path), "--format", "json", "--save")
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert "cannot be written" in line and "not recorded" in line
    assert "damaged" not in line and "move the file away" not in line
