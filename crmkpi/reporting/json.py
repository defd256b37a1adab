"""JSON renderer: the stable machine contract (crmkpi_version, inputs, kpis, tables, skipped).

Keys are only ever added. Apart from `generated_at`, the same input gives the same document.
"""

from __future__ import annotations

import json
import math
import secrets
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


SIGNIFICANT_DIGITS = 12
# Powers of ten a double holds exactly (10**23 is not): a value is scaled to 12 whole digits
# by multiplying or dividing by one of them, so Python (KPI values) and Polars (table rows)
# round it to the same double: its decimal rounding (half to even), but where the scaling
# itself rounded a value within a double's precision of a tie.
POWERS = {k: 10.0**k for k in range(23)}


def significant(value: float) -> float:
    """`value` to 12 significant digits (the same rule as `_significant_expr`).

    A multi-threaded sum adds in a varying order, and its last bits wander up to the 14th
    significant digit (seen in net revenue retention's change and a weighted pipeline): 12
    digits drop that noise, so the same input gives the same document. Values under 1e-10 or
    from 1e34, where no scale is exact, are left as they are."""
    if value == 0.0 or not math.isfinite(value):
        return value
    shift = int(SIGNIFICANT_DIGITS - math.ceil(math.log10(abs(value))))
    factor = POWERS.get(abs(shift))
    if factor is None:
        return value
    scaled = abs(value * factor if shift >= 0 else value / factor)
    whole = math.floor(scaled)
    half = scaled - whole
    whole += 1.0 if half > 0.5 or (half == 0.5 and whole % 2) else 0.0  # half to even
    whole = math.copysign(whole, value)
    return whole / factor if shift >= 0 else whole * factor


def _significant_expr(column: pl.Expr) -> pl.Expr:
    """`significant` over a column; NaN and infinity become null (JSON has neither)."""
    shift = (SIGNIFICANT_DIGITS - column.abs().log10().ceil()).cast(pl.Int32, strict=False)
    factor = shift.abs().replace_strict(POWERS, default=None, return_dtype=pl.Float64)
    up = shift >= 0
    scaled = pl.when(up).then(column * factor).otherwise(column / factor).abs()
    whole = scaled.floor()
    half = scaled - whole
    odd = (whole % 2) == 1
    whole = whole + pl.when((half > 0.5) | ((half == 0.5) & odd)).then(1.0).otherwise(0.0)
    whole = pl.when(column < 0).then(-whole).otherwise(whole)
    rounded = pl.when(up).then(whole / factor).otherwise(whole * factor)
    kept = pl.when((column == 0) | factor.is_null()).then(column).otherwise(rounded)
    return pl.when(column.is_finite()).then(kept)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return significant(value) if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def frame_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts, cleaned a column at a time (a diff's tables can hold
    thousands of deals; a report's are written by `rows_text`)."""
    columns = [_clean_column(frame[name]) for name in frame.columns]
    return [dict(zip(frame.columns, row, strict=True)) for row in zip(*columns, strict=True)]


def _clean_column(series: pl.Series) -> list[Any]:
    values = series.to_list()
    if series.dtype.is_integer() or series.dtype in (pl.String, pl.Boolean, pl.Categorical):
        return values  # already what JSON writes
    return [_clean(v) for v in values]


def rows_text(frame: pl.DataFrame) -> str:
    """The rows as JSON objects, one per line, written by Polars: a list table can hold
    hundreds of thousands of rows (leads never contacted), which Python's encoder took
    seconds over. Values are cleaned as `_clean` cleans them: floats to 12 significant
    digits and NaN/infinity as null, dates and date-times in ISO 8601 as `isoformat` writes
    them; Polars escapes control characters as JSON requires."""
    if frame.height == 0:
        return ""
    if any(dtype.is_nested() for dtype in frame.schema.values()):  # no report table has one
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in frame_records(frame))
    return frame.select(
        _json_ready(name, dtype) for name, dtype in frame.schema.items()
    ).write_ndjson()


def _json_ready(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype.is_float():
        return _significant_expr(column.cast(pl.Float64)).alias(name)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:  # offsets of seconds, old zones
        return column.map_elements(datetime.isoformat, return_dtype=pl.String)
    if isinstance(dtype, pl.Datetime):  # canonical date-times: naive
        whole = column.dt.strftime("%Y-%m-%dT%H:%M:%S")
        fraction = column.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
        return pl.when(column.dt.microsecond() == 0).then(whole).otherwise(fraction).alias(name)
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return column.cast(pl.String)
    if isinstance(dtype, pl.Decimal):
        return _significant_expr(column.cast(pl.Float64)).alias(name)
    return column


def report_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data, the tables' rows aside (`render` writes them);
    later versions add keys, never remove them."""
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
            "tables": {},  # written by Polars (`rows_text`)
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
    return document


def render(report: Report, **_: Any) -> str:
    """The document indented, each table row on a line of its own (see `rows_text`)."""
    document = report_document(report)
    # A placeholder no text from the data can spell: the token is drawn for this document.
    token = secrets.token_hex(16)
    document["tables"] = {name: f"{token}:{name}" for name in report.tables}
    rest = json.dumps(document, ensure_ascii=False, indent=2)
    pieces: list[str] = []  # joined once: the document is tens of MB with a long list
    for name, table in report.tables.items():
        before, rest = rest.split(json.dumps(f"{token}:{name}", ensure_ascii=False), 1)
        pieces += [before, _rows_block(rows_text(table.frame))]
    return "".join([*pieces, rest, "\n"])


def _rows_block(lines: str) -> str:
    if not lines:
        return "[]"
    return "[\n      " + lines.rstrip("\n").replace("\n", ",\n      ") + "\n    ]"


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
