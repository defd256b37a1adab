"""`crmkpi metrics`: the KPI catalog (id, label, unit, formula), as a table or JSON."""

from __future__ import annotations

import json
from typing import Any

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.errors import UsageError

LIST_BELOW_WIDTH = 120  # narrower than this, the catalog prints as a list, not a table


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
    if console.width < LIST_BELOW_WIDTH:
        _print_list(console, data)
        return
    # Ids are what people copy into commands: never folded; labels and formulas wrap instead.
    kpis = Table(title="KPIs", show_lines=False)
    kpis.add_column("id", no_wrap=True)
    kpis.add_column("label", ratio=1)
    kpis.add_column("unit", no_wrap=True)
    kpis.add_column("formula", ratio=2)
    for m in data["metrics"]:
        kpis.add_row(str(m["id"]), str(m["label"]), str(m["unit"]), str(m["formula"]))
    console.print(kpis)
    tables = Table(title="Tables")
    tables.add_column("id", no_wrap=True)
    tables.add_column("title", ratio=1)
    tables.add_column("columns", ratio=2)
    for t in data["tables"]:
        tables.add_row(str(t["id"]), str(t["title"]), ", ".join(t["columns"]))  # type: ignore[arg-type]
    console.print(tables)


def _print_list(console: Any, data: dict[str, list[dict[str, object]]]) -> None:
    """One block per KPI and table, the id on its own line: a four-column table at 80
    columns would fold ids and formulas into one word per line."""
    from rich.padding import Padding
    from rich.text import Text

    console.print(Text("KPIs", style="bold"))
    for m in data["metrics"]:
        console.print(Text.assemble((str(m["id"]), "bold"), f"  ({m['unit']})"))
        console.print(Padding(Text(f"{m['label']}: {m['formula']}"), (0, 0, 0, 4), expand=False))
    console.print(Text("\nTables", style="bold"))
    for t in data["tables"]:
        console.print(Text(str(t["id"]), style="bold"))
        text = f"{t['title']}: {', '.join(t['columns'])}"  # type: ignore[arg-type]
        console.print(Padding(Text(text), (0, 0, 0, 4), expand=False))
