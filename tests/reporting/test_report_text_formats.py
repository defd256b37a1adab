"""JSON contract, CSV (formula-safe), markdown and HTML renderers."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from injected_text import INJECTED

from crmkpi.errors import UsageError
from crmkpi.reporting import csv as csv_renderer
from crmkpi.reporting import html, markdown
from crmkpi.reporting.format import format_change, format_value, sparkline
from crmkpi.reporting.model import KpiValue, Report
from crmkpi.reporting.output import format_for_path


def test_json_contract(report: Report) -> None:
    doc = json.loads(report.to_json())
    for key in ("crmkpi_version", "generated_at", "inputs", "kpis", "tables", "skipped", "alerts"):
        assert key in doc
    assert doc["crmkpi_version"] == "9.9.9"
    first = doc["inputs"][0]
    assert (first["path"], first["table"], first["rows_read"], first["rows_loaded"],
            first["rows_rejected"]) == ("exports/deals.csv", "deals", 120, 118, 2)  # fmt: skip
    win = doc["kpis"]["win_rate"]
    assert (win["value"], win["unit"], win["label"]) == (0.3125, "ratio", "Win rate")
    assert win["status"] == "ok" and win["previous"] == 0.25 and win["change"] == 0.4
    assert doc["kpis"]["mrr"]["by_currency"] == {"EUR": 5000.0, "USD": 1200.0}
    assert doc["kpis"]["mrr"]["value"] is None
    assert set(doc["tables"]) == set(report.tables)
    assert doc["tables"]["owners"][1]["owner"] == INJECTED
    assert doc["tables"]["mrr_movements"][0]["period"] == "2025-04-01T00:00:00"
    assert {"kpi": "pipeline_coverage", "reason": "no quota configured"} in doc["skipped"]
    assert doc["alerts"][0]["severity"] == "bad"
    assert doc["comparison"]["previous"]["since"] == "2025-05-01T00:00:00"


def test_csv_kpis_by_default_and_tables_by_name(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_renderer.render(report))))
    ids = [r["id"] for r in rows]
    assert ids.count("mrr") == 2  # one row per currency
    mrr = {r["currency"]: float(r["value"]) for r in rows if r["id"] == "mrr"}
    assert mrr == {"EUR": 5000.0, "USD": 1200.0}
    funnel = list(csv.reader(io.StringIO(csv_renderer.render(report, table="funnel"))))
    assert funnel[0] == ["stage", "reached", "conversion_from_previous"]
    assert funnel[1] == ["Lead", "100", ""]
    with pytest.raises(UsageError, match="no table 'nope'"):
        csv_renderer.render(report, table="nope")


def test_csv_never_lets_a_cell_start_a_formula(report: Report) -> None:
    text = csv_renderer.render(report, table="owners")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[2][0] == "'" + INJECTED


@given(st.text(min_size=1, max_size=20))
def test_csv_safe_cell_for_any_text(text: str) -> None:
    cell = csv_renderer.safe_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
    # Control characters go (a vertical tab or form feed becomes a line break); tab, line
    # feed and carriage return stay; nothing else changes but a leading apostrophe.
    kept = "".join(
        "\n" if ch in "\x0b\x0c" else ch
        for ch in text
        if ch in "\t\n\r\x0b\x0c" or not (ord(ch) < 32 or 127 <= ord(ch) < 160)
    )
    assert cell == kept or cell == "'" + kept


def test_markdown(report: Report) -> None:
    text = markdown.render(report)
    assert text.startswith("# Northwind sales\n")
    # the terminal's columns: the previous value beside the change it makes
    assert "| Win rate | 31.2% | >= 30% | 🟢 ok | 25.0% | ▲10.0 pp |" in text
    assert "## Sources\n\n_Skipped: deals has no source column._" in text
    assert "- **bad**: Revenue won 123,456 below target 150,000" in text
    assert "5,000 EUR · 1,200 USD" in text
    assert markdown.cell("a|b\nc") == "a\\|b c"
    # no raw HTML or links from the data when a chat or mail client renders the markdown
    assert markdown.cell("<img src=x>") == "\\<img src=x>"
    assert markdown.cell("[x](javascript:1)") == "\\[x\\](javascript:1)"
    # markdown shows up to 20 rows: all 20 stuck deals, no "more rows" line
    assert "| D019 |" in text and "more rows" not in text


def test_html_is_self_contained_and_escaped(report: Report) -> None:
    report.tables["owners"].frame[0, "owner"] = "<script>alert(1)</script>"
    text = html.render(report)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert not re.search(r"(src|href)=\"?https?:", text)
    assert text.count("<svg") >= 3 + 2  # three sparklines, funnel and owner bars
    assert len(text) < 60_000


@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=1, max_size=30))
def test_sparkline_one_mark_per_value(values: list[float | None]) -> None:
    line = sparkline(values)
    known = [v for v in values if v is not None]
    if not known:
        assert line == ""
        return
    assert len(line) == len(values)
    for v, ch in zip(values, line, strict=True):
        assert (ch == " ") == (v is None)
    if min(known) != max(known):
        assert line[values.index(min(known))] == "▁"
        assert line[values.index(max(known))] == "█"


def test_format_change_points_for_ratios_percent_otherwise() -> None:
    ratio = KpiValue("r", "R", "ratio", 0.3, latest=0.3, previous=0.25, change=0.2, delta=0.05)
    assert format_change(ratio) == "▲5.0 pp"
    count = KpiValue("c", "C", "count", 8, latest=8, previous=10, change=-0.2, delta=-2)
    assert format_change(count) == "▼20%"
    assert format_change(count, ascii_only=True) == "-20%"


def test_format_value_by_unit() -> None:
    assert format_value(0.3125, "ratio") == "31.2%"
    assert format_value(-0.0001, "ratio") == "0.0%"
    assert format_value(1234567.8, "currency", "EUR") == "1,234,568 EUR"
    assert format_value(0.0, "currency") == "0"
    # durations scale: 90 min stays minutes; 1,500 min = 25 h; 722,404 min / 1,440 = 501.7 d
    assert format_value(90, "minutes") == "90 min"
    assert format_value(1500, "minutes") == "25.0 h"
    assert format_value(722404, "minutes") == "501.7 d"
    assert format_value(None, "count") == "-"


def test_output_format_from_extension() -> None:
    assert format_for_path("r.xlsx") == "excel"
    assert format_for_path("r.MD") == "markdown"
    assert format_for_path("r.html") == "html"
    assert format_for_path("r.csv") == "csv"
    assert format_for_path("r.json") == "json"
    with pytest.raises(UsageError):
        format_for_path("r.docx")


def test_persian_html_is_right_to_left_and_mirrors_by_logical_sides(report: Report) -> None:
    report.language = "fa"
    html = str(report.render("html"))
    assert html.startswith('<!DOCTYPE html>\n<html lang="fa" dir="rtl">')
    assert "<h2>شاخص‌های کلیدی</h2>" in html and "۳۱٫۲٪" in html
    # the page's own words too: the alerts heading and the KPI table's column headings
    assert "<h2>هشدارها</h2>" in html and "<th>هدف</th><th>وضعیت</th>" in html
    assert "<h2>Alerts</h2>" not in html and "<th>Target</th>" not in html
    # Sides named by the text direction, so the page mirrors: no left or right in the CSS.
    css = html[html.index("<style>") : html.index("</style>")]
    assert not re.search(r"(text-align:|border-)(left|right)", css)


def test_html_of_a_left_to_right_language_has_no_dir(report: Report) -> None:
    report.language = "ca"
    html = str(report.render("html"))
    assert html.startswith('<!DOCTYPE html>\n<html lang="ca"><head>')
    assert "Taxa de conversió" in html


HEADINGS = {"markdown": "## {}", "html": "<h2>{}</h2>"}


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_alerts_first_then_sections_then_inputs_and_quality(report: Report, fmt: str) -> None:
    text = str(report.render(fmt))
    heading = HEADINGS[fmt].format
    alert = text.index("Revenue won 123,456 below target 150,000")
    assert alert < text.index(heading("Key figures")) < text.index(heading("Funnel"))
    assert text.index(heading("SaaS")) < text.index(heading("Inputs and data quality"))
    end = text[text.index(heading("Inputs and data quality")) :]
    # the files and the quality alert at the end; one line at the top says it in short
    # (118 + 210 = 328 rows loaded, 2 rejected, 1 quality alert)
    assert "exports/deals.csv" in end and "2 of 120 rows rejected" in end
    assert "2 files, 328 rows loaded, 2 rejected, 1 data quality note" in text[:alert]


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_markdown_and_html_carry_the_period_values(report: Report, fmt: str) -> None:
    # compared period by period, as the terminal at 160 columns shows it: Q2 7 and Q1 5
    # beside the change they make (7 / 5 - 1 = +40%)
    assert report.comparison is not None
    report.comparison.basis = "period"
    report.comparison.current_name, report.comparison.previous_name = "2025-Q2", "2025-Q1"
    text = str(report.render(fmt))
    if fmt == "markdown":
        assert "| KPI | Value | Target | Status | 2025-Q2 | 2025-Q1 | Change | Trend |" in text
        assert "| Deals won | 35 |  |  | 7 | 5 | ▲40% |" in text
    else:
        assert "<th>2025-Q2</th><th>2025-Q1</th><th>Change</th>" in text
        assert '<td class="n">7</td><td class="n">5</td><td class="n good">▲40%</td>' in text


def test_markdown_in_the_readers_language(report: Report) -> None:
    report.language = "es"
    text = str(report.render("markdown"))
    # the win rate (31.2% in English) written the Spanish way, its status and the headings in
    # Spanish, the inputs at the end in Spanish too
    assert "| Tasa de éxito | 31,2\u00a0% |" in text and "🟢 bien" in text
    assert "## Alertas" in text and "## Archivos de entrada y calidad de datos" in text
    assert "Win rate" not in text and "Inputs and data quality" not in text
