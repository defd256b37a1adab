"""The terminal report at fixed widths (golden files), and its plain, ASCII and no-colour forms.

Regenerate the golden files on purpose with CRMKPI_REGEN_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.reporting import terminal
from crmkpi.reporting.model import Report

GOLDEN = Path(__file__).parent / "golden"
ANSI = re.compile(r"\x1b\[")
BOX_DRAWING = re.compile("[\u2500-\u257f]")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CRMKPI_REGEN_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {name}; run with CRMKPI_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("terminal_80.txt", {"width": 80, "boxes": True}),
        ("terminal_160.txt", {"width": 160, "boxes": True}),
        ("terminal_80_ascii.txt", {"width": 80, "ascii_only": True}),
    ],
)
def test_golden(report: Report, name: str, options: dict) -> None:
    check_golden(name, terminal.render(report, **options))


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_no_line_wider_than_the_terminal(report: Report, width: int) -> None:
    lines = terminal.render(report, width=width, boxes=True).splitlines()
    assert max(len(line) for line in lines) <= width


def test_ascii_output_is_ascii(report: Report) -> None:
    text = terminal.render(report, width=100, ascii_only=True)
    assert text.isascii()


def test_what_the_report_shows(report: Report) -> None:
    text = terminal.render(report, width=160, boxes=True)
    # header: window, comparison, inputs with rejected rows
    assert "Period  Jun 2025" in text
    assert "vs May 2025" in text
    assert "exports/deals.csv (deals): 118 rows, 2 rejected" in text
    # win rate changed 25% -> 35%: ten points, up; the previous value shown beside it
    assert re.search(r"Win rate\s+31\.2%\s+>= 30%\s+● ok\s+25\.0%\s+▲10\.0 pp", text)
    # revenue fell 25,000 -> 20,000: -20%
    assert re.search(r"Revenue won\s+123,456 EUR\s+>= 150,000\s+● bad\s+25,000\s+▼20%", text)
    # mixed currencies: one line per currency, never a sum
    assert "5,000 EUR" in text and "1,200 USD" in text and "6,200" not in text
    # the owner table ends with the team's values from the KPIs
    assert re.search(r"Team\s+35\s+31\.2%\s+123,456", text)
    # a section without data says why, in one line
    assert "Sources: skipped (deals has no source column)" in text
    # 20 stuck deals, 15 shown
    assert "5 more rows" in text
    assert text.index("KEY FIGURES") < text.index("FUNNEL") < text.index("OWNERS")
    assert text.index("SAAS") < text.index("Alerts (2)") < text.index("Not computed")


def test_funnel_bars_scale_with_the_counts(report: Report) -> None:
    text = terminal.render(report, width=100, ascii_only=True)
    bars = {m.group(1): len(m.group(2)) for m in re.finditer(r"^(\w+)\s+\d+\s+(#+)", text, re.M)}
    # 100 -> full bar; 60 and 30 in proportion (24 cells at width 100: 14.4 and 7.2 rounded)
    assert bars["Lead"] == 24
    assert bars["Qualified"] == 14
    assert bars["Proposal"] == 7


def test_narrow_terminal_drops_columns_and_says_so(report: Report) -> None:
    text = terminal.render(report, width=60, boxes=True)
    assert "not shown at this width" in text


def test_not_a_terminal_means_no_colour_no_box_lines(report: Report) -> None:
    out = io.StringIO()
    console = Console(file=out, width=100)  # a StringIO is not a terminal
    terminal.print_report(report, console)
    text = out.getvalue()
    assert not ANSI.search(text)
    assert not BOX_DRAWING.search(text)
    assert "Win rate" in text


def test_no_color_keeps_boxes_off_even_on_a_terminal(report: Report) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, no_color=True, width=100)
    look = terminal.look_for(console)
    assert look.boxes is False


def test_a_real_terminal_gets_colour_and_lines(report: Report) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="standard", width=100)
    terminal.print_report(report, console)
    assert ANSI.search(out.getvalue())
    assert BOX_DRAWING.search(out.getvalue())


def test_repeated_team_columns_become_the_team_row(report: Report) -> None:
    owners = report.tables["owners"]
    # the team's own figures, repeated on every row as catalog tables give them
    owners.frame = owners.frame.with_columns(team_deals_won=35, team_win_rate=0.3)
    text = terminal.render(report, width=120, boxes=True)
    assert "Team deals won" not in text
    # team_win_rate (30.0%) wins over the KPI value (31.2%): the table's own figure
    assert re.search(r"Team\s+35\s+30\.0%\s+123,456", text)


def test_header_says_when_the_last_trend_period_is_partial(report: Report) -> None:
    report.trend_partial = True
    assert "last 6 periods, the last one partial" in terminal.render(report, width=100)


# Point-in-time KPIs saved by an earlier run show their value then, beside today's.
def test_last_run_column_appears_only_with_history(report: Report) -> None:
    assert "Last run" not in terminal.render(report, width=160)
    report.kpis["deals_won"].history_previous = 4321.0
    text = terminal.render(report, width=160)
    assert "Last run" in text
    row = next(line for line in text.splitlines() if line.startswith("Deals won"))
    assert "4,321" in row  # the saved value, formatted as a count


# At 80 columns the KPI labels keep the room that dropped columns leave.


SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def test_demo_report_at_80_columns_keeps_whole_labels() -> None:
    # The target column does not fit at 80 columns and is dropped; the labels, cut to make
    # room for it first, get that room back.
    result = CliRunner().invoke(
        app, ["report", str(SAMPLE), "--config", str(SAMPLE / "crmkpi.toml"), "--width", "80"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for label in ("Open pipeline value", "Win rate by value", "Average deal size"):
        assert any(line.startswith(label + " ") for line in lines), label


@pytest.mark.parametrize("language", ["en", "el", "fa", "ru", "ca", "es"])
def test_golden_in_each_language(report: Report, language: str) -> None:
    """The whole report at 100 columns in each shipped language (Persian with its digits and
    bidi isolates around Latin runs)."""
    report.language = language
    check_golden(f"terminal_100_{language}.txt", terminal.render(report, width=100, boxes=True))


def test_persian_digits_can_be_latin(report: Report) -> None:
    report.language, report.digits = "fa", "latin"
    text = terminal.render(report, width=100)
    assert "31.2%" in text and "۳" not in text
