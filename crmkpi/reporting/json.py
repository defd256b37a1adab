"""JSON renderer: the stable machine contract (crmkpi_version, inputs, kpis, tables, skipped).

Keys are only ever added. Apart from `generated_at`, the same input gives the same document.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl

from crmkpi.reporting.frames import NamedFrame, iso_text
from crmkpi.reporting.model import Report

if TYPE_CHECKING:
    from crmkpi.diff.compare import DealDiff

EXTENSIONS = (".json",)
BINARY = False


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        # A multi-threaded sum adds in a varying order, and its last bits wander up to the
        # 14th significant digit (seen in net revenue retention's change and a weighted
        # pipeline): 12 digits drop that noise, so the same input gives the same document.
        return float(f"{value:.12g}")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def frame_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts, cleaned a column at a time (a list table can hold
    hundreds of thousands of rows: leads never contacted)."""
    columns = [_clean_column(frame[name]) for name in frame.columns]
    return [dict(zip(frame.columns, row, strict=True)) for row in zip(*columns, strict=True)]


def _clean_column(series: pl.Series) -> list[Any]:
    values = series.to_list()
    if series.dtype.is_integer() or series.dtype in (pl.String, pl.Boolean, pl.Categorical):
        return values  # already what JSON writes
    return [_clean(v) for v in values]


def report_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data; later versions add keys, never remove them."""
    since, until = report.window
    document: dict[str, Any] = _clean(
        {
            "crmkpi_version": report.version,
            "generated_at": report.generated_at.isoformat(timespec="seconds"),
            "title": report.title,
            "window": {"since": since, "until": until},
            "data_span": {"first": report.data_span[0], "last": report.data_span[1]},
            "as_of": report.as_of,
            "period": report.period,
            # Only a non-Gregorian calendar is named: Gregorian documents stay as they were.
            **({"calendar": report.calendar} if report.calendar != "gregorian" else {}),
            "trend_partial": report.trend_partial,
            "by": list(report.by),
            "comparison": None if report.comparison is None else report.comparison.to_json(),
            "inputs": [i.to_json() for i in report.inputs],
            "kpis": {k: v.to_json() for k, v in report.kpis.items()},
            "tables": None,  # cleaned a column at a time below
            "table_notes": {k: t.note for k, t in report.tables.items() if t.note},
            "sections": [
                {"id": s.id, "title": s.title, "kpis": s.kpis, "tables": s.tables}
                | ({"skipped": s.skipped} if s.skipped else {})
                for s in report.sections
            ],
            "skipped": report.skipped,
            "alerts": [a.to_json() for a in report.alerts],
        }
    )
    document["tables"] = {k: frame_records(t.frame) for k, t in report.tables.items()}
    return document


def render(report: Report, **_: Any) -> str:
    """The document indented, each table row on a line of its own: Python's indenting encoder
    is pure Python, and a table of 300,000 rows took it seconds; a row at a time goes through
    the C encoder."""
    document = report_document(report)
    tables: dict[str, list[dict[str, Any]]] = document["tables"]
    document["tables"] = {name: f"\0{name}\0" for name in tables}
    text = json.dumps(document, ensure_ascii=False, indent=2)
    for name, rows in tables.items():
        marker = json.dumps(f"\0{name}\0", ensure_ascii=False)
        text = text.replace(marker, _rows_text(rows), 1)
    return text + "\n"


def _rows_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "[]"
    lines = (json.dumps(row, ensure_ascii=False) for row in rows)
    return "[\n      " + ",\n      ".join(lines) + "\n    ]"


def render_frames(frames: list[NamedFrame], **_: Any) -> str:
    """{name: [row, ...]} with every value in full (no rounding: these are ad-hoc answers)."""
    payload = {f.name: [_frame_row(r) for r in f.frame.iter_rows(named=True)] for f in frames}
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def _frame_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        elif isinstance(value, datetime | date | time | timedelta):
            value = iso_text(value)
        elif isinstance(value, list | dict):
            value = json.loads(json.dumps(value, default=str))
        out[key] = value
    return out


def render_diff(diff: DealDiff) -> str:
    document = {
        "snapshots": diff.snapshots,
        "summary": diff.summary,
        "notes": diff.notes,
        **{table_id: frame_records(frame) for table_id, frame in diff.tables.items()},
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
