"""`crmkpi query "SQL" [PATH...]`: SQL over the canonical tables of the given exports."""

from __future__ import annotations

from pathlib import Path

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.completion import complete_paths, complete_table_names
from crmkpi.errors import InputError


@app.command("query")
@handle_errors
def query_command(
    sql: str = typer.Argument(
        ...,
        metavar="SQL",
        help="SELECT over deals, stage_history, leads, activities, spend, subscriptions, nps, "
        "rejects; @FILE reads it from a file, - from standard input.",
        autocompletion=complete_table_names,
    ),
    paths: list[Path] = typer.Argument(
        None,
        metavar="PATH",
        help="Export files or folders (default: config sources).",
        autocompletion=complete_paths,
    ),
    fmt: str = typer.Option(
        None, "--format", "-f", help="terminal, csv, json or markdown (default: from --out)."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file (atomically)."),
    config: Path = typer.Option(
        None, "--config", "-c", help="crmkpi.toml (default: ./crmkpi.toml)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Fail on the first rejected value."),
) -> None:
    """Run SQL over the canonical tables (see `crmkpi tables` for their columns)."""
    import crmkpi.api as api
    from crmkpi.cli.frame_output import Block, emit, input_paths

    text = read_sql(sql)
    ds = api.load(paths or [], config=config, strict=strict)
    emit([Block("rows", api.query(ds, text))], fmt, out, protected=input_paths(ds))


def read_sql(argument: str) -> str:
    """The query itself, or the text of @FILE, or standard input for -."""
    import sys

    if argument == "-":
        return sys.stdin.read()
    if argument.startswith("@"):
        path = Path(argument[1:])
        try:
            return path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputError(f"cannot read the query: {exc.strerror}", path=str(path)) from exc
    return argument
