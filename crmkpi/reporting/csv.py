"""CSV renderer: one report table (or the KPI list) for spreadsheets and scripts.

Cells are written so that no spreadsheet will run them: a text cell starting with = + - @ or a
control character gets a leading apostrophe (the OWASP rule for CSV injection).
"""

from __future__ import annotations

import csv as stdcsv
import io
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crmkpi.errors import UsageError
from crmkpi.reporting.frames import NamedFrame, iso_text
from crmkpi.reporting.model import Report
from crmkpi.reporting.safe_text import csv_text

if TYPE_CHECKING:
    import polars as pl

    from crmkpi.diff.compare import DealDiff

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


def frame_cell(value: Any) -> str:
    """A cell of a named frame: full-precision numbers, ISO dates, formula-looking text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time | timedelta):
        return iso_text(value)
    return csv_text(str(value))


def frame_csv(frame: pl.DataFrame) -> str:
    buffer = io.StringIO()
    writer = stdcsv.writer(buffer, lineterminator="\n")
    writer.writerow([frame_cell(c) for c in frame.columns])
    for row in frame.iter_rows():
        writer.writerow([frame_cell(v) for v in row])
    return buffer.getvalue()


def render_frames(frames: list[NamedFrame], **_: Any) -> str:
    """The one frame asked for; CSV holds one table, so more than one is a usage error."""
    if len(frames) != 1:
        names = ", ".join(f.name for f in frames)
        raise UsageError(
            f"CSV holds one table, but {names} were asked for",
            hint="ask for KPIs and tables in separate runs, or use --format json",
        )
    return frame_csv(frames[0].frame)


def render_diff(diff: DealDiff) -> str:
    """One row per change: kind, deal id, name, owner, before, after, change."""
    buffer = io.StringIO()
    writer = stdcsv.writer(buffer, lineterminator="\n")
    changes = diff.changes
    writer.writerow([csv_text(c) for c in changes.columns])
    for row in changes.iter_rows():
        writer.writerow(["" if v is None else csv_text(v) for v in row])
    return buffer.getvalue()


def records_csv(rows: list[dict[str, Any]]) -> str:
    """Rows of plain values (saved history), the first row's keys as the header."""
    buffer = io.StringIO()
    writer = stdcsv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writerow({c: csv_text(c) for c in rows[0]})
    writer.writerows({c: csv_text(v) for c, v in row.items()} for row in rows)
    return buffer.getvalue()
