"""HTML renderer: one self-contained page (inline CSS and SVG, no scripts, no CDN).

Opens offline, survives being attached to an e-mail, and prints. Every value from the data is
escaped. The page is in the report's language; a right-to-left one (Persian) sets dir="rtl",
and the CSS uses logical sides (start, end, inline-start) so the whole layout mirrors.
"""

from __future__ import annotations

from typing import Any

from crmkpi.reporting.charts import Chart, chart_for
from crmkpi.reporting.format import (
    attention_alerts,
    column_label,
    covered_text,
    format_cell,
    format_change,
    format_value,
    input_text,
    inputs_line,
    kpi_value_lines,
    number_text,
    quality_alerts,
    skipped_lines,
)
from crmkpi.reporting.frames import NamedFrame, display_text
from crmkpi.reporting.i18n import is_rtl, t
from crmkpi.reporting.i18n.localize import in_report_language
from crmkpi.reporting.model import Alert, KpiValue, Report, TableResult
from crmkpi.reporting.safe_text import html_text as escape

EXTENSIONS = (".html", ".htm")
BINARY = False

MAX_ROWS = 50
LABEL_PX = 7  # width of one character of a 12px label, generous so no label is clipped
CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:2em auto;
max-width:1100px;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;margin-top:1.8em}
h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:3px 10px;border-bottom:1px solid #eee}
th{text-align:start;background:#f6f6f6}td.n{text-align:end;font-variant-numeric:tabular-nums}
tr.group td{font-weight:bold;background:#fafafa}
.meta{color:#555}.note,.muted{color:#777;font-size:.9em}
.ok{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e}.good{color:#1a7f37}.flat{color:#777}
.status{font-weight:bold}svg{vertical-align:middle}
.alert-bad{border-inline-start:4px solid #cf222e}
.alert-warn{border-inline-start:4px solid #d4a72c}
li.alert{padding:2px 8px;margin:3px 0;list-style:none}
.wide{overflow-x:auto;max-width:100%}figure{margin:.5em 0}figcaption{font-weight:bold}
svg.chart{max-width:100%;height:auto}
@page{size:A4 landscape;margin:10mm}
@media print{body{max-width:none;margin:0;font-size:9px}.wide{overflow:visible}
th,td{padding:1px 4px}h2{break-after:avoid}tr,figure{break-inside:avoid}}
"""


def sparkline_svg(values: list[float | None], width: int = 96, height: int = 20) -> str:
    """The trend as an SVG polyline; gaps (periods without a value) break the line."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(known), max(known)
    step = width / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            segments.append([])
            continue
        y = height / 2 if high == low else height - 2 - (v - low) / (high - low) * (height - 4)
        segments[-1].append(f"{i * step:.1f},{y:.1f}")
    lines = "".join(
        f'<polyline points="{" ".join(s)}" fill="none" stroke="#0969da" stroke-width="1.5"/>'
        for s in segments
        if len(s) > 1
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f"{lines}</svg>"
    )


def bars_svg(chart: Chart, labels: list[str], values: list[float | None], unit: str) -> str:
    """Horizontal bars, one per row, labelled with the formatted value; the title says what
    they measure, and each bar carries its label and value as data for checks."""
    largest = max((v for v in values if v is not None and v > 0), default=0)
    if largest <= 0:
        return ""
    row, bar_w, value_w = 22, 330, 90
    label_w = LABEL_PX * max(len(label) for label in labels) + 12  # whole labels, never cut
    parts = []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = i * row
        length = 0 if v is None or v <= 0 else max(1.0, v / largest * bar_w)
        data = f'data-label="{escape(label, quote=True)}" data-value="{"" if v is None else v}"'
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="14" fill="#54aeff" '
            f"{data}/>"
            f'<text x="{label_w + length + 4:.1f}" y="{y + 15}" font-size="12">'
            f"{escape(format_value(v, unit))}</text>"
        )
    width, height = label_w + bar_w + value_w, row * len(labels)
    title = escape(chart.title, quote=True)
    return (
        f"<figure><figcaption>{escape(chart.title)}</figcaption>"
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{title}" data-title="{title}" '
        f'data-series="{escape(chart.measures[0], quote=True)}" font-family="sans-serif" '
        f'direction="ltr">'
        f"{''.join(parts)}</svg></figure>"
    )


# The terminal's KPI columns at full width: (show key, header) after KPI and Value.
def _kpi_columns(report: Report, kpis: list[KpiValue]) -> list[tuple[str, str]]:
    comparison = report.comparison
    period_basis = comparison is not None and comparison.basis == "period"
    columns = [
        ("target", t("Target"), any(k.target for k in kpis)),
        ("status", t("Status"), any(k.status for k in kpis)),
        ("latest", comparison.current_name if comparison else "",
         period_basis and any(k.latest is not None for k in kpis)),
        ("previous", (comparison.previous_name or t("Previous")) if comparison else "",
         any(k.previous is not None for k in kpis)),
        ("history_previous", t("Last run"), any(k.history_previous is not None for k in kpis)),
    ]  # fmt: skip
    return [(key, header) for key, header, shown in columns if shown and header]


def _kpi_rows(report: Report, kpi_ids: list[str]) -> str:
    kpis = [report.kpis[k] for k in kpi_ids]
    columns = _kpi_columns(report, kpis)
    groups = {k.group for k in kpis}
    width = 4 + len(columns)
    out, current = [], None
    for kpi in kpis:
        if len(groups) > 1 and kpi.group != current:
            current = kpi.group
            out.append(f'<tr class="group"><td colspan="{width}">{escape(kpi.group)}</td></tr>')
        out.append(_kpi_row(kpi, [key for key, _ in columns]))
    head = f"<tr><th>{escape(t('KPI'))}</th><th>{escape(t('Value'))}</th>"
    head += "".join(f"<th>{escape(header)}</th>" for _, header in columns)
    tail = f"<th>{escape(t('Change'))}</th><th>{escape(t('Trend'))}</th></tr>"
    return f"<table>{head}{tail}{''.join(out)}</table>"


def _kpi_row(kpi: KpiValue, columns: list[str]) -> str:
    value = "<br>".join(escape(v) for v in kpi_value_lines(kpi))
    status = escape(kpi.status or "")
    change = escape(format_change(kpi))
    direction = kpi.change_direction or ""
    title = escape(kpi.formula, quote=True)
    cells = []
    for key in columns:
        if key == "status":
            word = escape(t(kpi.status, "status")) if kpi.status else ""
            cells.append(f'<td class="status {status}">{word}</td>')
        elif key == "target":
            cells.append(f'<td class="n">{escape(kpi.target or "")}</td>')
        else:
            shown = getattr(kpi, key)
            text = "" if shown is None else format_value(shown, kpi.unit, kpi.currency)
            cells.append(f'<td class="n">{escape(text)}</td>')
    return (
        f'<tr><td title="{title}">{escape(kpi.label)}</td><td class="n">{value}</td>'
        f"{''.join(cells)}"
        f'<td class="n {direction}">{change}</td>'
        f"<td>{sparkline_svg([v for _, v in kpi.trend])}</td></tr>"
    )


def _frame(result: TableResult, report: Report) -> str:
    frame = result.frame
    if frame.height == 0:
        return f'<p class="muted">{escape(t("No rows."))}</p>'

    def unit(c: str) -> str:
        return result.units.get(c) or (report.kpis[c].unit if c in report.kpis else "")

    numeric = {c: frame[c].dtype.is_numeric() for c in frame.columns}
    head = "".join(
        f"<th>{escape(report.kpis[c].label if c in report.kpis else column_label(c))}</th>"
        for c in frame.columns
    )
    own_period = report.period if result.id == "by_period" else None
    rows = []
    for row in frame.head(MAX_ROWS).iter_rows():
        cells = []
        for c, v in zip(frame.columns, row, strict=True):
            text = format_cell(v, c, unit(c), own_period, report.calendar)
            cells.append(
                f'<td class="n">{escape(text)}</td>' if numeric[c] else f"<td>{escape(text)}</td>"
            )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    html = f'<div class="wide"><table><tr>{head}</tr>{"".join(rows)}</table></div>'
    if frame.height > MAX_ROWS:
        count = number_text(frame.height - MAX_ROWS, 0)
        more = t("{count} more rows in the workbook or JSON.", count=count)
        html += f'<p class="muted">{escape(more)}</p>'
    chart = chart_for(result)
    if chart is not None and chart.kind == "bar":
        shown = frame.head(MAX_ROWS)
        labels = [format_value(v) for v in shown[chart.category].to_list()]
        measure = chart.measures[0]
        html = bars_svg(chart, labels, shown[measure].to_list(), unit(measure)) + html
    if result.note:
        html += f'<p class="note">{escape(result.note)}</p>'
    return html


@in_report_language
def render(report: Report, **_: Any) -> str:
    """The page in the terminal's order: header with the inputs in one line, alerts, the
    sections, then inputs, data quality and what was not computed."""
    meta = [t("Period: {period}", period=covered_text(report))]
    if report.comparison:
        meta.append(t("Change: {comparison}", comparison=report.comparison.label))
    meta.append(t("Trend: by {period}", period=t(report.period or "", "period")))
    meta.append(t("Inputs: {inputs}", inputs=inputs_line(report)))
    body = [
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="meta">{" · ".join(escape(m) for m in meta)}</p>',
        f"<h2>{escape(t('Alerts'))}</h2>",
        _alert_list(attention_alerts(report)) or f'<p class="muted">{escape(t("No alerts."))}</p>',
    ]
    for section in report.sections:
        body.append(f"<h2>{escape(section.title)}</h2>")
        if section.skipped:
            skipped = t("Skipped: {reason}.", reason=section.skipped)
            body.append(f'<p class="muted">{escape(skipped)}</p>')
            continue
        if section.kpis:
            body.append(_kpi_rows(report, section.kpis))
        for table_id in section.tables:
            result = report.tables[table_id]
            if result.title.lower() != section.title.lower():
                body.append(f"<h3>{escape(result.title)}</h3>")
            body.append(_frame(result, report))
    inputs = "".join(f"<li>{escape(input_text(i))}</li>" for i in report.inputs)
    body += [
        f"<h2>{escape(t('Inputs and data quality'))}</h2>",
        f'<ul class="meta">{inputs}</ul>' if inputs else "",
    ]
    body.append(_alert_list(quality_alerts(report)))
    left_out = skipped_lines(report)
    if left_out:
        items = "".join(f"<li>{escape(line)}</li>" for line in left_out)
        body.append(f'<h3>{escape(t("Not computed"))}</h3><ul class="muted">{items}</ul>')
    version = escape(report.version)
    body.append(f'<p class="muted">crmkpi {version}, {report.generated_at:%Y-%m-%d %H:%M}</p>')
    direction = ' dir="rtl"' if is_rtl(report.language) else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(report.language)}"{direction}><head>'
        '<meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body></html>\n"
    )


def _alert_list(alerts: list[Alert]) -> str:
    items = "".join(
        f'<li class="alert alert-{escape(a.severity)}">{escape(a.message)}</li>' for a in alerts
    )
    return f"<ul>{items}</ul>" if items else ""


def render_frames(frames: list[NamedFrame], title: str = "crmkpi", **_: Any) -> str:
    """Each frame as a titled table with every row (an ad-hoc answer is not cut)."""
    body = [f"<h1>{escape(title)}</h1>"]
    for f in frames:
        body.append(f"<h2>{escape(f.title or f.name)}</h2>")
        numeric = {c: f.frame[c].dtype.is_numeric() for c in f.frame.columns}
        head = "".join(f"<th>{escape(c)}</th>" for c in f.frame.columns)
        rows = []
        for row in f.frame.iter_rows():
            cells = []
            for c, v in zip(f.frame.columns, row, strict=True):
                text = escape(display_text(v, f.units.get(c, "")))
                cells.append(f'<td class="n">{text}</td>' if numeric[c] else f"<td>{text}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        body.append(f'<div class="wide"><table><tr>{head}</tr>{"".join(rows)}</table></div>')
        if f.frame.height == 0:
            body.append('<p class="muted">No rows.</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
