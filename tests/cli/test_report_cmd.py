"""`crmkpi report` end to end through the CLI: formats, files, options and errors."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from crmkpi.cli import app

DEALS = """Deal ID,Deal Name,Owner,Stage,Amount,Currency,Created Date,Close Date,Status
1,Alpha,Ana,Won,1000,EUR,2025-01-05,2025-02-01,won
2,Beta,Ana,Lost,2000,EUR,2025-01-10,2025-02-10,lost
3,Gamma,Ben,Won,3000,EUR,2025-02-03,2025-03-01,won
4,Delta,Ben,Proposal,4000,EUR,2025-03-01,,open
5,=1+2,=Eve,Won,500,EUR,2025-03-02,2025-03-20,won
"""
ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def deals(tmp_path: Path) -> Path:
    path = tmp_path / "deals.csv"
    path.write_text(DEALS, encoding="utf-8")
    return path


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["report", *args], catch_exceptions=False)


def test_terminal_report_without_a_tty_is_plain(deals: Path) -> None:
    result = run(str(deals))
    assert result.exit_code == 0, result.output
    assert not ANSI.search(result.output)
    assert "KEY FIGURES" in result.output
    # 3 won of 4 closed (Alpha, Gamma, =1+2 won; Beta lost)
    assert re.search(r"Win rate\s+75\.0%", result.output)
    assert re.search(r"Revenue won\s+4,500", result.output)  # 1000 + 3000 + 500


def test_json_has_every_table_and_the_contract(deals: Path) -> None:
    result = run(str(deals), "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["kpis"]["deals_won"]["value"] == 3
    assert doc["inputs"][0]["rows_loaded"] == 5
    assert "funnel" in doc["tables"]


def test_window_and_by(deals: Path) -> None:
    result = run(str(deals), "-f", "json", "--since", "2025-02-01", "--until", "2025-03-01",
                 "--by", "owner")  # fmt: skip
    doc = json.loads(result.output)
    # closed in February: Alpha won (Ana), Beta lost (Ana)
    assert doc["kpis"]["deals_won"]["value"] == 1
    assert doc["kpis"]["deals_lost"]["value"] == 1
    owners = {r["owner"]: r["deals_won"] for r in doc["tables"]["by_owner"]}
    assert owners["Ana"] == 1


def test_out_picks_the_format_from_the_extension(deals: Path, tmp_path: Path) -> None:
    for name, check in [
        ("r.xlsx", lambda p: "Summary" in load_workbook(p).sheetnames),
        ("r.md", lambda p: p.read_text().startswith("# Sales KPIs")),
        ("r.html", lambda p: p.read_text().startswith("<!DOCTYPE html>")),
        ("r.json", lambda p: "kpis" in json.loads(p.read_text())),
    ]:
        target = tmp_path / name
        result = run(str(deals), "--out", str(target), "--quiet")
        assert result.exit_code == 0, result.output
        assert check(target), name
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_format_overrides_the_extension(deals: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    assert run(str(deals), "-f", "json", "-o", str(target), "-q").exit_code == 0
    assert json.loads(target.read_text())["kpis"]


def test_csv_and_workbook_keep_injected_text_inert(deals: Path, tmp_path: Path) -> None:
    result = run(str(deals), "--format", "csv", "--table", "stage_conversion_by_owner")
    assert result.exit_code == 0, result.output
    owners = {row[0] for row in csv.reader(io.StringIO(result.output))}
    assert "'=Eve" in owners and "=Eve" not in owners
    target = tmp_path / "r.xlsx"
    run(str(deals), "-o", str(target), "-q")
    ws = load_workbook(target)["Stage conversion by owner"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == "=Eve"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_csv_defaults_to_the_kpi_list(deals: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run(str(deals), "-f", "csv").output)))
    won = next(r for r in rows if r["id"] == "deals_won")
    assert float(won["value"]) == 3


def test_sections_filter(deals: Path) -> None:
    result = run(str(deals), "--section", "funnel")
    assert "FUNNEL" in result.output
    assert "KEY FIGURES" not in result.output


def test_ascii_option(deals: Path) -> None:
    result = run(str(deals), "--ascii", "--width", "80")
    assert result.output.isascii()
    assert max(len(line) for line in result.output.splitlines()) <= 80


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--section", "nope"], "unknown section 'nope'"),
        (["--format", "pdf"], "unknown format 'pdf'"),
        (["--format", "excel"], "excel output needs a file"),
        (["--period", "fortnight"], "unknown period 'fortnight'"),
        (["--table", "funnel"], "--table goes with --format csv"),
        (["-f", "csv", "--table", "nope"], "no table 'nope'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(deals: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["report", str(deals), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_format_md_is_markdown_like_out_md(deals: Path, tmp_path: Path) -> None:
    by_name = run(str(deals), "--format", "md")
    assert by_name.exit_code == 0, by_name.output
    by_long_name = run(str(deals), "--format", "markdown")
    assert by_name.output == by_long_name.output
    assert by_name.output.startswith("# ")


@pytest.mark.parametrize(
    ("option", "when", "message"),
    [
        ("--since", "2030-01-01", "--since 2030-01-01 is after the end of the data"),
        ("--until", "2024-12-31", "--until 2024-12-31 is before the start of the data"),
    ],
)
def test_window_outside_the_data_names_its_span(
    deals: Path, option: str, when: str, message: str
) -> None:
    result = CliRunner().invoke(app, ["report", str(deals), option, when])
    assert result.exit_code == 2
    # DEALS: first event 2025-01-05 (Alpha created), last 2025-03-20 (=1+2 closed)
    assert result.output.strip() == (
        f"crmkpi: error: {message}: the data runs from 2025-01-05 to 2025-03-20"
    )


def test_window_overlapping_the_data_is_a_report(deals: Path) -> None:
    result = run(str(deals), "--since", "2025-03-20", "--until", "2030-01-01")
    assert result.exit_code == 0, result.output


def test_out_writes_the_file_and_says_so_in_one_line(deals: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    result = run(str(deals), "--out", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the report is in the file, not also on the screen
    assert result.stderr == f"crmkpi: wrote {target}\n"
    assert target.read_text(encoding="utf-8").startswith("# ")


def test_report_in_the_readers_language(deals: Path) -> None:
    result = run(str(deals), "--lang", "es")
    assert result.exit_code == 0, result.output
    # 3 won of 4 closed is 75.0%, written the Spanish way; 1000 + 3000 + 500 = 4.500 €.
    assert re.search("Tasa de éxito\\s+75,0\u00a0%", result.output)
    assert re.search("Ingresos ganados\\s+4.500", result.output)
    persian = run(str(deals), "--lang", "fa", "--digits", "latin")
    # Latin digits in a Persian line are isolated left to right (LRI ... PDI).
    assert re.search("نرخ تبدیل\\s+\u206675.0%\u2069", persian.output)


def test_language_from_the_config_and_the_locale(deals: Path, tmp_path: Path) -> None:
    config = tmp_path / "crmkpi.toml"
    config.write_text('[report]\nlanguage = "ru"\n', encoding="utf-8")
    assert "Конверсия сделок" in run(str(deals), "-c", str(config)).output
    assert "Win rate" in run(str(deals), "-c", str(config), "--lang", "en").output
    auto = CliRunner().invoke(app, ["report", str(deals), "--lang", "auto"],
                              env={"LC_ALL": "ca_ES.UTF-8"})  # fmt: skip
    assert "Taxa de conversió" in auto.output


@pytest.mark.parametrize(
    ("options", "config_text", "expected"),
    [
        (["--lang", "xx"], None, "no report language 'xx' (use auto or one of en, "),
        (["--digits", "roman"], None, "unknown digits 'roman' (use native or latin)"),
        ([], '[report]\nlanguage = "klingon"\n', "report.language: no report language"),
        ([], '[report]\ndigits = "roman"\n', "report.digits must be one of native, latin"),
    ],
)
def test_a_wrong_language_is_one_line_and_exit_2(
    deals: Path, tmp_path: Path, options: list[str], config_text: str | None, expected: str
) -> None:
    if config_text is not None:
        config = tmp_path / "crmkpi.toml"
        config.write_text(config_text, encoding="utf-8")
        options = [*options, "-c", str(config)]
    result = CliRunner().invoke(app, ["report", str(deals), *options])
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    if config_text is not None:
        assert "crmkpi.toml" in result.output
