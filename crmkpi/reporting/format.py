"""Formatting values by unit, shared by the text renderers (terminal, markdown, html, csv).

Everything here turns a number already in the report into text; nothing computes a KPI.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crmkpi.metrics.value_text import format_value
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
            return "0.0 pp"
        return f"{up if points > 0 else down}{abs(points):.1f} pp"
    if kpi.unit == "score" and kpi.delta is not None:
        # NPS runs from -100 to 100: a relative change of a score near zero means nothing.
        if round(kpi.delta, 1) == 0:
            return "0.0 pts"
        return f"{up if kpi.delta > 0 else down}{abs(kpi.delta):.1f} pts"
    if kpi.change is None:
        return "new" if kpi.delta else ""
    if round(kpi.change * 100) == 0:
        return "0%"
    return f"{up if kpi.change > 0 else down}{abs(kpi.change) * 100:.0f}%"


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


def format_period(start: Any, period: str | None) -> str:
    """A period start as its period: 2025-05 for a month, 2025-Q2 for a quarter."""
    if not isinstance(start, datetime):
        return format_value(start)
    if period == "month":
        return start.strftime("%Y-%m")
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if period == "year":
        return str(start.year)
    return start.strftime("%Y-%m-%d")


def column_label(name: str) -> str:
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    words = [ACRONYMS.get(w, w) for w in name.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def format_cell(value: Any, column: str, unit: str, period: str | None = None) -> str:
    """A table cell by unit; a period column as its period (2025-05) when `period` or the
    column's name says which, else as a month when it starts one."""
    if column in PERIOD_COLUMNS and isinstance(value, datetime):
        size = period or (column if column != "period" else None)
        if size is None and value.day == 1 and not (value.hour or value.minute or value.second):
            size = "month"
        return format_period(value, size)
    return format_value(value, unit)


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
        return f"Value: {next(iter(by_window))}"
    ordered = sorted(by_window.items(), key=lambda item: len(item[1]))
    parts = [f"{window}: {', '.join(labels)}" for window, labels in ordered[:-1]]
    return "Value " + "; ".join(parts) + f"; every other KPI: {ordered[-1][0]}"


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
        return "no dated rows"
    if report.window != (None, None):
        return human_range(since, until)
    core = report.table_spans.get(CORE_TABLE)
    if core is None:
        return f"{since:%Y-%m-%d} .. {until:%Y-%m-%d} (all data)"
    start = core[0]
    reach = [
        f"{table} from {low:%Y-%m-%d}"
        for table, (low, _) in report.table_spans.items()
        if low < start - NAMED_WHEN_EARLIER
    ]
    reach += [
        f"{table} planned to {high:%Y-%m-%d}"
        for table, (_, high) in report.table_spans.items()
        if high > until
    ]
    text = f"{start:%Y-%m-%d} .. {until:%Y-%m-%d} (the deals' dates"
    return text + (f"; {', '.join(reach)})" if reach else ")")


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


def inputs_line(report: Report) -> str:
    """The inputs and their quality in one line, for the top of the report; the details
    (each file, each data quality note, what was not computed) come at its end."""
    loaded = sum(s.rows_loaded for s in report.inputs)
    rejected = sum(s.rows_rejected for s in report.inputs)
    files = len(report.inputs)
    parts = [f"{files} file{'' if files == 1 else 's'}, {loaded:,} rows loaded"]
    if rejected:
        parts.append(f"{rejected:,} rejected")
    notes = len(quality_alerts(report))
    if notes:
        parts.append(f"{notes} data quality note{'' if notes == 1 else 's'}")
    return ", ".join(parts) + " (details at the end)"
