"""Terminal renderer: the report as rich tables that fit the terminal's width.

Narrow terminals lose the least useful columns first (trend, target, then table columns from
the right) instead of wrapping; wide ones get every column. Without a terminal, or with
NO_COLOR, the output has no colour and no box-drawing; `ascii_only` keeps it to plain ASCII.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from crmkpi.reporting.format import (
    attention_alerts,
    covered_text,
    format_change,
    format_value,
    input_text,
    inputs_line,
    kpi_value_lines,
    number_text,
    quality_alerts,
    skipped_lines,
    sparkline,
    windows_note,
)
from crmkpi.reporting.i18n import is_rtl, t, upper
from crmkpi.reporting.i18n.localize import in_report_language
from crmkpi.reporting.model import Alert, KpiValue, Report
from crmkpi.reporting.safe_text import terminal_console, terminal_line

# Named frames, diffs and history are drawn in terminal_frames; this format module offers them too.
from crmkpi.reporting.terminal_frames import print_diff as print_diff
from crmkpi.reporting.terminal_frames import print_frames as print_frames
from crmkpi.reporting.terminal_frames import print_records as print_records
from crmkpi.reporting.terminal_frames import render_frames as render_frames
from crmkpi.reporting.terminal_tables import Look, breakdown_table, frame_table, not_shown

EXTENSIONS = (".txt",)
BINARY = False

STATUS_STYLE = {"ok": "green", "warn": "yellow", "bad": "red"}
CHANGE_STYLE = {"good": "green", "bad": "red", "flat": "dim"}
MAX_INPUTS = 8


def look_for(console: Console, ascii_only: bool = False) -> Look:
    utf = (console.encoding or "").lower().replace("-", "").startswith("utf")
    plain = ascii_only or not utf
    boxes = console.is_terminal and not console.no_color and not plain
    return Look(width=console.width, unicode=not plain, boxes=boxes)


def _header(report: Report, look: Look) -> list[RenderableType]:
    title = Text(report.title, style="bold")
    if report.version:
        title.append(f"  crmkpi {report.version}", style="dim")
    lines: list[RenderableType] = [title]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(t("Period"), covered_text(report))
    if report.comparison is not None:
        grid.add_row(t("Change"), report.comparison.label)
    trend_length = max((len(k.trend) for k in report.kpis.values()), default=0)
    if trend_length:
        periods = {
            "period": t(report.period or "", "period"),
            "count": number_text(trend_length, 0),
        }
        text = (
            t("by {period}, last {count} periods, the last one partial", **periods)
            if report.trend_partial
            else t("by {period}, last {count} periods", **periods)
        )
        grid.add_row(t("Trend"), text)
    grid.add_row(t("Inputs"), inputs_line(report))
    lines.append(grid)
    return lines


def _inputs_and_quality(report: Report, look: Look, kpis_shown: bool) -> list[RenderableType]:
    """The end of the report: each input file, the data quality notes, what was not computed."""
    heading = Text(upper(t("Inputs and data quality")), style="bold magenta")
    parts: list[RenderableType] = [Text(""), heading]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(overflow="fold")
    for summary in report.inputs[:MAX_INPUTS]:
        grid.add_row(input_text(summary))
    if len(report.inputs) > MAX_INPUTS:
        rest = report.inputs[MAX_INPUTS:]
        loaded = number_text(sum(s.rows_loaded for s in rest), 0)
        files = number_text(len(rest), 0)
        grid.add_row(t("... and {files} more files, {rows} rows", files=files, rows=loaded))
    parts.append(grid)
    for alert in quality_alerts(report):
        parts.append(_alert_line(alert, look))
    left_out = skipped_lines(report)
    if left_out and kpis_shown:
        parts += [Text(""), Text(t("Not computed"), style="bold dim")]
        parts += [Text(line, style="dim") for line in left_out]
    return parts


# Columns of values the KPI is compared with, and the KpiValue field each one shows.
COMPARED_VALUES = {"latest": "latest", "previous": "previous", "last_run": "history_previous"}
# Columns that go together when the width is short: the change is never shown without both
# values it compares, nor a status without its target. The trend goes first, then the last
# run's value, then of the last two the one that says something about fewer KPIs.
KPI_COLUMN_GROUPS = (("trend",), ("last_run",))
KPI_LAST_GROUPS = (("latest", "previous", "change"), ("target", "status"))
MIN_LABEL = 16


def kpi_label(kpi: KpiValue, width: int) -> str:
    """The label, or its declared short form when the label would need to wrap."""
    return kpi.short_label if kpi.short_label and len(kpi.label) > width else kpi.label


def kpi_table(report: Report, kpi_ids: list[str], look: Look) -> list[RenderableType]:
    """KPI, value, target, status, change and trend, grouped under Pipeline, Leads...; what
    does not fit goes by whole groups, and a note says what went."""
    kpis = [report.kpis[k] for k in kpi_ids]
    has = {
        "target": any(k.target for k in kpis),
        "status": any(k.status for k in kpis),
        "change": any(k.change is not None or k.delta is not None for k in kpis),
        "trend": any(any(v is not None for _, v in k.trend) for k in kpis),
    }
    values = {k.id: kpi_value_lines(k) for k in kpis}
    header = t("KPI")
    longest_word = max(len(header), *(len(w) for k in kpis for w in k.label.split()))
    label_width = min(44, max(len(header), *(len(k.label) for k in kpis)))
    min_label = min(label_width, max(MIN_LABEL, longest_word))
    value_header = t("Value")
    value_width = max(len(value_header), *(len(line) for v in values.values() for line in v))
    comparison = report.comparison
    period_basis = comparison is not None and comparison.basis == "period"
    has["latest"] = period_basis and any(k.latest is not None for k in kpis)
    has["previous"] = comparison is not None and any(k.previous is not None for k in kpis)
    has["last_run"] = any(k.history_previous is not None for k in kpis)
    if not (has["previous"] and has["change"]):
        has["latest"] = has["previous"] = has["change"] = False
    headers = {
        "change": t("Change"), "status": t("Status"), "target": t("Target"), "trend": t("Trend"),
        "latest": comparison.current_name if comparison else "",
        "previous": (comparison.previous_name or t("Previous")) if comparison else "",
        "last_run": t("Last run"),
    }  # fmt: skip
    shown = {
        name: {k.id: format_value(getattr(k, field), k.unit, k.currency) for k in kpis}
        for name, field in COMPARED_VALUES.items()
    }
    targets = [k.target or "" for k in kpis]
    widths = {
        "target": max([6, *(len(t) for t in targets)]),
        "status": 6,
        "change": max([6, *(len(format_change(k)) for k in kpis)]),
        "trend": max([5, *(len(k.trend) for k in kpis)]),
        **{n: max(len(headers[n]), *(len(v) for v in shown[n].values())) for n in shown},
    }
    order = ("target", "status", "latest", "previous", "last_run", "change", "trend")
    names = ["kpi", "value", *(n for n in order if has[n])]

    def needed() -> int:
        fixed = label_width + value_width + 3 * (len(names) - 1)
        return fixed + sum(widths.get(n, 0) for n in names)

    full_label_width = label_width
    split_targets = False
    dropped: list[str] = []
    filled = {
        KPI_LAST_GROUPS[0]: sum(k.change is not None or k.delta is not None for k in kpis),
        KPI_LAST_GROUPS[1]: sum(bool(k.target) for k in kpis),
    }
    last_groups = sorted(KPI_LAST_GROUPS, key=lambda g: filled[g])
    for group in (None, *KPI_COLUMN_GROUPS, *last_groups):
        if group is not None:
            if needed() <= look.width:
                break
            dropped += [n for n in group if n in names]
            names = [n for n in names if n not in group]
        # Before a group goes, labels wrap down to MIN_LABEL and targets to two lines.
        label_width, split_targets = full_label_width, False
        widths["target"] = max([6, *(len(t) for t in targets)])
        label_width -= min(max(0, label_width - min_label), max(0, needed() - look.width))
        if "target" in names and needed() > look.width:
            split_targets = True
            widths["target"] = max([6, *(len(p) for t in targets for p in _target_lines(t))])
    label_width = min(full_label_width, label_width + max(0, look.width - needed()))

    table = Table(box=look.table_box, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column(header, overflow="fold", width=label_width)
    table.add_column(value_header, justify="right", no_wrap=True)
    for name in names[2:]:
        table.add_column(
            headers[name], justify="left" if name == "trend" else "right", no_wrap=True
        )
    groups = {k.group for k in kpis}
    current = None
    for kpi in kpis:
        if len(groups) > 1 and kpi.group != current:
            current = kpi.group
            table.add_row(Text(kpi.group, style="bold cyan"), *[""] * (len(names) - 1))
        cells = _kpi_cells(kpi, names, values[kpi.id], look, split_targets)
        cells[0] = kpi_label(kpi, label_width)
        table.add_row(*cells)
    parts: list[RenderableType] = [table]
    if dropped:
        parts.append(Text(not_shown([headers[n] for n in dropped]), style="dim"))
    return parts


def _target_lines(target: str, split: bool = True) -> list[str]:
    """A target on one line, or its threshold and its warning level on two."""
    if split and " (" in target:
        head, tail = target.split(" (", 1)
        return [head, "(" + tail]
    return [target]


def _kpi_cells(
    kpi: KpiValue, names: list[str], value: list[str], look: Look, split_targets: bool = False
) -> list[Any]:
    cells: list[Any] = [kpi.label, "\n".join(value)]
    for name in names[2:]:
        if name in COMPARED_VALUES:
            compared = getattr(kpi, COMPARED_VALUES[name])
            cells.append(Text(format_value(compared, kpi.unit, kpi.currency), style="dim"))
        elif name == "change":
            style = CHANGE_STYLE.get(kpi.change_direction or "", "")
            cells.append(Text(format_change(kpi, not look.unicode), style=style))
        elif name == "status":
            word = kpi.status or ""
            mark = "● " if look.unicode and word else ""
            shown = t(word, "status") if word else ""
            cells.append(Text(mark + shown, style=STATUS_STYLE.get(word, "")))
        elif name == "target":
            cells.append("\n".join(_target_lines(kpi.target or "", split_targets)))
        elif name == "trend":
            cells.append(Text(sparkline([v for _, v in kpi.trend], not look.unicode), style="cyan"))
    return cells


def _alert_line(alert: Alert, look: Look) -> Text:
    mark = "● " if look.unicode else f"* [{alert.severity}] "
    line = Text(mark, style=STATUS_STYLE["bad" if alert.severity == "bad" else "warn"])
    line.append(alert.message)
    return line


def _alerts(report: Report, look: Look) -> list[RenderableType]:
    alerts = attention_alerts(report)
    if not alerts:
        return [Text(t("Alerts"), style="bold"), Text(t("No alerts."), style="dim")]
    count = number_text(len(alerts), 0)
    out: list[RenderableType] = [Text(t("Alerts ({count})", count=count), style="bold")]
    return out + [_alert_line(alert, look) for alert in alerts]


@in_report_language
def renderable(report: Report, look: Look, sections: tuple[str, ...] = ()) -> Group:
    """The whole report in order of attention: a header with the inputs in one line, the
    alerts, each section, then the inputs, data quality and what was left out."""
    parts: list[RenderableType] = [*_header(report, look)]
    if not sections or "alerts" in sections:
        parts += [Text(""), *_alerts(report, look)]
    chosen = [s for s in report.sections if not sections or s.id in sections]
    # Sections skipped for the same reason share one line, where the first of them would be.
    skipped_by_reason: dict[str, list[str]] = {}
    for section in chosen:
        if section.skipped:
            skipped_by_reason.setdefault(section.skipped, []).append(section.title)
    for section in chosen:
        if section.skipped:
            titles = skipped_by_reason.pop(section.skipped, None)
            if titles:
                text = t(
                    "{titles}: skipped ({reason})", titles=", ".join(titles), reason=section.skipped
                )
                parts += [Text(""), Text(text, style="dim")]
            continue
        parts.append(Text(""))
        parts.append(Text(upper(section.title), style="bold magenta"))
        if section.kpis:
            parts += kpi_table(report, section.kpis, look)
            note = windows_note(report, section.kpis)
            if note:
                parts.append(Text(note, style="dim"))
        for table_id in section.tables:
            result = report.tables[table_id]
            if section.id == "breakdown" and result.frame.height:
                parts += breakdown_table(result, report, look)
            else:
                parts += frame_table(result, report, look, section.title)
    parts += _inputs_and_quality(report, look, not sections or "kpis" in sections)
    return Group(*parts)


def alert_lines(alerts: list[Alert]) -> list[str]:
    """One line per alert (severity, kind, message) for `report --quiet`: cron mails these, so
    control characters from the data are shown as escapes."""
    return [terminal_line(f"{a.severity.upper():<4} {a.kind:<7} {a.message}") for a in alerts]


def print_report(report: Report, console: Console, ascii_only: bool = False) -> None:
    console.isolate_latin = is_rtl(report.language)
    console.print(renderable(report, look_for(console, ascii_only)))


def render(
    report: Report, width: int = 100, ascii_only: bool = False, boxes: bool = False, **_: Any
) -> str:
    """The report as plain text (no colour) of at most `width` columns."""
    console = terminal_console(
        record=True, width=width, file=io.StringIO(), color_system=None, force_terminal=False
    )
    console.isolate_latin = is_rtl(report.language)
    console.print(renderable(report, Look(width=width, unicode=not ascii_only, boxes=boxes)))
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines())
