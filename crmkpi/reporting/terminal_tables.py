"""Terminal tables: what `Look` allows, which columns fit the width, catalog and breakdown tables.

The page around them (header, sections, alerts) is terminal.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from crmkpi.reporting.format import (
    bar,
    column_label,
    format_cell,
    format_period,
    format_value,
    kpi_value_lines,
)
from crmkpi.reporting.model import Report, TableResult

MAX_ROWS = 15
FUNNEL_BAR = 24
# Plain text tables: a dashed line under the header, nothing else.
ASCII_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


@dataclass(frozen=True)
class Look:
    """How the output may look: its width, and whether unicode and box lines are allowed."""

    width: int
    unicode: bool = True
    boxes: bool = False

    @property
    def overflow(self) -> Literal["ellipsis", "crop"]:
        return "ellipsis" if self.unicode else "crop"

    @property
    def table_box(self) -> box.Box:
        return box.SIMPLE_HEAD if self.boxes else ASCII_HEAD


def fit(widths: list[int], budget: int, keep: int = 1) -> int:
    """How many leading columns fit in `budget` cells (three cells between two columns)."""
    total = -3
    for count, width in enumerate(widths, start=1):
        total += width + 3
        if total > budget and count > keep:
            return count - 1
    return len(widths)


def columns_that_fit(frame: Any, width_of: dict[str, int], budget: int) -> list[str]:
    """Columns to show when not all fit. Dropped first: a currency column with one code (the
    title names it), then text columns after the leading keys, then numbers from the right;
    the leading keys (owner, stage, period...) go last."""
    columns = list(frame.columns)
    keys: list[str] = []
    for c in columns:
        if frame[c].dtype.is_numeric() or len(keys) == 2:
            break
        if c != "currency":
            keys.append(c)
    text = [c for c in columns if c not in keys and not frame[c].dtype.is_numeric()]
    numbers = [c for c in columns if c not in keys and c not in text]
    single = [c for c in text if c == "currency" and frame[c].n_unique() == 1]
    text = [c for c in text if c not in single]
    order = [*single, *reversed(text), *reversed(numbers), *reversed(keys[1:])]
    while len(columns) > 1 and fit([width_of[c] for c in columns], budget) < len(columns):
        columns.remove(order.pop(0))
    return columns


def column_unit(result: TableResult, report: Report, column: str) -> str:
    if column in result.units:
        return result.units[column]
    return report.kpis[column].unit if column in report.kpis else ""


def frame_table(
    result: TableResult, report: Report, look: Look, section_title: str = ""
) -> list[RenderableType]:
    """A catalog table; the funnel gets bars; a table whose team_* columns repeat one value on
    every row shows that value once, in a Team row under the column it belongs to."""
    frame = result.frame
    if frame.height == 0:
        return [Text(f"{result.title}: no rows", style="dim")]
    team_of = {
        c[len("team_") :]: c
        for c in frame.columns
        if c.startswith("team_") and c[len("team_") :] in frame.columns and frame[c].n_unique() == 1
    }
    frame = frame.drop(list(team_of.values()))
    own_period = report.period if result.id == "by_period" else None
    # A table over time shows its latest rows; any other its first (they come sorted).
    rows = frame.tail(MAX_ROWS) if "period" in frame.columns else frame.head(MAX_ROWS)
    cells = {
        c: [
            format_cell(v, c, column_unit(result, report, c), own_period, report.calendar)
            for v in rows[c].to_list()
        ]
        for c in frame.columns
    }
    bar_column = None
    if result.id == "funnel":
        bar_column = next(
            (c for c in frame.columns if column_unit(result, report, c) == "count"), None
        )
    width_of = {
        c: min(30, max(len(column_label(c)), *(len(x) for x in cells[c]))) for c in frame.columns
    }
    bar_width = min(FUNNEL_BAR, max(8, look.width // 4)) if bar_column else 0
    columns = columns_that_fit(frame, width_of, look.width - (bar_width + 3 if bar_width else 0))
    dropped = [c for c in frame.columns if c not in columns]

    table = Table(box=look.table_box, show_edge=False, pad_edge=False, header_style="bold")
    for c in columns:
        numeric = frame[c].dtype.is_numeric()
        table.add_column(
            column_label(c),
            justify="right" if numeric else "left",
            no_wrap=True,
            overflow=look.overflow,
            max_width=None if numeric else 30,
        )
        if c == bar_column:
            table.add_column("", no_wrap=True, width=bar_width)
    largest = float(frame[bar_column].max() or 0) if bar_column else 0.0
    for r in range(rows.height):
        row: list[Any] = []
        for c in columns:
            row.append(cells[c][r])
            if c == bar_column:
                value = rows[c][r]
                row.append(Text(bar(value, largest, bar_width, not look.unicode), style="blue"))
        table.add_row(*row)
    team = team_row(result, report, columns, team_of)
    if team is not None:
        table.add_section()
        table.add_row(*team, style="bold")
    parts: list[RenderableType] = [table]
    if "currency" in dropped and frame["currency"].n_unique() == 1:
        parts.insert(0, Text(f"{result.title} ({frame['currency'][0]})", style="bold"))
        dropped.remove("currency")
    elif result.title.lower() != section_title.lower():
        parts.insert(0, Text(result.title, style="bold"))
    notes = []
    if frame.height > MAX_ROWS:
        which = "earlier" if "period" in frame.columns else "more"
        notes.append(f"{frame.height - MAX_ROWS} {which} rows in --format excel, csv or json")
    if dropped:
        notes.append(f"not shown at this width: {', '.join(column_label(c) for c in dropped)}")
    if result.note:
        notes.append(result.note)
    parts += [Text(n, style="dim") for n in notes]
    return parts


def team_row(
    result: TableResult, report: Report, columns: list[str], team_of: dict[str, str]
) -> list[str] | None:
    """The Team row: the table's own team_* values, else (owners) the report's KPI values."""
    row = ["Team"]
    for c in columns[1:]:
        if c in team_of:
            row.append(format_value(result.frame[team_of[c]][0], column_unit(result, report, c)))
        elif result.id == "owners" and c in report.kpis:
            row.append(kpi_value_lines(report.kpis[c], show_currency=False)[0])
        else:
            row.append("")
    return row if any(row[1:]) else None


def breakdown_table(result: TableResult, report: Report, look: Look) -> list[RenderableType]:
    """KPIs down, breakdown values across, the team value first: each rep beside the team.
    By period, the latest periods are kept when not all fit."""
    frame = result.frame
    keys = ["period"] if result.id == "by_period" else list(report.by)
    kpi_ids = [c for c in frame.columns if c not in keys]
    heads = [
        " / ".join(format_period(v, report.period, report.calendar) for v in row)
        for row in frame.select(keys).iter_rows()
    ]
    body = {
        k: [format_value(v, column_unit(result, report, k)) for v in frame[k].to_list()]
        for k in kpi_ids
    }
    team = {k: kpi_value_lines(report.kpis[k], show_currency=False)[0] for k in kpi_ids}
    label_width = min(24, max(len(report.kpis[k].label) for k in kpi_ids))
    width_of = [max(len(h), *(len(body[k][i]) for k in kpi_ids)) for i, h in enumerate(heads)]
    team_width = max(len("All"), *(len(t) for t in team.values()))
    room = look.width - label_width - team_width - 6
    order = list(range(len(heads)))
    if result.id == "by_period":
        order.reverse()
    shown = order[: fit([width_of[i] for i in order], room, keep=0)]
    shown.sort()
    table = Table(box=look.table_box, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("KPI", no_wrap=True, overflow=look.overflow, max_width=label_width)
    table.add_column("All", justify="right", no_wrap=True, style="bold")
    for i in shown:
        table.add_column(heads[i], justify="right", no_wrap=True)
    for k in kpi_ids:
        table.add_row(report.kpis[k].label, team[k], *(body[k][i] for i in shown))
    parts: list[RenderableType] = [Text(result.title, style="bold"), table]
    if len(shown) < len(heads):
        hidden = len(heads) - len(shown)
        noun = "column" if hidden == 1 else "columns"
        parts.append(Text(f"{hidden} more {noun} at a wider terminal", style="dim"))
    if result.note:
        parts.append(Text(result.note, style="dim"))
    return parts
