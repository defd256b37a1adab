"""`crmkpi explain ID [PATH...]`: a KPI's definition, the rows it used and its arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.completion import complete_kpi_ids
from crmkpi.cli.options import config_option, paths_argument, since_option, until_option
from crmkpi.errors import UsageError


@app.command("explain")
@handle_errors
def explain_command(
    kpi: str = typer.Argument(
        ..., metavar="ID", help="KPI id (see `crmkpi metrics`).", autocompletion=complete_kpi_ids
    ),
    paths: list[Path] = paths_argument(),
    since: str = since_option(),
    until: str = until_option(),
    where: str = typer.Option(None, "--where", "-w", help="Row filter, as for `crmkpi metric`."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    rows: Path = typer.Option(
        None,
        "--rows",
        help="Also write every row of the KPI's table with how it counted (.csv, .json, .md).",
    ),
    config: Path = config_option(),
) -> None:
    """Show how a KPI's value comes from the rows: definition, rows left out, arithmetic."""
    import crmkpi.api as api

    if fmt not in ("text", "json"):
        raise UsageError(f"unknown format {fmt!r}", hint="use text or json")
    ds = api.load(paths or [], config=config)
    result = api.explain(ds, kpi, since=since, until=until, where=where)
    if rows is not None:
        from crmkpi.cli.frame_output import emit
        from crmkpi.metrics.kpi_rows import explain_rows
        from crmkpi.reporting.frames import NamedFrame
        from crmkpi.reporting.output import protected_paths

        listing = explain_rows(ds, kpi, since=since, until=until, where=where)
        emit([NamedFrame("rows", listing)], None, rows, protected=protected_paths(ds))
    if fmt == "json":
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        from crmkpi.reporting.safe_text import terminal_text

        typer.echo(terminal_text(result.to_text()), nl=False)
