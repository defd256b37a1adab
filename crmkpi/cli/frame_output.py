"""Printing or writing ad-hoc result frames (metric, query, tables) as text, CSV, JSON, Markdown.

The report has its own renderers over the report model; these commands return plain frames, so
one small module turns named frames into each format. CSV cells that a spreadsheet would run as
a formula (=, +, -, @ first) are prefixed with an apostrophe; numbers are written in full.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from crmkpi.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

FORMATS = ("terminal", "csv", "json", "markdown")
EXTENSIONS = {".csv": "csv", ".json": "json", ".md": "markdown", ".markdown": "markdown",
              ".txt": "terminal"}  # fmt: skip
TERMINAL_ROWS = 200  # a screenful or two; files get every row


@dataclass(frozen=True)
class Block:
    """A named frame; `units` maps columns to report units (ratio, currency...) for display."""

    name: str
    frame: pl.DataFrame
    units: dict[str, str] = field(default_factory=dict)
    title: str | None = None


def choose_format(fmt: str | None, out: Path | None) -> str:
    """The --format given, else the one --out's extension names, else terminal."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
        return fmt
    if out is None:
        return "terminal"
    chosen = EXTENSIONS.get(out.suffix.lower())
    if chosen is None:
        raise UsageError(
            f"cannot tell the output format from {str(out)!r}",
            hint="use .csv, .json, .md or .txt, or give --format",
        )
    return chosen


def emit(
    blocks: list[Block],
    fmt: str | None = None,
    out: Path | None = None,
    protected: list[Path] | None = None,
) -> None:
    """Print the blocks, or write them to `out` (atomically, never over an input file)."""
    from crmkpi.reporting.output_file import is_stream

    chosen = choose_format(fmt, None if is_stream(out) else out)
    if chosen == "terminal" and (out is None or str(out) == "-"):
        _print_terminal(blocks)
        return
    text = render(blocks, chosen)
    if out is None or str(out) == "-":
        typer.echo(text, nl=False)
        return
    from crmkpi.reporting.output import write_atomic

    write_atomic(out, text, protected)


def render(blocks: list[Block], fmt: str) -> str:
    if fmt == "csv":
        if len(blocks) != 1:
            names = ", ".join(b.name for b in blocks)
            raise UsageError(
                f"CSV holds one table, but {names} were asked for",
                hint="ask for KPIs and tables in separate runs, or use --format json",
            )
        return to_csv(blocks[0].frame)
    if fmt == "json":
        payload = {b.name: [_json_row(r) for r in b.frame.iter_rows(named=True)] for b in blocks}
        return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    if fmt == "markdown":
        parts = []
        for b in blocks:
            heading = f"### {b.title or b.name}\n\n" if len(blocks) > 1 else ""
            parts.append(heading + to_markdown(b.frame, b.units))
        return "\n".join(parts)
    return _terminal_text(blocks)


def safe_cell(value: Any) -> str:
    """A CSV cell: full-precision numbers, ISO dates, formula-looking text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time | timedelta):
        return _iso(value)
    from crmkpi.reporting.safe_text import csv_text

    return csv_text(str(value))


def to_csv(frame: pl.DataFrame) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in frame.columns])
    for row in frame.iter_rows():
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


def to_markdown(frame: pl.DataFrame, units: dict[str, str] | None = None) -> str:
    units = units or {}
    header = "| " + " | ".join(_md(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---:" if frame[c].dtype.is_numeric() else "---" for c in frame.columns)
    lines = [header, rule + "|"]
    for row in frame.iter_rows():
        cells = [
            _md(_display(v, units.get(c, ""))) for c, v in zip(frame.columns, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    from crmkpi.reporting.safe_text import markdown_text

    return markdown_text(text)


def _iso(value: datetime | date | time | timedelta) -> str:
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    if isinstance(value, datetime) and value.time() == time(0) and value.tzinfo is None:
        return value.date().isoformat()
    return value.isoformat()


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        elif isinstance(value, datetime | date | time | timedelta):
            value = _iso(value)
        elif isinstance(value, list | dict):
            value = json.loads(json.dumps(value, default=str))
        out[key] = value
    return out


def _display(value: Any, unit: str) -> str:
    from crmkpi.reporting.format import format_value

    if isinstance(value, float) and math.isnan(value):
        return "-"
    if unit == "":
        # A column without a unit (SQL results, ids, years) is shown as it is, like a SQL
        # client would: no thousands separators that turn 2025 into "2,025".
        if value is None:
            return "-"
        if isinstance(value, datetime | date | time | timedelta):
            return _iso(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:.6f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
        return str(value)
    return format_value(value, unit)


def _rich_tables(blocks: list[Block], limit: int | None, width: int | None) -> list[Any]:
    """Rich tables for the blocks; on a screen, cut to `limit` rows and to the columns that fit
    in `width`, each cut followed by a note naming what was left out."""
    from rich.table import Table

    items: list[Any] = []
    for b in blocks:
        title = (b.title or b.name) if len(blocks) > 1 else None
        shown = b.frame if limit is None else b.frame.head(limit)
        cells = {
            c: [_display(v, b.units.get(c, "")) for v in shown[c].to_list()] for c in shown.columns
        }
        columns = _fitting_columns(cells, width) if width else list(cells)
        table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        for c in columns:
            numeric = b.frame[c].dtype.is_numeric()
            table.add_column(c, justify="right" if numeric else "left", overflow="fold")
        for i in range(shown.height):
            table.add_row(*(cells[c][i] for c in columns))
        if b.frame.height == 0:
            table.caption = "no rows"
        items.append(table)
        cut = []
        if shown.height < b.frame.height:
            cut.append(f"first {shown.height:,} of {b.frame.height:,} rows")
        if len(columns) < len(cells):
            hidden = [c for c in cells if c not in columns]
            cut.append(f"{len(hidden)} more columns: {', '.join(hidden)}")
        if cut:
            items.append(f"({'; '.join(cut)}; --format csv or --out FILE gives all)")
    return items


def _fitting_columns(cells: dict[str, list[str]], width: int) -> list[str]:
    """The leading columns (keys come first) whose widths, with separators, fit in `width`."""
    kept: list[str] = []
    used = 0
    for name, values in cells.items():
        need = max([len(name), *(len(v) for v in values)]) + (3 if kept else 0)
        if kept and used + need > width:
            break
        kept.append(name)
        used += need
    return kept


def _print_terminal(blocks: list[Block]) -> None:
    from crmkpi.reporting.safe_text import terminal_console

    console = terminal_console()
    _print_all(console, _rich_tables(blocks, TERMINAL_ROWS, console.width))


def _terminal_text(blocks: list[Block]) -> str:
    from crmkpi.reporting.safe_text import terminal_console

    console = terminal_console(file=io.StringIO(), width=200, color_system=None)
    _print_all(console, _rich_tables(blocks, None, None))
    return console.file.getvalue()  # type: ignore[attr-defined]


def _print_all(console: Any, items: list[Any]) -> None:
    for i, item in enumerate(items):
        if isinstance(item, str):
            console.print(item, markup=False, highlight=False)
            continue
        if i:
            console.print()
        console.print(item)


def input_paths(ds: Any) -> dict[Path, str]:
    """What output must never replace: the inputs, the config, the history store, the cache."""
    from crmkpi.reporting.output import protected_paths

    return protected_paths(ds)
