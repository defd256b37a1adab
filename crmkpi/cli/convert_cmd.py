"""`crmkpi convert PATH... --out FOLDER`: exports to canonical Parquet (the fastest input)."""

from __future__ import annotations

from pathlib import Path

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.options import config_option, paths_argument, strict_option


@app.command("convert")
@handle_errors
def convert_command(
    paths: list[Path] = paths_argument(),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the tables into."),
    csv: bool = typer.Option(False, "--csv", help="Also write CSV copies (in OUT/csv/)."),
    config: Path = config_option(),
    strict: bool = strict_option(),
) -> None:
    """Write the canonical tables as Parquet, one file per table, plus the rejected rows.

    Read the folder back like any export: `crmkpi report OUT` or `crmkpi.load("OUT")`.
    """
    import crmkpi.api as api

    ds = api.load(paths or [], config=config, strict=strict)
    written = api.convert(ds, out, csv=csv)
    for path in written:
        if path.suffix in (".parquet", ".csv"):
            name = path.stem
            rows = ds.rejects.height if name == "rejects" else ds.frames[name].height
            typer.echo(f"{path}  {rows:,} rows")
