"""The workbook, read back with openpyxl and as raw XML: sheets, tables, formats, charts, and
text from the data that must never become a formula."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from injected_text import INJECTED
from openpyxl import load_workbook

from crmkpi.reporting import excel
from crmkpi.reporting.model import Report


@pytest.fixture
def workbook_bytes(report: Report) -> bytes:
    return excel.render(report)


@pytest.fixture
def wb(workbook_bytes: bytes):  # noqa: ANN201
    return load_workbook(io.BytesIO(workbook_bytes))


def _xml(data: bytes, prefix: str) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n).decode() for n in zf.namelist() if n.startswith(prefix)}


def test_sheets_in_order(wb) -> None:  # noqa: ANN001
    assert wb.sheetnames == [
        "Summary", "Trends", "Trend charts", "Funnel", "Owners", "Stuck deals",
        "MRR movements", "Alerts", "Inputs", "Not computed", "Definitions",
    ]  # fmt: skip


def test_summary_kpis_with_formats_and_status_colours(wb) -> None:  # noqa: ANN001
    ws = wb["Summary"]
    assert list(ws.tables) == ["KPIs"]
    table = ws.tables["KPIs"]
    # the alert first (row 7), then the header at row 9; 4 single-currency KPIs + leads + MRR
    # in 2 currencies = 7 rows
    assert (ws["A6"].value, ws["B7"].value) == (
        "Alerts",
        "Revenue won 123,456 below target 150,000",
    )
    assert table.ref == "A9:J16"
    assert table.tableStyleInfo.showRowStripes is True
    assert ws.freeze_panes == "C10"
    rows = {ws.cell(r, 2).value: r for r in range(10, 17)}
    win = rows["Win rate"]
    assert ws.cell(win, 3).value == 0.3125
    assert ws.cell(win, 3).number_format == "0.0%"
    assert ws.cell(win, 5).value == "ok"
    assert ws.cell(win, 5).fill.fgColor.rgb.endswith("C6EFCE")  # green
    revenue = rows["Revenue won"]
    assert ws.cell(revenue, 3).number_format == '#,##0 "EUR"'
    assert ws.cell(revenue, 5).fill.fgColor.rgb.endswith("FFC7CE")  # red
    assert ws.cell(revenue, 8).value == -0.2  # change against the previous period
    assert ws.cell(revenue, 8).font.color.rgb.endswith("9C0006")  # a fall of revenue is bad
    assert ws.cell(win, 8).font.color.rgb.endswith("006100")  # a rise of win rate is good
    assert ws.cell(rows["Sales cycle (median)"], 5).fill.fgColor.rgb.endswith("FFEB9C")
    # mixed currencies: one row each, never summed
    assert ws.cell(rows["MRR (EUR)"], 3).value == 5000
    assert ws.cell(rows["MRR (USD)"], 3).value == 1200
    assert ws.cell(rows["MRR (USD)"], 3).number_format == '#,##0 "USD"'


def test_each_table_sheet_is_a_real_table(wb, report: Report) -> None:  # noqa: ANN001
    for sheet, table_id in [("Funnel", "funnel"), ("Owners", "owners"), ("Stuck deals",
                            "stuck_deals"), ("MRR movements", "mrr_movements")]:  # fmt: skip
        ws = wb[sheet]
        frame = report.tables[table_id].frame
        (name,) = ws.tables
        ref = ws.tables[name].ref
        last_col = chr(ord("A") + frame.width - 1)
        assert ref == f"A4:{last_col}{4 + frame.height}"
        assert ws.freeze_panes == "B5"
        assert ws.tables[name].autoFilter is not None
    owners = wb["Owners"]
    assert [c.value for c in owners[4]] == ["Owner", "Deals won", "Win rate", "Revenue won"]
    assert owners["C5"].number_format == "0.0%"
    assert owners["D5"].number_format == "#,##0"
    assert owners.column_dimensions["A"].width >= len(INJECTED)
    movements = wb["MRR movements"]
    assert movements["A5"].number_format == "yyyy-mm"
    assert wb["Funnel"]["A2"].value == "from current stages"


def test_injected_formula_stays_text(wb, workbook_bytes: bytes) -> None:  # noqa: ANN001
    cell = wb["Owners"]["A6"]
    assert cell.value == INJECTED
    assert cell.data_type == "s"
    sheets = _xml(workbook_bytes, "xl/worksheets/sheet")
    assert not any("<f>" in xml or "<f " in xml for xml in sheets.values())


def test_charts_point_at_their_tables(workbook_bytes: bytes) -> None:
    charts = _xml(workbook_bytes, "xl/charts/chart")
    refs = sorted(ref for xml in charts.values() for ref in re.findall(r"<f>([^<]+)</f>", xml))
    # funnel: counts B5:B8 (4 stages) by stage A5:A8
    assert "'Funnel'!$B$5:$B$8" in refs and "'Funnel'!$A$5:$A$8" in refs
    # owners: revenue (the currency column D) by owner
    assert "'Owners'!$D$5:$D$7" in refs
    # MRR movements: stacked new and churned per period
    assert "'MRR movements'!$C$5:$C$7" in refs and "'MRR movements'!$D$5:$D$7" in refs
    assert "'MRR movements'!$A$5:$A$7" in refs  # by period, not by currency (B)
    # trend lines: one per KPI with a trend (a row of the Trends sheet) over its 6 periods
    assert "'Trends'!$B$2:$G$2" in refs and "'Trends'!$B$1:$G$1" in refs
    assert "'Trends'!A2" in refs  # the series is named by the KPI
    kinds = " ".join(charts.values())
    assert kinds.count("<lineChart>") == 3  # deals won, win rate, revenue won
    assert kinds.count("<barChart>") == 3  # funnel, owners, MRR movements


def test_definitions_carry_each_formula(wb, report: Report) -> None:  # noqa: ANN001
    ws = wb["Definitions"]
    formulas = {ws.cell(r, 1).value: ws.cell(r, 6).value for r in range(2, ws.max_row + 1)}
    for kpi in report.kpis.values():
        assert formulas[kpi.id] == kpi.formula


def test_inputs_and_alerts_sheets(wb) -> None:  # noqa: ANN001
    inputs = wb["Inputs"]
    assert [c.value for c in inputs[2]][:5] == ["exports/deals.csv", "deals", 120, 118, 2]
    alerts = wb["Alerts"]
    assert alerts["A2"].value == "bad"
    assert alerts["E2"].value.startswith("Revenue won")


def test_empty_table_is_written_without_an_invalid_table(report: Report) -> None:
    report.tables["funnel"].frame = report.tables["funnel"].frame.head(0)
    wb = load_workbook(io.BytesIO(excel.render(report)))
    assert list(wb["Funnel"].tables) == []
    assert wb["Funnel"]["A5"].value == "no rows"


def test_sheet_and_table_names_are_valid_and_unique() -> None:
    names = excel._Names()
    assert names.sheet("Lost reasons: a/b [x]") == "Lost reasons  a b  x"
    assert names.sheet("A" * 40) == "A" * 31
    assert names.sheet("A" * 40) == "A" * 29 + " 2"
    assert names.table("1 by owner") == "T_1_by_owner"
    assert names.table("by owner") == "by_owner"
    assert names.table("by-owner") == "by_owner_2"


def test_a_partial_last_period_is_labelled(report: Report) -> None:
    report.trend_partial = True
    ws = load_workbook(io.BytesIO(excel.render(report)))["Trends"]
    assert [ws.cell(1, c).value for c in (6, 7)] == ["2025-05", "2025-06 (partial)"]


def test_trends_sheet_has_one_row_per_kpi_in_its_format(wb) -> None:  # noqa: ANN001
    ws = wb["Trends"]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    assert set(rows) == {"Deals won", "Win rate", "Revenue won"}
    win = rows["Win rate"]
    assert [ws.cell(win, c).value for c in range(2, 8)] == [0.2, 0.25, 0.3, 0.3, 0.25, 0.35]
    assert ws.cell(win, 2).number_format == "0.0%"
    assert ws.cell(rows["Deals won"], 4).value is None  # a period without a value stays empty


def test_persian_workbook_runs_right_to_left_in_persian(report: Report) -> None:
    report.language = "fa"
    book = load_workbook(io.BytesIO(excel.render(report)))
    assert book.sheetnames[:4] == ["خلاصه", "روندها", "نمودار روندها", "قیف فروش"]
    assert all(ws.sheet_view.rightToLeft for ws in book.worksheets)
    summary = book["خلاصه"]
    # the alert first (row 7), then the header at row 9, as in English
    assert summary["A6"].value == "هشدارها"
    assert [c.value for c in summary[9][:5]] == ["گروه", "شاخص", "مقدار", "هدف", "وضعیت"]
    # Values stay numbers (Excel shows them in the reader's own settings); status styled.
    rows = {r[1].value: r for r in summary.iter_rows(min_row=10)}
    assert rows["نرخ تبدیل"][2].value == 0.3125
    assert rows["نرخ تبدیل"][4].value == "خوب"
    assert rows["نرخ تبدیل"][4].fill.fgColor.rgb.endswith("C6EFCE")


def test_definitions_sheet_in_the_readers_language(report: Report) -> None:
    report.language = "es"
    book = load_workbook(io.BytesIO(excel.render(report)))
    assert not book.worksheets[0].sheet_view.rightToLeft
    rows = list(book["Definiciones"].iter_rows(values_only=True))
    assert rows[0] == ("Id del indicador", "Indicador", "Grupo", "Unidad", "Mejor cuando",
                       "Fórmula")  # fmt: skip
    assert rows[2][:5] == ("win_rate", "Tasa de éxito", "Pipeline", "ratio", "más alto")
