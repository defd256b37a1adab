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
        *((f"terminal_{w}.txt", {"width": w, "boxes": True}) for w in (80, 100, 120, 160)),
        ("terminal_80_ascii.txt", {"width": 80, "ascii_only": True}),
    ],
)
def test_golden(report: Report, name: str, options: dict) -> None:
    """Every section of the report at the widths people use (a laptop, a split screen, a
    wide monitor); `render` has no colour and the report no clock, so the text is fixed."""
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
    assert re.search(r"Revenue won\s+123,456 EUR\s+>= 150,000\s+● bad\s+25,000 EUR\s+▼20%", text)
    # mixed currencies: one line per currency, never a sum
    assert "5,000 EUR" in text and "1,200 USD" in text and "6,200" not in text
    # the owner table ends with the team's values from the KPIs
    assert re.search(r"Team\s+35\s+31\.2%\s+123,456", text)
    # a section without data says why, in one line
    assert "Sources: skipped (deals has no source column)" in text
    # 20 stuck deals, 15 shown
    assert "5 more rows" in text
    assert text.index("Alerts (1)") < text.index("KEY FIGURES") < text.index("FUNNEL")
    assert text.index("FUNNEL") < text.index("OWNERS")
    assert text.index("SAAS") < text.index("INPUTS AND DATA QUALITY") < text.index("Not computed")


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


@pytest.fixture(scope="module")
def sample_report() -> Report:
    """The demo company's report, built once for the tests that read it at several widths."""
    from crmkpi import api

    return api.report(api.load(SAMPLE, config=SAMPLE / "crmkpi.toml"))


def test_demo_report_at_80_columns_keeps_whole_labels(sample_report: Report) -> None:
    # The labels wrap rather than being cut, and get back the room of any dropped column.
    lines = terminal.render(sample_report, width=80).splitlines()
    assert max(len(line) for line in lines) <= 80
    for label in ("Open pipeline value", "Win rate by value", "Average deal size"):
        assert any(line.startswith(label + " ") for line in lines), label


def by_quarter(report: Report) -> Report:
    """The report compared period by period (value over all data, then 2025-Q2 vs 2025-Q1), as
    without --since: the value column is not the current period's, so both period columns
    are needed to read the change."""
    assert report.comparison is not None
    report.comparison.basis = "period"
    report.comparison.current_name = "2025-Q2"
    report.comparison.previous_name = "2025-Q1"
    return report


def kpi_header(text: str, section: str = "KEY FIGURES") -> str:
    lines = text.splitlines()
    return lines[lines.index(section) + 1]


@pytest.mark.parametrize("width", [60, 70, 80, 90, 100, 120, 160])
def test_change_is_never_shown_without_both_values_it_compares(report: Report, width: int) -> None:
    # Median deal size 9,650 over all data, 7,800 in Q2, 9,200 in Q1: "-15%" is 7,800 vs
    # 9,200 ((7,800 - 9,200) / 9,200 = -15.2%), and reads as a lie beside 9,650 and 9,200 alone.
    header = kpi_header(terminal.render(by_quarter(report), width=width, boxes=True))
    shown = {name: name in header for name in ("2025-Q2", "2025-Q1", "Change")}
    assert len(set(shown.values())) == 1, f"{shown} at {width} columns"


@pytest.mark.parametrize("width", [60, 80, 100])
def test_a_dropped_group_is_named_with_how_to_see_it(report: Report, width: int) -> None:
    text = terminal.render(by_quarter(report), width=width, boxes=True)
    header = kpi_header(text)
    if "Change" not in header:
        assert re.search(r"not shown at this width: .*2025-Q2, 2025-Q1, Change", text)
    if "Trend" not in header:
        assert re.search(
            r"not shown at this width: Trend.*\(a wider terminal or --format md", text, re.S
        )


def test_status_is_never_shown_without_its_target(report: Report) -> None:
    for width in (50, 60, 70, 80, 90, 100, 120):
        header = kpi_header(terminal.render(by_quarter(report), width=width, boxes=True))
        assert ("Status" in header) == ("Target" in header), width


LONG_LABEL = "Lead response time (90th percentile)"


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160])
def test_kpi_labels_are_never_cut(report: Report, width: int) -> None:
    report.kpis["leads_created"].label = LONG_LABEL
    text = terminal.render(report, width=width, boxes=True)
    assert "…" not in text
    # wrapped or whole: every word of the label is there, whole
    words = set(re.findall(r"\S+", text))
    assert all(word in words for word in LONG_LABEL.split())


def test_a_label_that_would_wrap_uses_the_short_label_declared_with_the_kpi(
    report: Report,
) -> None:
    kpi = report.kpis["leads_created"]
    kpi.label, kpi.short_label = LONG_LABEL, "Lead response p90"
    assert "Lead response p90" in terminal.render(report, width=60, boxes=True)
    assert LONG_LABEL in terminal.render(report, width=160, boxes=True)


def test_the_sample_report_at_80_and_160_columns_never_misleads(sample_report: Report) -> None:
    """The demo data at a laptop's and a wide monitor's width: no change without the two
    period values, no owners' rank without revenue, no cut label."""
    report = sample_report
    assert report.comparison is not None and report.comparison.basis == "period"
    current, previous = report.comparison.current_name, report.comparison.previous_name
    for width in (80, 160):
        text = terminal.render(report, width=width)
        assert "…" not in text
        for line in text.splitlines():
            if line.startswith("KPI ") and "Change" in line:
                assert current in line and previous in line, (width, line)
            if line.startswith("Owner ") and "Rank" in line:
                assert "Revenue won" in line, (width, line)
        # the 90th percentile label is whole (or its declared short form) at any width
        assert "Lead response time (90th percentile)" in text or "Lead response p90" in text


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
