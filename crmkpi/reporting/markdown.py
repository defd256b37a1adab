"""Markdown renderer: the report for e-mail and chat, sent by cron.

GitHub-flavoured tables; long tables are cut at MAX_ROWS with a line saying how many rows more
the workbook or JSON hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmkpi.reporting.diff_view import changed_tables, diff_cell, summary_rows
from crmkpi.reporting.format import (
    attention_alerts,
    column_label,
    covered_text,
    display_path,
    format_cell,
    format_change,
    format_value,
    input_text,
    inputs_line,
    kpi_value_lines,
    number_text,
    quality_alerts,
    skipped_lines,
    sparkline,
)
from crmkpi.reporting.frames import NamedFrame, display_text
from crmkpi.reporting.i18n import t
from crmkpi.reporting.i18n.localize import in_report_language
from crmkpi.reporting.model import Report, TableResult
from crmkpi.reporting.safe_text import markdown_text

if TYPE_CHECKING:
    import polars as pl

    from crmkpi.diff.compare import DealDiff

EXTENSIONS = (".md", ".markdown")
BINARY = False

MAX_ROWS = 20
STATUS_MARK = {"ok": "🟢", "warn": "🟡", "bad": "🔴"}


cell = markdown_text  # text from the data made inert (see safe_text)


def _table(headers: list[str], rows: list[list[str]], right: list[bool]) -> list[str]:
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---:" if r else "---" for r in right) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _kpis(report: Report, kpi_ids: list[str]) -> list[str]:
    """The KPI table with the terminal's columns at full width: the period values beside the
    change they make, the last run's value where history has one."""
    kpis = [report.kpis[k] for k in kpi_ids]
    comparison = report.comparison
    current = comparison.current_name if comparison and comparison.basis == "period" else ""
    previous = (comparison.previous_name or t("Previous")) if comparison else ""
    headers = [t("KPI"), t("Value"), t("Target"), t("Status"), current, previous, t("Last run")]
    headers += [t("Change"), t("Trend")]
    rows = [
        [
            k.label,
            " · ".join(kpi_value_lines(k)),
            k.target or "",
            f"{STATUS_MARK[k.status]} {t(k.status, 'status')}" if k.status in STATUS_MARK else "",
            format_value(k.latest, k.unit, k.currency) if current and k.latest is not None else "",
            format_value(k.previous, k.unit, k.currency) if k.previous is not None else "",
            format_value(k.history_previous, k.unit, k.currency)
            if k.history_previous is not None
            else "",
            format_change(k),
            sparkline([v for _, v in k.trend]),
        ]
        for k in kpis
    ]
    keep = [i for i in range(len(headers)) if i < 2 or (headers[i] and any(r[i] for r in rows))]
    return _table(
        [headers[i] for i in keep],
        [[r[i] for i in keep] for r in rows],
        [i == 1 or 4 <= i <= 7 for i in keep],
    )


def _frame(result: TableResult, report: Report) -> list[str]:
    frame = result.frame
    if frame.height == 0:
        return ["_No rows._"]

    def unit(c: str) -> str:
        return result.units.get(c) or (report.kpis[c].unit if c in report.kpis else "")

    headers = [report.kpis[c].label if c in report.kpis else column_label(c) for c in frame.columns]
    own_period = report.period if result.id == "by_period" else None
    rows = [
        [
            format_cell(v, c, unit(c), own_period, report.calendar)
            for c, v in zip(frame.columns, row, strict=True)
        ]
        for row in frame.head(MAX_ROWS).iter_rows()
    ]
    lines = _table(headers, rows, [frame[c].dtype.is_numeric() for c in frame.columns])
    if frame.height > MAX_ROWS:
        more = t(
            "{count} more rows in the workbook or JSON.",
            count=number_text(frame.height - MAX_ROWS, 0),
        )
        lines += ["", f"_{more}_"]
    if result.note:
        lines += ["", f"_{cell(result.note)}_"]
    return lines


@in_report_language
def render(report: Report, **_: Any) -> str:
    """The report in the terminal's order: header with the inputs in one line, alerts, the
    sections, then inputs, data quality and what was not computed."""
    lines = [f"# {report.title}", "", f"- {t('Period: {period}', period=covered_text(report))}"]
    if report.comparison:
        lines.append(f"- {t('Change: {comparison}', comparison=report.comparison.label)}")
    lines.append(f"- {t('Trend: by {period}', period=t(report.period or '', 'period'))}")
    lines.append(f"- {t('Inputs: {inputs}', inputs=inputs_line(report))}")
    lines += ["", f"## {t('Alerts')}", ""]
    alerts = attention_alerts(report)
    if alerts:
        lines += [f"- **{t(a.severity, 'status')}**: {cell(a.message)}" for a in alerts]
    else:
        lines.append(f"_{t('No alerts.')}_")
    for section in report.sections:
        lines += ["", f"## {section.title}", ""]
        if section.skipped:
            lines.append(f"_{t('Skipped: {reason}.', reason=section.skipped)}_")
            continue
        if section.kpis:
            lines += _kpis(report, section.kpis)
        for table_id in section.tables:
            result = report.tables[table_id]
            if result.title.lower() != section.title.lower():
                lines += ["", f"### {result.title}", ""]
            elif lines[-1]:
                lines.append("")
            lines += _frame(result, report)
    lines += ["", f"## {t('Inputs and data quality')}", ""]
    lines += [f"- {input_text(i, f'`{display_path(i.path)}`')}" for i in report.inputs]
    lines += [f"- **{t(a.severity, 'status')}**: {cell(a.message)}" for a in quality_alerts(report)]
    left_out = skipped_lines(report)
    if left_out:
        heading = f"### {t('Not computed')}"
        lines += ["", heading, ""] + [f"- {cell(line)}" for line in left_out]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def frame_markdown(frame: pl.DataFrame, units: dict[str, str] | None = None) -> str:
    """One frame as a table, every row (an ad-hoc answer is not cut like the report's)."""
    units = units or {}
    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---:" if frame[c].dtype.is_numeric() else "---" for c in frame.columns)
    lines = [header, rule + "|"]
    for row in frame.iter_rows():
        cells = [
            cell(display_text(v, units.get(c, ""))) for c, v in zip(frame.columns, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_frames(frames: list[NamedFrame], **_: Any) -> str:
    parts = []
    for f in frames:
        heading = f"### {f.title or f.name}\n\n" if len(frames) > 1 else ""
        parts.append(heading + frame_markdown(f.frame, f.units))
    return "\n".join(parts)


def render_diff(diff: DealDiff) -> str:
    lines = [f"# Changes: {cell(diff.snapshots[0])} -> {cell(diff.snapshots[-1])}", ""]
    lines += ["| Change | Value |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in summary_rows(diff)]
    for _table_id, title, frame in changed_tables(diff):
        lines += ["", f"## {title} ({frame.height})", ""]
        lines.append("| " + " | ".join(cell(c) for c in frame.columns) + " |")
        lines.append(
            "|" + "|".join("---:" if t.is_numeric() else "---" for t in frame.schema.values()) + "|"
        )
        for row in frame.iter_rows(named=True):
            lines.append("| " + " | ".join(cell(diff_cell(c, v)) for c, v in row.items()) + " |")
    if diff.notes:
        lines += ["", *(f"> note: {cell(n)}" for n in diff.notes)]
    return "\n".join(lines) + "\n"
