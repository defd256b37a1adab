"""Excel renderer: a workbook people can filter, sort, chart and forward.

Summary (KPIs with targets, status colours and change), a Trends sheet with line charts, one
sheet per report table as a real Excel table (filters, banded rows, frozen header, number
formats), native charts for the funnel, owners and MRR movements, the inputs, what was not
computed, the alerts, and a Definitions sheet with each KPI's formula. Sheet names, headings
and labels are in the report's language, and a right-to-left language's sheets run right to
left; numbers stay numbers, shown by Excel in the reader's own settings.

Text from the data is always written as text: a cell starting with = + - @ or a control
character never becomes a formula (CSV/Excel formula injection).
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from typing import Any

import polars as pl
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from crmkpi.metrics.calendars import period_label
from crmkpi.reporting.charts import chart_for
from crmkpi.reporting.format import attention_alerts, column_label, covered_text, inputs_line
from crmkpi.reporting.frames import NamedFrame
from crmkpi.reporting.i18n import is_rtl, t
from crmkpi.reporting.i18n.localize import in_report_language
from crmkpi.reporting.model import KpiValue, Report, TableResult
from crmkpi.reporting.safe_text import xlsx_text

EXTENSIONS = (".xlsx",)
BINARY = True

STATUS_FILL = {
    "ok": PatternFill("solid", fgColor="C6EFCE"),
    "warn": PatternFill("solid", fgColor="FFEB9C"),
    "bad": PatternFill("solid", fgColor="FFC7CE"),
}
STATUS_FONT = {"ok": "006100", "warn": "9C5700", "bad": "9C0006"}
# Ratios change in percentage points and scores in points, as in every other format.
CHANGE_FORMATS = {
    "pp": '+0.0" pp";-0.0" pp";0.0" pp"',
    "points": '+0.0" pts";-0.0" pts";0.0" pts"',
    "share": "+0.0%;-0.0%;0.0%",
}
CHANGE_FONT = {"good": "006100", "bad": "9C0006", "flat": "7F7F7F"}  # read with the direction
TABLE_STYLE = "TableStyleMedium2"
MAX_TREND_CHARTS = 60
PERIOD_FORMATS = {"day": "yyyy-mm-dd", "week": "yyyy-mm-dd", "month": "yyyy-mm"}
INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
BOLD = Font(bold=True)
TABLE_TOP = 4  # table sheets: title in row 1, how it was computed in row 2, header in row 4
CHART_BESIDE_MAX_COLUMNS = 8
CHART_COLUMNS = 8  # a 12 cm chart spans about 7 default-width columns


def number_format(unit: str, currency: str | None = None) -> str:
    """The Excel number format for a unit: 0.0% for ratios, #,##0 "EUR" for money."""
    if unit == "ratio":
        return "0.0%"
    if unit == "multiple":
        return '0.0"x"'
    if unit in ("currency", "currency_per_day"):
        suffix = f' "{currency}"' if currency else ""
        per_day = '"/d"' if unit == "currency_per_day" else ""
        return f"#,##0{suffix}{per_day}"
    if unit == "days":
        return '0.0 "d"'
    if unit == "minutes":
        return '#,##0 "min"'
    if unit in ("months", "score"):
        return "0.0"
    if unit == "count":
        return "#,##0"
    return "General"


def put(ws: Worksheet, row: int, column: int, value: Any, fmt: str | None = None) -> Cell:
    """Write one cell; strings are forced to text so data can never inject a formula."""
    if isinstance(value, float) and value != value:
        value = None
    cell = ws.cell(row=row, column=column)
    if isinstance(value, list | dict | tuple):
        value = str(value)
    if isinstance(value, str):
        text, formula_like = xlsx_text(value)
        cell.value = text
        cell.data_type = "s"  # never "f", whatever the first character is
        if formula_like:
            cell.quotePrefix = True
    else:
        cell.value = value
    if fmt:
        cell.number_format = fmt
    elif isinstance(value, datetime):
        has_time = value.hour or value.minute or value.second
        cell.number_format = "yyyy-mm-dd hh:mm" if has_time else "yyyy-mm-dd"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    return cell


class _Names:
    """Unique sheet titles (31 characters, no []:*?/\\) and table names (letters, digits, _)."""

    def __init__(self) -> None:
        self.sheets: set[str] = set()
        self.tables: set[str] = set()

    def sheet(self, title: str) -> str:
        base = INVALID_SHEET_CHARS.sub(" ", title).strip()[:31] or "Sheet"
        name, n = base, 2
        while name.lower() in self.sheets:
            name = f"{base[: 31 - len(str(n)) - 1]} {n}"
            n += 1
        self.sheets.add(name.lower())
        return name

    def table(self, title: str) -> str:
        base = re.sub(r"\W", "_", title, flags=re.ASCII).strip("_") or "Table"
        base = base if base[0].isalpha() else f"T_{base}"
        name, n = base, 2
        while name.lower() in self.tables:
            name, n = f"{base}_{n}", n + 1
        self.tables.add(name.lower())
        return name


def add_table(
    ws: Worksheet,
    names: _Names,
    title: str,
    headers: list[str],
    rows: list[list[Any]],
    formats: list[str | None],
    top: int = 1,
) -> tuple[int, int] | None:
    """Header and rows from `top`, as an Excel table; returns the data's (first, last) row."""
    seen: dict[str, int] = {}
    unique = []
    for h in headers:
        label = h or "Column"
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} {seen[label]}")
    for c, h in enumerate(unique, start=1):
        put(ws, top, c, h).font = BOLD
    for r, row in enumerate(rows, start=top + 1):
        for c, value in enumerate(row, start=1):
            put(ws, r, c, value, formats[c - 1])
    widths = [len(h) + 3 for h in unique]  # room for the filter button
    for row in rows[:200]:
        for c, value in enumerate(row):
            widths[c] = max(widths[c], min(len(_shown(value)), 60))
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = max(8, w + 2)
    if not rows:
        put(ws, top + 1, 1, "no rows")
        return None
    ref = f"A{top}:{get_column_letter(len(unique))}{top + len(rows)}"
    table = Table(displayName=names.table(title), ref=ref)
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    ws.add_table(table)
    return top + 1, top + len(rows)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return "2025-01-01 00:00"
    return "" if value is None else str(value)


def _summary(wb: Workbook, report: Report, names: _Names) -> None:
    ws = wb.active
    ws.title = names.sheet(t("Summary"))
    put(ws, 1, 1, report.title).font = Font(bold=True, size=14)
    put(ws, 2, 1, t("Period"))
    put(ws, 2, 2, covered_text(report))
    put(ws, 3, 1, t("Change"))
    put(ws, 3, 2, report.comparison.label if report.comparison else "")
    put(ws, 4, 1, t("Generated"))
    put(ws, 4, 2, report.generated_at.strftime("%Y-%m-%d %H:%M"))
    put(ws, 5, 1, t("Inputs"))
    put(ws, 5, 2, inputs_line(report, in_workbook=True))
    # What needs attention comes before the KPIs, as in every other format.
    put(ws, 6, 1, t("Alerts")).font = Font(bold=True)
    alerts = attention_alerts(report)
    for i, alert in enumerate(alerts):
        put(ws, 7 + i, 1, alert.severity)
        put(ws, 7 + i, 2, alert.message)
    if not alerts:
        put(ws, 7, 2, t("No alerts."))
    comparison = report.comparison
    if comparison and comparison.current_name:
        current = t("This period ({period})", period=comparison.current_name)
    else:
        current = t("This period")
    if comparison and comparison.previous_name:
        previous = t("Previous ({period})", period=comparison.previous_name)
    else:
        previous = t("Previous period")
    headers = [t("Group"), t("KPI"), t("Value"), t("Target"), t("Status"), current, previous]
    headers += [t("Change"), t("Unit"), t("KPI id")]
    rows, formats, directions, change_formats, statuses = [], [], [], [], []
    for kpi in report.kpis.values():
        if kpi.reason and not kpi.by_currency:
            continue
        for label, currency, value in _kpi_lines(kpi):
            rows.append(
                [kpi.group, label, value, kpi.target, _status(kpi.status), kpi.latest]
                + [kpi.previous]
                + [kpi.change_value, kpi.unit, kpi.id]
            )
            formats.append(number_format(kpi.unit, currency))
            directions.append(kpi.change_direction)
            statuses.append(kpi.status)
            change_formats.append(CHANGE_FORMATS[kpi.change_unit or "share"])
    top = 7 + max(1, len(alerts)) + 1
    span = add_table(ws, names, "KPIs", headers, rows, [None] * len(headers), top)
    for i, fmt in enumerate(formats):
        r = top + 1 + i
        for c in (3, 6, 7):
            ws.cell(row=r, column=c).number_format = fmt
        change = ws.cell(row=r, column=8)
        change.number_format = change_formats[i]
        if directions[i] in CHANGE_FONT:
            change.font = Font(color=CHANGE_FONT[directions[i]])
        status = ws.cell(row=r, column=5)
        state = statuses[i]
        if state in STATUS_FILL:
            status.fill = STATUS_FILL[state]
            status.font = Font(bold=True, color=STATUS_FONT[state])
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = max(24, *(len(r[1]) + 2 for r in rows)) if rows else 24
    ws.column_dimensions["C"].width = 16
    if span:
        ws.freeze_panes = f"C{top + 1}"


def _status(status: str | None) -> str | None:
    return t(status, "status") if status else status


def _kpi_lines(kpi: KpiValue) -> list[tuple[str, str | None, float | None]]:
    if kpi.by_currency:
        return [(f"{kpi.label} ({code})", code, v) for code, v in kpi.by_currency.items()]
    return [(kpi.label, kpi.currency, kpi.value)]


def _trends(wb: Workbook, report: Report, names: _Names) -> None:
    """KPIs down, periods across (reads and prints like the KPI table); a line chart per KPI."""
    kpis = [k for k in report.kpis.values() if any(v is not None for _, v in k.trend)]
    if not kpis:
        return
    ws = wb.create_sheet(names.sheet(t("Trends")))
    labels = [p for p, _ in kpis[0].trend]
    if report.trend_partial:
        labels[-1] = t("{period} (partial)", period=labels[-1])
    headers = [t("KPI"), *labels]
    rows = [[k.label, *(v for _, v in k.trend)] for k in kpis]
    span = add_table(ws, names, "Trends", headers, rows, [None] * len(headers))
    ws.freeze_panes = "B2"
    if span is None:
        return
    last_col = len(headers)
    charts = wb.create_sheet(names.sheet(t("Trend charts")))
    for i, kpi in enumerate(kpis):
        row = span[0] + i
        fmt = number_format(kpi.unit, kpi.currency)
        for c in range(2, last_col + 1):
            ws.cell(row=row, column=c).number_format = fmt
        if i >= MAX_TREND_CHARTS:
            continue
        chart = LineChart()
        chart.title = kpi.label
        chart.legend = None
        chart.height, chart.width = 6, 12
        values = Reference(ws, min_col=1, max_col=last_col, min_row=row, max_row=row)
        chart.add_data(values, from_rows=True, titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, max_col=last_col, min_row=1, max_row=1))
        chart.y_axis.number_format = fmt
        for series in chart.series:
            series.smooth = False  # a smoothed line invents values between periods
        _show_axes(chart)
        col = get_column_letter(1 + (i % 3) * CHART_COLUMNS)
        charts.add_chart(chart, f"{col}{1 + (i // 3) * 13}")


def _show_axes(chart: Any) -> None:
    # openpyxl 3.1 marks axes deleted unless told otherwise; Excel then draws bare plots.
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _table_sheet(wb: Workbook, report: Report, result: TableResult, names: _Names) -> None:
    ws = wb.create_sheet(names.sheet(result.title))
    frame = result.frame
    if result.id == "by_period" and report.calendar != "gregorian" and report.period:
        # Excel has no Jalali date format: the periods are written as their names.
        labels = [period_label(s, report.period, report.calendar) for s in frame["period"]]
        frame = frame.with_columns(pl.Series("period", labels, dtype=pl.String))
    units = {c: result.units.get(c) or _kpi_unit(report, c) for c in frame.columns}
    currency = _frame_currency(frame)
    formats = [
        _period_format(frame[c], report.period if result.id == "by_period" else None)
        if c == "period" and frame[c].dtype.is_temporal()
        else (number_format(units[c], currency) if units[c] else None)
        for c in frame.columns
    ]
    rows = [list(r) for r in frame.iter_rows()]
    headers = [report.kpis[c].label if c in report.kpis else column_label(c) for c in frame.columns]
    put(ws, 1, 1, result.title).font = Font(bold=True, size=13)
    if result.note:
        put(ws, 2, 1, result.note).font = Font(italic=True, color="595959")
    span = add_table(ws, names, result.id, headers, rows, formats, top=TABLE_TOP)
    ws.freeze_panes = f"B{TABLE_TOP + 1}"
    if span is not None:
        _table_chart(ws, result, span, len(headers))


def _period_format(column: Any, period: str | None) -> str:
    """yyyy-mm for months (and for any column of month starts), yyyy-mm-dd otherwise."""
    if period is not None:
        return PERIOD_FORMATS.get(period, "yyyy-mm")
    starts = column.drop_nulls()
    if starts.dtype.is_temporal() and starts.len() and (starts.dt.day() == 1).all():
        return "yyyy-mm"
    return "yyyy-mm-dd"


def _kpi_unit(report: Report, column: str) -> str:
    return report.kpis[column].unit if column in report.kpis else ""


def _frame_currency(frame: Any) -> str | None:
    if "currency" not in frame.columns:
        return None
    codes = frame["currency"].drop_nulls().unique().to_list()
    return codes[0] if len(codes) == 1 else None


def _table_chart(ws: Worksheet, result: TableResult, span: tuple[int, int], width: int) -> None:
    """Funnel bars, owner comparison and MRR movements as native charts beside the table."""
    spec = chart_for(result)
    if spec is None:
        return
    first, last = span
    columns = list(result.frame.columns)
    series = [columns.index(c) + 1 for c in spec.measures]
    kind, title = spec.kind, spec.title
    chart = BarChart()
    chart.type = kind
    chart.title = title
    chart.height, chart.width = 8, 16
    for col in series:
        values = Reference(ws, min_col=col, min_row=first - 1, max_row=last)
        chart.add_data(values, titles_from_data=True)
    category = columns.index(spec.category) + 1
    chart.set_categories(Reference(ws, min_col=category, min_row=first, max_row=last))
    if kind == "bar":
        chart.x_axis.scaling.orientation = "maxMin"  # first row on top, as in the table
        chart.legend = None
    else:
        chart.grouping = "stacked"
        chart.overlap = 100
    _show_axes(chart)
    # Beside a narrow table; under a wide one, where it is seen without scrolling sideways.
    if width <= CHART_BESIDE_MAX_COLUMNS:
        ws.add_chart(chart, f"{get_column_letter(width + 2)}{TABLE_TOP}")
    else:
        ws.add_chart(chart, f"A{last + 3}")


def _plain_sheet(
    wb: Workbook, names: _Names, title: str, headers: list[str], rows: list[list[Any]]
) -> None:
    ws = wb.create_sheet(names.sheet(title))
    add_table(ws, names, title, headers, rows, [None] * len(headers))
    ws.freeze_panes = "A2"


def _fit_page(ws: Worksheet) -> None:
    """Printing (or PDF export) puts each sheet on landscape pages one page wide."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


@in_report_language
def render(report: Report, **_: Any) -> bytes:
    """The workbook as bytes (written atomically by output.write_atomic)."""
    wb = Workbook()
    names = _Names()
    _summary(wb, report, names)
    _trends(wb, report, names)
    for section in report.sections:
        for table_id in section.tables:
            _table_sheet(wb, report, report.tables[table_id], names)
    _plain_sheet(
        wb, names, t("Alerts"), [t("Severity"), t("Kind"), t("KPI"), t("Owner"), t("Message")],
        [[a.severity, a.kind, a.kpi, a.owner, a.message] for a in report.alerts],
    )  # fmt: skip
    _plain_sheet(
        wb, names, t("Inputs"), [t("File"), t("Table"), t("Rows read"), t("Rows loaded"),
                                 t("Rows rejected"), t("Format"), t("Sheet"), t("Encoding"),
                                 t("Preset")],
        [[i.path, i.table, i.rows_read, i.rows_loaded, i.rows_rejected, i.format, i.sheet,
          i.encoding, i.preset] for i in report.inputs],
    )  # fmt: skip
    _plain_sheet(
        wb, names, t("Not computed"), [t("KPI or table"), t("Reason")],
        [[s.get("kpi") or s.get("table") or s.get("file"), s.get("detail", s["reason"])]
         for s in report.skipped],
    )  # fmt: skip
    _plain_sheet(
        wb, names, t("Definitions"), [t("KPI id"), t("KPI"), t("Group"), t("Unit"),
                                      t("Better when"), t("Formula")],
        [[k.id, k.label, k.group, k.unit, t(k.direction, "direction"), k.formula]
         for k in report.kpis.values()]
        + [[table.id, table.title, t("table"), "", "", table.doc]
           for table in report.tables.values()],
    )  # fmt: skip
    for ws in wb.worksheets:
        _fit_page(ws)
        if is_rtl(report.language):
            ws.sheet_view.rightToLeft = True
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def render_frames(frames: list[NamedFrame], **_: Any) -> bytes:
    """A workbook with one sheet per frame, every row, each column in its unit's format."""
    wb = Workbook()
    names = _Names()
    for f in frames:
        ws = wb.create_sheet(names.sheet(f.title or f.name))
        formats = [number_format(f.units[c]) if c in f.units else None for c in f.frame.columns]
        rows = [list(row) for row in f.frame.iter_rows()]
        add_table(ws, names, f.name, f.frame.columns, rows, formats)
        ws.freeze_panes = "A2"
        _fit_page(ws)
    if frames:
        wb.remove(wb.worksheets[0])  # the empty sheet every new workbook starts with
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
