"""Each chart plots what its title says: the HTML bars and the workbook's native charts are read
back and compared with the report's own table numbers."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from crmkpi.reporting import excel, html
from crmkpi.reporting.model import Report, TableResult

CHART_NS = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
            "a": "http://schemas.openxmlformats.org/drawingml/2006/main"}  # fmt: skip


@pytest.fixture
def ranked_report(report: Report) -> Report:
    """Owners ranked 1..3 by revenue, with deals in another order: a chart of the rank would
    give the worst rep the longest bar, a chart of deals would put Chen Li first."""
    owners = pl.DataFrame(
        {
            "owner": ["Ana Ruiz", "Bo Berg", "Chen Li"],
            "rank": [1, 2, 3],
            "deals": [5, 9, 20],
            "revenue_won": [80000.0, 30000.0, 13456.0],
        }
    )
    report.tables["owners"] = TableResult(
        "owners", "Owners", owners,
        units={"rank": "count", "deals": "count", "revenue_won": "currency"},
    )  # fmt: skip
    return report


class _Bars(HTMLParser):
    """Every <svg class="chart">: its title, series and (label, value) bars."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg" and a.get("class") == "chart":
            self.charts.append({"title": a["data-title"], "series": a["data-series"], "bars": []})
        elif tag == "rect" and "data-label" in a:
            value = a["data-value"]
            self.charts[-1]["bars"].append((a["data-label"], float(value) if value else None))


def _html_charts(report: Report) -> dict[str, dict]:
    parser = _Bars()
    parser.feed(html.render(report))
    return {c["title"]: c for c in parser.charts}


def test_html_owner_bars_plot_revenue_not_rank(ranked_report: Report) -> None:
    charts = _html_charts(ranked_report)
    owners = charts["Revenue won by owner"]
    assert owners["series"] == "revenue_won"
    # the table's own numbers, in its order (rank 1 first, longest bar)
    assert owners["bars"] == [("Ana Ruiz", 80000.0), ("Bo Berg", 30000.0), ("Chen Li", 13456.0)]


def test_html_funnel_bars_plot_deals_reached(report: Report) -> None:
    funnel = _html_charts(report)["Deals reaching each stage"]
    frame = report.tables["funnel"].frame
    assert funnel["bars"] == list(zip(frame["stage"], map(float, frame["reached"]), strict=True))


def test_html_long_labels_are_not_cut(report: Report) -> None:
    long_stage = "Negotiation with procurement and legal review (enterprise)"
    frame = report.tables["funnel"].frame
    report.tables["funnel"].frame = frame.with_columns(
        pl.Series("stage", [long_stage, *frame["stage"][1:]])
    )
    text = html.render(report)
    assert f">{long_stage}</text>" in text
    svg = re.search(r'<svg class="chart" width="(\d+)"', text)
    # the label column is as wide as the label: 7 px a character at 12 px
    assert svg and int(svg.group(1)) >= 7 * len(long_stage)


def test_html_wide_tables_scroll_and_page_prints_landscape(report: Report) -> None:
    text = html.render(report)
    assert "@page{size:A4 landscape" in text
    assert text.count('<div class="wide"><table>') == len(
        [t for s in report.sections if not s.skipped for t in s.tables]
    )


def test_html_zero_change_is_neutral(report: Report) -> None:
    # revenue 20,000 against 20,040: -0.2%, shown as 0%, which must not be red
    kpi = report.kpis["revenue_won"]
    kpi.latest, kpi.previous, kpi.change, kpi.delta = 20000.0, 20040.0, -40 / 20040, -40.0
    assert kpi.change_direction == "flat"
    row = next(r for r in html.render(report).split("<tr>") if ">Revenue won<" in r)
    assert '<td class="n flat">0%</td>' in row


def _workbook_charts(data: bytes) -> list[dict]:
    """Title, and per series its name and values' cell ranges, from each chart's XML."""
    charts = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in sorted(n for n in zf.namelist() if n.startswith("xl/charts/chart")):
            root = ET.fromstring(zf.read(name))
            title = "".join(t.text or "" for t in root.iterfind(".//c:title//a:t", CHART_NS))
            series = [
                {part: ser.find(f"c:{part}//c:f", CHART_NS).text for part in ("tx", "cat", "val")}
                for ser in root.iterfind(".//c:ser", CHART_NS)
            ]
            charts.append({"title": title, "series": series})
    return charts


def _cells(wb, ref: str) -> list:  # noqa: ANN001
    sheet, cells = re.fullmatch(r"'(.+)'!(.+)", ref).groups()
    block = wb[sheet][cells.replace("$", "")]
    if not isinstance(block, tuple):
        return [block.value]
    return [c.value for row in block for c in row]


def test_workbook_charts_plot_what_their_titles_say(ranked_report: Report) -> None:
    data = excel.render(ranked_report)
    wb = load_workbook(io.BytesIO(data))
    bars = {c["title"]: c["series"] for c in _workbook_charts(data) if c["series"][0]["cat"]}
    owners = bars["Revenue won by owner"]
    assert len(owners) == 1
    assert _cells(wb, owners[0]["tx"]) == ["Revenue won"]
    assert _cells(wb, owners[0]["val"]) == [80000.0, 30000.0, 13456.0]
    assert _cells(wb, owners[0]["cat"]) == ["Ana Ruiz", "Bo Berg", "Chen Li"]
    funnel = bars["Deals reaching each stage"]
    assert _cells(wb, funnel[0]["val"]) == ranked_report.tables["funnel"].frame["reached"].to_list()
    mrr = bars["MRR movements by period"]
    movements = ranked_report.tables["mrr_movements"].frame
    assert [_cells(wb, s["tx"])[0] for s in mrr] == ["New", "Churned"]
    assert [_cells(wb, s["val"]) for s in mrr] == [movements["new"].to_list(),
                                                   movements["churned"].to_list()]  # fmt: skip


def test_workbook_chart_skipped_when_amounts_are_in_two_currencies(report: Report) -> None:
    movements = report.tables["mrr_movements"].frame
    report.tables["mrr_movements"].frame = movements.with_columns(
        pl.Series("currency", ["EUR", "USD", "EUR"])
    )
    titles = [c["title"] for c in _workbook_charts(excel.render(report))]
    assert "MRR movements by period" not in titles  # EUR and USD bars on one axis would mislead
    assert "Deals reaching each stage" in titles


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_prints_on_a4_landscape(report: Report, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html.render(report), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", f"--print-to-pdf={pdf}", page.as_uri()],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    # A4 landscape is 297 x 210 mm = 841.9 x 595.3 pt
    assert boxes and all(abs(float(w) - 841.9) < 2 and abs(float(h) - 595.3) < 2 for w, h in boxes)
