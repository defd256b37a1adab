"""`crmkpi metric ID... [PATH...]`: chosen KPIs (or report tables) by column and period."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.completion import complete_columns, complete_kpi_ids_or_paths, complete_periods
from crmkpi.cli.options import (
    as_of_option,
    calendar_option,
    config_option,
    since_option,
    strict_option,
    table_format_option,
    table_out_option,
    until_option,
)
from crmkpi.errors import InputError, UsageError

_LOOKS_LIKE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def split_ids_and_paths(args: list[str]) -> tuple[list[str], list[Path]]:
    """Known KPI or table ids are ids; everything else is an input file or folder."""
    from crmkpi.api import unknown_id
    from crmkpi.metrics import CATALOG, TABLE_CATALOG

    ids: list[str] = []
    paths: list[Path] = []
    for arg in args:
        if arg in CATALOG or arg in TABLE_CATALOG:
            ids.append(arg)
        elif Path(arg).exists():
            paths.append(Path(arg))
        elif _LOOKS_LIKE_ID.match(arg):
            raise unknown_id(arg)
        else:
            raise InputError("no such file or folder", path=arg)
    if not ids:
        raise UsageError("name at least one KPI or table id", hint="see `crmkpi metrics`")
    return ids, paths


@app.command("metric")
@handle_errors
def metric_command(
    args: list[str] = typer.Argument(
        ...,
        metavar="ID|PATH",
        help="KPI or table ids, then export files or folders (default: config sources).",
        autocompletion=complete_kpi_ids_or_paths,
    ),
    by: str = typer.Option(
        None, "--by", help="Breakdown column(s), comma-separated.", autocompletion=complete_columns
    ),
    period: str = typer.Option(
        None,
        "--period",
        help="day, week, month, quarter or year.",
        autocompletion=complete_periods,
    ),
    since: str = since_option(),
    until: str = until_option(),
    as_of: str = as_of_option(),
    calendar: str = calendar_option(),
    where: str = typer.Option(
        None, "--where", "-w", help="Row filter, e.g. 'source = \"Referral\" and amount >= 10000'."
    ),
    fmt: str = table_format_option(),
    out: Path = table_out_option(),
    config: Path = config_option(),
    strict: bool = strict_option(),
) -> None:
    """Print chosen KPIs, broken down by columns and periods.

    --where applies to each KPI's own table and to other tables having every column it names.
    """
    import crmkpi.api as api
    from crmkpi.cli.frame_output import emit
    from crmkpi.metrics import CATALOG, TABLE_CATALOG
    from crmkpi.reporting.frames import NamedFrame, with_period_labels
    from crmkpi.reporting.output import protected_paths

    ids, paths = split_ids_and_paths(args)
    ds = api.load(paths, config=config, strict=strict)
    options = {
        "by": by or (),
        "period": period,
        "since": since,
        "until": until,
        "where": where,
        "as_of": as_of,
        "calendar": calendar,
    }
    # the periods as computed: --calendar, else the config's
    in_calendar = calendar or (ds.config.calendar if ds.config else "gregorian")
    blocks: list[NamedFrame] = []
    kpis = [i for i in ids if i in CATALOG]
    if kpis:
        frame = api.metric(ds, kpis, **options)
        frame = with_period_labels(frame, period, calendar=in_calendar) if period else frame
        units = {k: CATALOG[k].unit for k in kpis}
        blocks.append(NamedFrame("metrics", frame, units, "KPIs"))
    for table_id in (i for i in ids if i not in CATALOG):
        spec = TABLE_CATALOG[table_id]
        table = api.table(ds, table_id, **options)
        table = with_period_labels(table, period, calendar=in_calendar) if period else table
        blocks.append(NamedFrame(table_id, table, spec.units, spec.title))
    emit(blocks, fmt, out, protected=protected_paths(ds))
