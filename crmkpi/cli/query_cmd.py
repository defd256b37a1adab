"""`crmkpi query "SQL" [PATH...]`: SQL over the canonical tables of the given exports."""

from __future__ import annotations

from pathlib import Path

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.completion import complete_table_names
from crmkpi.cli.options import (
    config_option,
    paths_argument,
    strict_option,
    table_format_option,
    table_out_option,
)
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
    paths: list[Path] = paths_argument(),
    fmt: str = table_format_option(),
    out: Path = table_out_option(),
    config: Path = config_option(),
    strict: bool = strict_option(),
) -> None:
    """Run SQL over the canonical tables (see `crmkpi tables` for their columns)."""
    import crmkpi.api as api
    from crmkpi.cli.frame_output import emit
    from crmkpi.metrics.sql_guard import check_query
    from crmkpi.reporting.frames import NamedFrame
    from crmkpi.reporting.output import protected_paths

    text = read_sql(sql)
    check_query(text)  # before reading any input: a refused query costs nothing
    ds = api.load(paths or [], config=config, strict=strict)
    emit([NamedFrame("rows", api.query(ds, text))], fmt, out, protected=protected_paths(ds))


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
