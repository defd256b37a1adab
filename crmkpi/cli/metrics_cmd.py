"""`crmkpi metrics`: the KPI catalog (id, label, unit, formula), as a table or JSON."""

from __future__ import annotations

import json

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.errors import UsageError


def catalog_json() -> dict[str, list[dict[str, object]]]:
    """Every metric and table as plain data, in catalog order."""
    from crmkpi.metrics import CATALOG, TABLE_CATALOG

    metrics = [
        {
            "id": m.id,
            "label": m.label,
            "unit": m.unit,
            "direction": m.direction,
            "kind": str(m.kind),
            "formula": m.formula,
            "period_date": m.period_date,
            "point_in_time": m.point_in_time,
            "needs": {table: list(columns) for table, columns in m.needs},
            "notes": m.notes,
            "reference": m.reference,
        }
        for m in CATALOG.values()
    ]
    tables = [
        {
            "id": t.id,
            "title": t.title,
            "doc": t.doc,
            "needs": {table: list(columns) for table, columns in t.needs},
            "columns": t.units,
        }
        for t in TABLE_CATALOG.values()
    ]
    return {"metrics": metrics, "tables": tables}


@app.command("metrics")
@handle_errors
def metrics_command(
    fmt: str = typer.Option("terminal", "--format", "-f", help="terminal or json."),
) -> None:
    """List every KPI and table: id, label, unit and formula."""
    if fmt not in ("terminal", "json"):
        raise UsageError(f"--format {fmt!r} is not known here", hint="terminal or json")
    data = catalog_json()
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    from crmkpi.reporting.safe_text import terminal_console

    console = terminal_console()
    kpis = Table(title="KPIs", show_lines=False)
    for column in ("id", "label", "unit", "formula"):
        kpis.add_column(column, overflow="fold")
    for m in data["metrics"]:
        kpis.add_row(str(m["id"]), str(m["label"]), str(m["unit"]), str(m["formula"]))
    console.print(kpis)
    tables = Table(title="Tables")
    for column in ("id", "title", "columns"):
        tables.add_column(column, overflow="fold")
    for t in data["tables"]:
        tables.add_row(str(t["id"]), str(t["title"]), ", ".join(t["columns"]))  # type: ignore[arg-type]
    console.print(tables)
