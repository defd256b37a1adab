"""CSV renderer: one report table (or the KPI list) for spreadsheets and scripts.

Cells are written so that no spreadsheet will run them: a text cell starting with = + - @ or a
control character gets a leading apostrophe (the OWASP rule for CSV injection).
"""

from __future__ import annotations

import csv as stdcsv
import io
from datetime import date, datetime
from typing import Any

from crmkpi.errors import UsageError
from crmkpi.report.model import Report
from crmkpi.report.safe_text import csv_text

EXTENSIONS = (".csv",)
BINARY = False

KPIS = "kpis"
KPI_COLUMNS = (
    "id", "label", "group", "value", "unit", "currency", "target", "status",
    "latest", "previous", "change", "change_unit", "window", "reason",
)  # fmt: skip
# `change` is as the report shows it: percentage points for ratios (change_unit pp), points
# for scores (points), else the relative change as a share of the previous value (share).
_KPI_ATTRIBUTES = {"change": "change_value"}


def safe_cell(value: Any) -> Any:
    """A value as written to the CSV; text that a spreadsheet would evaluate is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (
            value.isoformat(sep=" ") if (value.hour or value.minute) else value.date().isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return ""
    return csv_text(value)


ALERTS = "alerts"
ALERT_COLUMNS = ("severity", "kind", "kpi", "owner", "message")


def table_names(report: Report) -> list[str]:
    return [KPIS, *report.tables, ALERTS]


def _rows(report: Report, table: str) -> tuple[list[str], list[list[Any]]]:
    if table == KPIS:
        rows = []
        for kpi in report.kpis.values():
            values = [getattr(kpi, _KPI_ATTRIBUTES.get(c, c)) for c in KPI_COLUMNS]
            if kpi.by_currency:
                for code, amount in kpi.by_currency.items():
                    row = dict(zip(KPI_COLUMNS, values, strict=True))
                    row.update(value=amount, currency=code, reason=None)
                    rows.append(list(row.values()))
            else:
                rows.append(values)
        return list(KPI_COLUMNS), rows
    if table == ALERTS:
        return list(ALERT_COLUMNS), [[getattr(a, c) for c in ALERT_COLUMNS] for a in report.alerts]
    if table not in report.tables:
        raise UsageError(
            f"no table {table!r} in this report",
            hint=f"use one of {', '.join(table_names(report))}",
        )
    frame = report.tables[table].frame
    return frame.columns, [list(r) for r in frame.iter_rows()]


def render(report: Report, table: str | None = None, **_: Any) -> str:
    """The table named `table` (default: the KPI list) as RFC 4180 CSV with a header row."""
    headers, rows = _rows(report, table or KPIS)
    buffer = io.StringIO()
    writer = stdcsv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()
