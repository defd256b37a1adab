"""Named frames, diffs and saved history as rich tables, for `crmkpi.reporting.terminal`.

On a screen a frame is cut to TERMINAL_ROWS rows and to the columns that fit, each cut followed
by a note naming what was left out; as text (`--format terminal --out`) every row is kept.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from crmkpi.reporting.diff_view import changed_tables, diff_cell, summary_rows
from crmkpi.reporting.format import format_value
from crmkpi.reporting.frames import NamedFrame, display_text
from crmkpi.reporting.safe_text import terminal_console

if TYPE_CHECKING:
    from crmkpi.diff.compare import DealDiff

TERMINAL_ROWS = 200  # a screenful or two; files get every row


def print_frames(frames: list[NamedFrame]) -> None:
    console = terminal_console()
    _print_all(console, _rich_tables(frames, TERMINAL_ROWS, console.width))


def render_frames(frames: list[NamedFrame], **_: Any) -> str:
    console = terminal_console(file=io.StringIO(), width=200, color_system=None)
    _print_all(console, _rich_tables(frames, None, None))
    return console.file.getvalue()  # type: ignore[attr-defined]


def print_diff(diff: DealDiff) -> None:
    console = terminal_console()
    summary = Table(title=f"{diff.snapshots[0]} -> {diff.snapshots[-1]}", title_justify="left")
    summary.add_column("Change")
    summary.add_column("Value", justify="right")
    for label, value in summary_rows(diff):
        summary.add_row(label, value)
    console.print(summary)
    for table_id, title, frame in changed_tables(diff):
        # Narrower tables: these tables' titles already say the status.
        if table_id in ("won", "lost", "stage_moves", "amount_changes", "owner_changes"):
            frame = frame.drop([c for c in ("status",) if c in frame.columns])
        table = Table(title=f"{title} ({frame.height})", title_justify="left")
        for column in frame.columns:
            numeric = frame.schema[column].is_numeric()
            table.add_column(column, justify="right" if numeric else "left")
        for row in frame.iter_rows(named=True):
            table.add_row(*(diff_cell(c, v) for c, v in row.items()))
        console.print(table)
    for note in diff.notes:
        console.print(Text(f"note: {note}", style="dim"))


def print_records(
    rows: list[dict[str, Any]],
    title: str,
    units: list[dict[str, str]],
    right: tuple[str, ...] = (),
) -> None:
    """Rows of plain values (saved history) as one table, each cell in its own unit."""
    table = Table(title=title, title_justify="left")
    for column in rows[0]:
        table.add_column(column, justify="right" if column in right else "left")
    for row, row_units in zip(rows, units, strict=True):
        table.add_row(*(format_value(v, row_units.get(c, "")) for c, v in row.items()))
    terminal_console().print(table)


def _rich_tables(frames: list[NamedFrame], limit: int | None, width: int | None) -> list[Any]:
    """Rich tables for the frames; on a screen, cut to `limit` rows and to the columns that fit
    in `width`, each cut followed by a note naming what was left out."""
    items: list[Any] = []
    for f in frames:
        title = (f.title or f.name) if len(frames) > 1 else None
        shown = f.frame if limit is None else f.frame.head(limit)
        cells = {
            c: [display_text(v, f.units.get(c, "")) for v in shown[c].to_list()]
            for c in shown.columns
        }
        columns = _fitting_columns(cells, width) if width else list(cells)
        table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        for c in columns:
            numeric = f.frame[c].dtype.is_numeric()
            table.add_column(c, justify="right" if numeric else "left", overflow="fold")
        for i in range(shown.height):
            table.add_row(*(cells[c][i] for c in columns))
        if f.frame.height == 0:
            table.caption = "no rows"
        items.append(table)
        cut = []
        if shown.height < f.frame.height:
            cut.append(f"first {shown.height:,} of {f.frame.height:,} rows")
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


def _print_all(console: Any, items: list[Any]) -> None:
    for i, item in enumerate(items):
        if isinstance(item, str):
            console.print(item, markup=False, highlight=False)
            continue
        if i:
            console.print()
        console.print(item)
