"""`crmkpi inspect FILE`: what the importer makes of one export, and the config that pins it."""

from __future__ import annotations

from pathlib import Path

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.options import config_option


@app.command("inspect")
@handle_errors
def inspect_command(
    path: Path = typer.Argument(..., help="One export file (CSV, TSV, XLSX, XLS, ODS, HTML)."),
    emit_config: bool = typer.Option(
        False, "--emit-config", help="Print a crmkpi.toml sources section for this file."
    ),
    sheet: str = typer.Option(None, "--sheet", help="Workbook sheet to inspect."),
    config: Path = config_option(),
) -> None:
    """Show format, encoding, delimiter, header row, table, preset, column mapping and parse
    success, ambiguous dates, won/lost stages and data-quality counts of one file."""
    from crmkpi.config import find_config, load_config
    from crmkpi.io.inspect import emit_config as emit
    from crmkpi.io.inspect import inspect_file, render_text

    cfg = load_config(find_config(config))
    insp = inspect_file(path, cfg, sheet)
    from crmkpi.reporting.safe_text import terminal_text

    typer.echo(emit(insp) if emit_config else terminal_text(render_text(insp)))
    if insp.problem:  # shown above; the exit status still says the file does not load
        from crmkpi.errors import InputError

        raise InputError(insp.problem, path=str(path))
