"""Formatting values by unit, shared by the text renderers (terminal, markdown, html, csv).

Everything here turns a number already in the report into text; nothing computes a KPI.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crmkpi.dataset import InputSummary
from crmkpi.metrics import value_text
from crmkpi.metrics.calendars import period_label
from crmkpi.reporting.i18n import number_format, t
from crmkpi.reporting.i18n.localize import month_words
from crmkpi.reporting.i18n.values import value_text as localized_value_text
from crmkpi.reporting.model import Alert, KpiValue, Report
from crmkpi.reporting.periods import human_range

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_ASCII = "_.-=+*#@"
STATUS_WORDS = {"ok": "ok", "warn": "warn", "bad": "bad"}
# Column names of catalog tables as a header reads best; others are de-snaked.
COLUMN_LABELS = {
    "deals_won": "Won",
    "deals_lost": "Lost",
    "deals_open": "Open",
    "win_rate": "Win rate",
    "revenue_won": "Revenue won",
    "avg_deal_size": "Avg deal",
    "conversion": "Conversion",
    "conversion_from_previous": "Step conv.",
    "conversion_from_first": "From top",
    "cycle_days_median": "Cycle (median)",
    "lead_response_minutes_median": "Response (median)",
    "team_conversion_from_previous": "Team step",
    "team_conversion_from_first": "Team from top",
}
ACRONYMS = {"mrr": "MRR", "arr": "ARR", "nps": "NPS", "cac": "CAC", "clv": "CLV", "sla": "SLA",
            "arpa": "ARPA", "id": "Id", "nrr": "NRR"}  # fmt: skip
PERIOD_COLUMNS = {"period", "day", "week", "month", "quarter", "year"}


def format_value(value: Any, unit: str = "", currency: str | None = None) -> str:
    """A value as the report's reader writes it: the tool's own format in English, else the
    locale's separators, percent and currency patterns and digits."""
    numbers = number_format()
    if numbers is None:
        return value_text.format_value(value, unit, currency)
    return localized_value_text(numbers, value, unit, currency)


def number_text(value: float, decimals: int, group: bool = True) -> str:
    """A bare number with `decimals` digits after the point, in the active locale."""
    numbers = number_format()
    if numbers is None:
        return f"{value:,.{decimals}f}" if group else f"{value:.{decimals}f}"
    return numbers.decimal(value, decimals, group)


def percent_text(ratio: float, decimals: int) -> str:
    numbers = number_format()
    return f"{ratio * 100:.{decimals}f}%" if numbers is None else numbers.percent(ratio, decimals)


def kpi_value_lines(kpi: KpiValue, show_currency: bool = True) -> list[str]:
    """The value cell: one line, or one line per currency when amounts are not comparable."""
    if kpi.by_currency:
        return [f"{format_value(v, kpi.unit)} {code}" for code, v in kpi.by_currency.items()]
    return [format_value(kpi.value, kpi.unit, kpi.currency if show_currency else None)]


def format_change(kpi: KpiValue, ascii_only: bool = False) -> str:
    """Change against the previous period: points for ratios and scores, percent otherwise."""
    if kpi.change is None and kpi.delta is None:
        return ""
    up, down = ("+", "-") if ascii_only else ("▲", "▼")
    if kpi.unit == "ratio" and kpi.delta is not None:
        points = kpi.delta * 100
        if round(points, 1) == 0:
            return t("{value} pp", "unit", value=number_text(0, 1))
        return (up if points > 0 else down) + t(
            "{value} pp", "unit", value=number_text(abs(points), 1)
        )
    if kpi.unit == "score" and kpi.delta is not None:
        # NPS runs from -100 to 100: a relative change of a score near zero means nothing.
        points = abs(kpi.delta)
        if round(points, 1) == 0:
            return t("{value} pts", "unit", value=number_text(0, 1))
        return (up if kpi.delta > 0 else down) + t(
            "{value} pts", "unit", value=number_text(points, 1)
        )
    if kpi.change is None:
        return t("new") if kpi.delta else ""
    if round(kpi.change * 100) == 0:
        return percent_text(0, 0)
    return (up if kpi.change > 0 else down) + percent_text(abs(kpi.change), 0)


def sparkline(values: list[float | None], ascii_only: bool = False) -> str:
    """The trend in one line of blocks, scaled between the series' own min and max."""
    blocks = SPARK_ASCII if ascii_only else SPARK_BLOCKS
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif high == low:
            out.append(blocks[len(blocks) // 2])
        else:
            out.append(blocks[round((v - low) / (high - low) * (len(blocks) - 1))])
    return "".join(out)


def bar(value: float | None, largest: float, width: int, ascii_only: bool = False) -> str:
    """A horizontal bar of `width` cells at most, in eighths of a cell where unicode allows."""
    if value is None or largest <= 0 or value <= 0:
        return ""
    cells = value / largest * width
    if ascii_only:
        return "#" * max(1, round(cells))
    whole = int(cells)
    eighths = round((cells - whole) * 8)
    tail = "▏▎▍▌▋▊▉"[eighths - 1] if 0 < eighths < 8 else ("█" if eighths == 8 else "")
    text = "█" * whole + tail
    return text or "▏"


def format_period(start: Any, period: str | None, calendar: str = "gregorian") -> str:
    """A period start as its period: 2025-05 for a month, 2025-Q2 for a quarter."""
    if not isinstance(start, datetime):
        return format_value(start)
    if calendar != "gregorian" and period is not None:
        return period_label(start, period, calendar)
    if period == "month":
        return start.strftime("%Y-%m")
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if period == "year":
        return str(start.year)
    return start.strftime("%Y-%m-%d")


def column_label(name: str) -> str:
    """A column's heading in the report's language (the English one is its message id)."""
    return t(english_column_label(name), "column")


def english_column_label(name: str) -> str:
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    words = [ACRONYMS.get(w, w) for w in name.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def format_cell(
    value: Any, column: str, unit: str, period: str | None = None, calendar: str = "gregorian"
) -> str:
    """A table cell by unit; a period column as its period (2025-05) when `period` or the
    column's name says which, else as a month when it starts one."""
    if column in PERIOD_COLUMNS and isinstance(value, datetime):
        size = period or (column if column != "period" else None)
        if size is None and value.day == 1 and not (value.hour or value.minute or value.second):
            size = "month"
        numbers = number_format()
        text = format_period(value, size, calendar)
        return text if numbers is None else numbers.native(text)
    return format_value(value, unit)


def input_text(summary: InputSummary, shown_path: str | None = None) -> str:
    """One input file in the reader's words: its path (`shown_path` when the format marks it
    up), its table, the rows loaded and rejected."""
    rows = number_text(summary.rows_loaded, 0)
    where = shown_path or display_path(summary.path)
    text = t("{file} ({table}): {rows} rows", file=where, table=summary.table, rows=rows)
    if summary.rows_rejected:
        text += t(", {count} rejected", count=number_text(summary.rows_rejected, 0))
    return text


def display_path(path: str) -> str:
    """A path as short as it can be read: relative to the working folder when inside it."""
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def windows_note(report: Report, kpi_ids: list[str]) -> str | None:
    """One line saying what the Value column covers, KPI by KPI when windows differ: states
    (open deals, MRR) as of a day, the other KPIs over the window or all the data."""
    by_window: dict[str, list[str]] = {}
    for kpi_id in kpi_ids:
        kpi = report.kpis[kpi_id]
        if kpi.window:
            by_window.setdefault(kpi.window, []).append(kpi.label)
    if not by_window:
        return None
    if len(by_window) == 1:
        return t("Value: {window}", window=next(iter(by_window)))
    ordered = sorted(by_window.items(), key=lambda item: len(item[1]))
    parts = "; ".join(f"{window}: {', '.join(labels)}" for window, labels in ordered[:-1])
    return t("Value {parts}; every other KPI: {window}", parts=parts, window=ordered[-1][0])


# The table whose dates the header shows without a window, and how much earlier another
# table must begin to be named beside it.
CORE_TABLE = "deals"
NAMED_WHEN_EARLIER = timedelta(days=31)


def covered_text(report: Report) -> str:
    """The period in the header. Without a window, the deals' dates up to the data's as-of
    moment, naming the tables that reach further (subscriptions started years before, or
    activities scheduled after it), rather than a span stretched by them."""
    since, until = report.covered
    if since is None or until is None:
        return t("no dated rows")
    numbers = number_format()
    if report.window != (None, None):
        return month_words(human_range(since, until))

    def day(moment: datetime) -> str:
        return f"{moment:%Y-%m-%d}" if numbers is None else numbers.date(moment.date())

    core = report.table_spans.get(CORE_TABLE)
    if core is None:
        return t("{since} .. {until} (all data)", since=day(since), until=day(until))
    start = core[0]
    reach = [
        t("{table} from {date}", table=table, date=day(low))
        for table, (low, _) in report.table_spans.items()
        if low < start - NAMED_WHEN_EARLIER
    ]
    reach += [
        t("{table} planned to {date}", table=table, date=day(high))
        for table, (_, high) in report.table_spans.items()
        if high > until
    ]
    if not reach:
        return t("{since} .. {until} (the deals' dates)", since=day(start), until=day(until))
    return t(
        "{since} .. {until} (the deals' dates; {reach})",
        since=day(start), until=day(until), reach=", ".join(reach),
    )  # fmt: skip


def skipped_lines(report: Report) -> list[str]:
    """One line per reason: which KPIs and tables were left out and why."""
    grouped: dict[str, list[str]] = {}
    for entry in report.skipped:
        if "file" in entry:
            grouped.setdefault(entry["reason"], []).append(display_path(entry["file"]))
            continue
        name = entry.get("kpi") or entry.get("table") or "?"
        kpi = report.kpis.get(name)
        shown = kpi.label if kpi else entry.get("title", name)
        grouped.setdefault(entry["reason"], []).append(shown)
    return [f"{reason}: {', '.join(names)}" for reason, names in grouped.items()]


def currency_of(report: Report) -> str | None:
    """The one currency all money KPIs share, or None when they differ or are mixed."""
    codes = {k.currency for k in report.kpis.values() if k.unit.startswith("currency")}
    mixed = any(k.by_currency for k in report.kpis.values())
    codes.discard(None)
    return next(iter(codes)) if len(codes) == 1 and not mixed else None


# Alerts about the data itself go with the inputs at the end; the others lead the report.
QUALITY = "quality"


def attention_alerts(report: Report) -> list[Alert]:
    """What needs attention in the business: targets missed, changes beyond the thresholds."""
    return [a for a in report.alerts if a.kind != QUALITY]


def quality_alerts(report: Report) -> list[Alert]:
    return [a for a in report.alerts if a.kind == QUALITY]


def inputs_line(report: Report, in_workbook: bool = False) -> str:
    """The inputs and their quality in one line, for the top of the report; the details
    (each file, each data quality note, what was not computed) come at its end, or in the
    workbook's Inputs sheet."""
    loaded = number_text(sum(s.rows_loaded for s in report.inputs), 0)
    rejected = sum(s.rows_rejected for s in report.inputs)
    files = len(report.inputs)
    count = number_text(files, 0)
    parts = [
        t("{files} file, {rows} rows loaded", files=count, rows=loaded)
        if files == 1
        else t("{files} files, {rows} rows loaded", files=count, rows=loaded)
    ]
    if rejected:
        parts.append(t("{count} rejected", count=number_text(rejected, 0)))
    notes = len(quality_alerts(report))
    if notes:
        shown = number_text(notes, 0)
        parts.append(
            t("{count} data quality note", count=shown)
            if notes == 1
            else t("{count} data quality notes", count=shown)
        )
    if in_workbook:
        return t("{inputs} (details in the Inputs sheet)", inputs=", ".join(parts))
    return t("{inputs} (details at the end)", inputs=", ".join(parts))
