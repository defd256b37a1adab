"""Terminal renderer: rich tables of the report's sections."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table

from crmkpi.report.format import format_value
from crmkpi.report.model import Report

EXTENSIONS = (".txt",)
BINARY = False


def renderable(report: Report) -> Group:
    parts: list[Any] = []
    for section in report.sections:
        if section.skipped:
            parts.append(f"[dim]{section.title}: skipped ({section.skipped})[/dim]")
            continue
        if section.kpis:
            table = Table(title=section.title, title_justify="left")
            table.add_column("KPI")
            table.add_column("Value", justify="right")
            for kpi_id in section.kpis:
                kpi = report.kpis[kpi_id]
                shown = format_value(kpi.value, kpi.unit) if kpi.value is not None else "-"
                table.add_row(kpi.label, shown)
            parts.append(table)
        for table_id in section.tables:
            result = report.tables[table_id]
            table = Table(title=result.title, title_justify="left")
            for col in result.frame.columns:
                table.add_column(col, justify="left" if col in ("owner", "stage") else "right")
            for row in result.frame.iter_rows():
                table.add_row(
                    *(
                        format_value(v, result.units.get(c, ""))
                        for c, v in zip(result.frame.columns, row, strict=True)
                    )
                )
            parts.append(table)
    return Group(*parts)


def print_report(report: Report, console: Console) -> None:
    console.print(renderable(report))


def render(report: Report, width: int = 100, **_: Any) -> str:
    console = Console(record=True, width=width, file=open("/dev/null", "w"), color_system=None)  # noqa: SIM115
    console.print(renderable(report))
    return console.export_text()
