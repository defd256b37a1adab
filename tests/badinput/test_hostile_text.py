"""Text from the data reaches no output live: no escape sequence or markup in the terminal, no
formula in a CSV or XLSX, no raw HTML in Markdown, no crash on a control character or a date at
the edge of the calendar.

Each case checks the exit code, what must not appear, that the rows are all there, and the time
and memory ceilings.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import pytest
from ceilings import deals_csv, one_error_line, within_own_ceilings
from typer.testing import CliRunner

from crmkpi.cli import app

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
CLEAR_SCREEN = "\x1b[2J"
SET_TITLE = "\x1b]0;pwned\x07"
HYPERLINK = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"


def invoke(*args: str) -> tuple[int, str, str]:
    start = time.perf_counter()
    # Wide enough that no cell of a terminal table is wrapped.
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
    within_own_ceilings(start)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _hostile_owners(folder: Path) -> Path:
    """Four deals whose owners carry an escape sequence or rich markup; 2 won, 1 lost, 1 open."""
    rows = [
        f'D1,Alpha,Closed Won,1000,USD,2024-01-05,2024-02-01,"Ann{CLEAR_SCREEN}{SET_TITLE}"',
        f'D2,Beta,Closed Lost,250,USD,2024-01-10,2024-01-20,"Bob{HYPERLINK}"',
        "D3,Gamma,Closed Won,400,USD,2024-02-01,2024-02-20,Ann [/x] broken",
        "D4,Delta,Proposal,300,USD,2024-02-03,,[link=http://evil.example]Eve[/link]",
    ]
    return deals_csv(folder, rows)


def test_terminal_report_passes_no_escape_sequence_and_no_markup(tmp_path: Path) -> None:
    deals = _hostile_owners(tmp_path)
    code, out, err = invoke("report", str(deals))
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out  # no clear screen, title, hyperlink
    assert "Ann [/x] broken" in out  # markup shown as written, not a crash
    assert "[link=http://evil.example]Eve" in out  # not turned into a link (cut to fit)


def test_metric_and_diff_terminal_tables_pass_no_escape_sequence(tmp_path: Path) -> None:
    deals = _hostile_owners(tmp_path)
    code, out, err = invoke("metric", "win_rate", str(deals), "--by", "owner")
    assert code == 0, err
    assert "\x1b" not in out
    assert "Ann [/x] broken" in out
    old = deals_csv(tmp_path, [], name="old.csv")
    code, out, err = invoke("diff", str(old), str(deals))
    assert code == 0, err
    assert "\x1b" not in out
    assert "[link=http://evil.example]Eve[/link]" in out


def test_quiet_alert_lines_and_error_lines_show_control_characters_escaped(
    tmp_path: Path,
) -> None:
    # A file name is text from outside too; a deal closed in 9999 makes a quality alert
    # naming the file.
    folder = tmp_path / f"in{SET_TITLE}"
    folder.mkdir()
    rows = ["D1,Alpha,Closed Won,1000,USD,2024-01-05,9999-12-31,Ann"]
    deals = deals_csv(folder, rows)
    code, out, err = invoke("report", str(deals), "--quiet")
    assert code == 0, err
    assert out.count("\n") == 1 and "after today" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07" in out  # shown, not obeyed
    code, out, err = invoke("report", str(tmp_path / f"missing{CLEAR_SCREEN}.csv"))
    assert code == 2
    line = one_error_line(err, "missing\\x1b[2J.csv")
    assert "\x1b" not in line


def test_xlsx_output_takes_control_characters_without_crashing(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    rows = [
        'D1,"Vertical\x0btab",Closed Won,1000,USD,2024-01-05,2024-02-01,"Ann\x1bEsc"',
        "D2,Beta,Closed Lost,250,USD,2024-01-10,2024-01-20,Bob\x0cFeed",
        "D3,Gamma,Proposal,400,USD,2024-02-01,,Ann\x1bEsc",
    ]
    deals = deals_csv(tmp_path, rows)
    code, _, err = invoke("report", str(deals), "--out", "report.xlsx")
    assert code == 0, err
    book = load_workbook(tmp_path / "report.xlsx")
    cells = [c.value for ws in book for row in ws.iter_rows() for c in row]
    texts = [v for v in cells if isinstance(v, str)]
    assert not any(ch in t for t in texts for ch in "\x00\x0b\x0c\x1b")
    assert "AnnEsc" in texts and "Bob\nFeed" in texts  # form feed read as a line break


def test_xlsx_cell_writer_drops_nul_and_defuses_formulas() -> None:
    from openpyxl import Workbook

    from crmkpi.reporting.excel import put

    sheet = Workbook().active
    put(sheet, 1, 1, "a\x00b\x1b")
    put(sheet, 2, 1, "\x00=1+1")
    assert sheet.cell(1, 1).value == "ab"
    assert sheet.cell(2, 1).value == "=1+1"
    assert sheet.cell(2, 1).data_type == "s" and sheet.cell(2, 1).quotePrefix


def _renamed_export(folder: Path) -> tuple[Path, Path]:
    old = deals_csv(folder, ["D1,Alpha,Proposal,100,USD,2024-01-05,,Ann"], name="old.csv")
    new_rows = ["D1,=1+1,Proposal,150,USD,2024-01-05,,+cmd|' /C calc'!A0"]
    new = deals_csv(folder, new_rows, name="new.csv")
    return old, new


def test_diff_csv_writes_no_live_formula(tmp_path: Path) -> None:
    old, new = _renamed_export(tmp_path)
    code, _, err = invoke("diff", str(old), str(new), "--out", "changes.csv")
    assert code == 0, err
    text = (tmp_path / "changes.csv").read_text(encoding="utf-8")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    live = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
    assert live == []
    assert "'=1+1" in cells and "'+cmd|' /C calc'!A0" in cells  # defused, not dropped


def test_convert_csv_copies_write_no_live_formula(tmp_path: Path) -> None:
    _, new = _renamed_export(tmp_path)
    code, _, err = invoke("convert", str(new), "--out", "canonical", "--csv")
    assert code == 0, err
    text = (tmp_path / "canonical" / "csv" / "deals.csv").read_text(encoding="utf-8")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'=1+1" in cells and not [c for c in cells if c.startswith("=")]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


HTML_ROWS = [
    "D1,<script>alert(1)</script>,Closed Won,1000,USD,2024-01-05,2024-02-01,"
    '"[x](javascript:alert(1))"',
    "D2,<img src=http://track.example/p.png>,Closed Lost,250,USD,2024-01-10,2024-01-20,Bob",
    "D3,![t](http://track.example/t.png),Proposal,400,USD,2024-02-01,,Ann",
]  # fmt: skip


def _assert_markdown_inert(text: str) -> None:
    assert re.search(r"(?<!\\)<", text) is None  # every < shown as \<, so no raw HTML
    assert "[x](javascript:" not in text and "![t](http" not in text  # no link, no image


@pytest.mark.parametrize(
    "command",
    [
        ["query", "select name, owner from deals"],
        ["metric", "deals_created", "--by", "owner,name"],
    ],
    ids=["query", "metric"],
)
def test_markdown_outputs_hold_no_raw_html_or_links(tmp_path: Path, command: list[str]) -> None:
    deals = deals_csv(tmp_path, HTML_ROWS)
    code, out, err = invoke(*command, str(deals), "--format", "markdown")
    assert code == 0, err
    _assert_markdown_inert(out)


def test_diff_markdown_holds_no_raw_html_or_links(tmp_path: Path) -> None:
    old = deals_csv(tmp_path, [], name="old.csv")
    new = deals_csv(tmp_path, HTML_ROWS, name="new.csv")
    code, out, err = invoke("diff", str(old), str(new), "--format", "markdown")
    assert code == 0, err
    assert "alert(1)" in out  # the deal is listed
    _assert_markdown_inert(out)


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "html", "terminal", "excel"])
def test_a_close_date_of_9999_is_a_finding_in_every_format(tmp_path: Path, fmt: str) -> None:
    """9999-12-31 is a 'never' placeholder: the deal is read and flagged, the window ends
    with the real data, and no format crashes."""
    rows = [
        "D1,Alpha,Closed Won,1000,USD,2024-01-05,2024-02-01,Ann",
        "D2,Beta,Closed Lost,250,USD,2024-01-10,9999-12-31,Bob",
    ]
    deals = deals_csv(tmp_path, rows)
    out_args = ["--out", "report.xlsx"] if fmt == "excel" else []
    code, out, err = invoke("report", str(deals), "--format", fmt, *out_args)
    assert code == 0, err
    if fmt == "json":
        document = json.loads(out)
        assert document["inputs"][0]["rows_loaded"] == 2
        # The span ends at the last real date; 9999 would have made it years long.
        assert document["data_span"]["last"] == "2024-02-01T00:00:00"
        assert document["period"] == "day"
        assert any("after today" in a["message"] for a in document["alerts"])


def test_since_9999_is_one_line(tmp_path: Path) -> None:
    deals = deals_csv(tmp_path)
    code, _, err = invoke("report", str(deals), "--since", "9999-12-31")
    assert code == 2
    one_error_line(err, "--since 9999-12-31", "outside the dates a report can hold")


def test_inspect_shows_no_escape_sequence_from_headers_or_values(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(
        f"Deal ID,Deal Name{CLEAR_SCREEN},Deal Stage,Amount,Create Date,Deal Owner\n"
        f"D1,Alpha,Closed Won,1000,2024-01-05,Ann{SET_TITLE}\n",
        encoding="utf-8",
    )
    code, out, err = invoke("inspect", str(path))
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out  # the header is shown, its escape made visible


@pytest.mark.parametrize("fmt", ["html", "csv", "markdown"])
def test_file_formats_hold_no_control_characters(tmp_path: Path, fmt: str) -> None:
    deals = _hostile_owners(tmp_path)
    table = ["--table", "owners"] if fmt == "csv" else []
    code, out, err = invoke("report", str(deals), "--format", fmt, *table)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    kept = "Ann\\[2J\\]0;pwned" if fmt == "markdown" else "Ann[2J]0;pwned"
    assert kept in out  # the rest of the owner's name is kept
