"""`crmkpi tables [PATH...]`: the tables, columns, dtypes and row counts a query can read."""

from __future__ import annotations

from pathlib import Path

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.options import config_option, paths_argument, table_format_option, table_out_option


@app.command("tables")
@handle_errors
def tables_command(
    paths: list[Path] = paths_argument(),
    fmt: str = table_format_option(),
    out: Path = table_out_option(),
    config: Path = config_option(),
) -> None:
    """List the tables of the inputs with their columns, dtypes and row counts.

    Extra columns kept from the exports appear under their original headers, marked "extra".
    """
    import polars as pl

    import crmkpi.api as api
    from crmkpi.cli.frame_output import emit
    from crmkpi.reporting.frames import NamedFrame
    from crmkpi.reporting.output import protected_paths

    ds = api.load(paths or [], config=config)
    rows = [
        {"table": t.name, "column": c, "dtype": d, "kind": "canonical" if canon else "extra",
         "rows": t.rows}
        for t in api.tables(ds)
        for c, d, canon in t.columns
    ]  # fmt: skip
    schema = {"table": pl.String, "column": pl.String, "dtype": pl.String, "kind": pl.String,
              "rows": pl.Int64}  # fmt: skip
    frame = pl.DataFrame(rows, schema=schema)
    emit([NamedFrame("tables", frame)], fmt, out, protected=protected_paths(ds))
