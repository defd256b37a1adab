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

from crmkpi.metrics.base import ColumnLayout
from crmkpi.reporting.format import (
    bar,
    column_label,
    format_cell,
    format_period,
    format_value,
    kpi_value_lines,
    number_text,
)
from crmkpi.reporting.i18n import t
from crmkpi.reporting.model import Report, TableResult

MAX_ROWS = 15
WIDER = "a wider terminal or --format md shows them"
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


def not_shown(headers: list[str]) -> str:
    """The note under a table narrowed to fit: what went, and how to see it."""
    return t(
        "not shown at this width: {columns} ({wider})", columns=", ".join(headers), wider=t(WIDER)
    )


def fit(widths: list[int], budget: int, keep: int = 1) -> int:
    """How many leading columns fit in `budget` cells (three cells between two columns)."""
    total = -3
    for count, width in enumerate(widths, start=1):
        total += width + 3
        if total > budget and count > keep:
            return count - 1
    return len(widths)


def drop_units(columns: list[str], layout: ColumnLayout) -> dict[str, set[str]]:
    """Each column's unit of dropping: the columns of its declared group, with a rank column
    joined to the measure it ranks by (a rank is never shown without what it ranks)."""
    unit_of = {c: {c} for c in columns}
    links = [set(g) for g in layout.groups] + [{r, m} for r, m in layout.ranked_by]
    for link in links:
        merged = set().union(*(unit_of[c] for c in link if c in unit_of))
        for c in merged:
            unit_of[c] = merged
    return unit_of


def columns_that_fit(
    frame: Any, width_of: dict[str, int], budget: int, layout: ColumnLayout | None = None
) -> list[str] | None:
    """Columns to show when not all fit, or None when not even the essential ones do (the
    table is then shown as a list of rows). Dropped first: a currency column with one code (the
    title names it), then text columns after the leading keys, then numbers from the right;
    a declared group goes as a whole, and essential columns (the first, else those declared)
    never go."""
    layout = layout or ColumnLayout()
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
    unit_of = drop_units(columns, layout)
    essential = {columns[0], *(c for c in layout.essential if c in unit_of)}
    essential = set().union(*(unit_of[c] for c in essential))
    order = [*single, *reversed(text), *reversed(numbers), *reversed(keys[1:])]
    order = [c for c in order if c not in essential]
    while sum(width_of[c] + 3 for c in columns) - 3 > budget:
        if not order:
            return None
        dropped = unit_of[order.pop(0)]
        columns = [c for c in columns if c not in dropped]
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
        return [Text(t("{title}: no rows", title=result.title), style="dim")]
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
    budget = look.width - (bar_width + 3 if bar_width else 0)
    fitting = columns_that_fit(frame, width_of, budget, result.layout)
    if fitting is None:
        return row_list(result, report, look, frame, rows, cells, team_of, section_title)
    columns = fitting
    dropped = [c for c in frame.columns if c not in columns]

    table = Table(box=look.table_box, show_edge=False, pad_edge=False, header_style="bold")
    for c in columns:
        numeric = frame[c].dtype.is_numeric()
        table.add_column(
            column_label(c),
            justify="right" if numeric else "left",
            no_wrap=numeric,
            overflow="fold",
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
    if "currency" in dropped and frame["currency"].n_unique() == 1:
        dropped.remove("currency")
    parts: list[RenderableType] = [
        *table_title(result, report, frame, columns, section_title),
        table,
    ]
    notes = []
    if frame.height > MAX_ROWS:
        count = number_text(frame.height - MAX_ROWS, 0)
        notes.append(
            t("{count} earlier rows in --format excel, csv or json", count=count)
            if "period" in frame.columns
            else t("{count} more rows in --format excel, csv or json", count=count)
        )
    if dropped:
        notes.append(not_shown([column_label(c) for c in dropped]))
    if result.note:
        notes.append(result.note)
    parts += [Text(n, style="dim") for n in notes]
    return parts


def table_title(
    result: TableResult, report: Report, frame: Any, columns: list[str], section_title: str
) -> list[RenderableType]:
    """The table's title line, naming the one currency of the amounts shown when the currency
    column is not."""
    single = "currency" in frame.columns and frame["currency"].n_unique() == 1
    money = any(column_unit(result, report, c).startswith("currency") for c in columns)
    if single and money and "currency" not in columns:
        return [Text(f"{result.title} (amounts in {frame['currency'][0]})", style="bold")]
    if result.title.lower() != section_title.lower():
        return [Text(result.title, style="bold")]
    return []


def row_list(
    result: TableResult,
    report: Report,
    look: Look,
    frame: Any,
    rows: Any,
    cells: dict[str, list[str]],
    team_of: dict[str, str],
    section_title: str,
) -> list[RenderableType]:
    """A table too wide for its essential columns, as one block per row: the row's first
    cell, then every other column as "label value", wrapped to the width. Nothing is left out."""
    columns = list(frame.columns)
    if "currency" in columns and frame["currency"].n_unique() == 1:
        columns.remove("currency")
    parts = table_title(result, report, frame, columns, section_title)
    # The block's heading: the row's leading text cells (id and name, owner and stage).
    heading = 1
    while heading < min(2, len(columns)) and not frame[columns[heading]].dtype.is_numeric():
        heading += 1
    blocks = [[cells[c][r] for c in columns] for r in range(rows.height)]
    team = team_row(result, report, columns, team_of)
    if team is not None:
        blocks.append(team)
    separator = "  ·  " if look.unicode else "  |  "
    for block in blocks:
        parts.append(Text("  ".join(v for v in block[:heading] if v), style="bold"))
        pairs = zip(columns[heading:], block[heading:], strict=True)
        fields = [f"{column_label(c)} {v}" for c, v in pairs if v]
        line = ""
        for field_text in fields:
            joined = f"{line}{separator}{field_text}" if line else field_text
            if line and len(joined) + 2 > look.width:
                parts.append(Text("  " + line))
                joined = field_text
            line = joined
        if line:
            parts.append(Text("  " + line))
    notes = [
        t(
            "one block per row: its columns do not fit side by side at this width ({wider})",
            wider=t(WIDER),
        )
    ]
    if frame.height > MAX_ROWS:
        which = "earlier" if "period" in frame.columns else "more"
        notes.append(f"{frame.height - MAX_ROWS} {which} rows in --format excel, csv or json")
    if result.note:
        notes.append(result.note)
    return parts + [Text(n, style="dim") for n in notes]


def team_row(
    result: TableResult, report: Report, columns: list[str], team_of: dict[str, str]
) -> list[str] | None:
    """The Team row: the table's own team_* values, else (owners) the report's KPI values."""
    row = [t("Team")]
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
    label_width = min(24, max(len(t("KPI")), *(len(report.kpis[k].label) for k in kpi_ids)))
    width_of = [max(len(h), *(len(body[k][i]) for k in kpi_ids)) for i, h in enumerate(heads)]
    team_width = max(len(t("All")), *(len(text) for text in team.values()))
    room = look.width - label_width - team_width - 6
    order = list(range(len(heads)))
    if result.id == "by_period":
        order.reverse()
    shown = order[: fit([width_of[i] for i in order], room, keep=0)]
    shown.sort()
    table = Table(box=look.table_box, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column(t("KPI"), overflow="fold", max_width=label_width)
    table.add_column(t("All"), justify="right", no_wrap=True, style="bold")
    for i in shown:
        table.add_column(heads[i], justify="right", no_wrap=True)
    for k in kpi_ids:
        table.add_row(report.kpis[k].label, team[k], *(body[k][i] for i in shown))
    parts: list[RenderableType] = [Text(result.title, style="bold"), table]
    if len(shown) < len(heads):
        hidden = len(heads) - len(shown)
        count = number_text(hidden, 0)
        text = (
            t("{count} more column: {wider}", count=count, wider=t(WIDER))
            if hidden == 1
            else t("{count} more columns: {wider}", count=count, wider=t(WIDER))
        )
        parts.append(Text(text, style="dim"))
    if result.note:
        parts.append(Text(result.note, style="dim"))
    return parts
