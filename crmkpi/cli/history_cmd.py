"""`crmkpi history [KPI]`: the values saved by `crmkpi report --save`, as a table or a series."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.options import config_option
from crmkpi.errors import UsageError

HISTORY_FORMATS = ("terminal", "csv", "json")


def _window(since: str, until: str) -> str:
    if not since and not until:
        return "all data"
    return f"{since[:10] or '...'} .. {until[:10] or '...'}"


@app.command("history")
@handle_errors
def history_command(
    kpi: str = typer.Argument(None, help="KPI id (default: list every KPI saved)."),
    owner: str = typer.Option(None, "--owner", help="The series of one owner's value."),
    config: Path = config_option(),
    fmt: str = typer.Option("terminal", "--format", "-f", help="terminal, csv or json."),
    last: int = typer.Option(None, "--last", "-n", min=1, help="Only the last N runs."),
) -> None:
    """Show KPI values saved by `crmkpi report --save`."""
    from crmkpi.config import find_config, load_config
    from crmkpi.history.store import HistoryStore

    if fmt not in HISTORY_FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use {', '.join(HISTORY_FORMATS)}")
    if owner is not None and kpi is None:
        raise UsageError("--owner needs a KPI id", hint="e.g. crmkpi history deals_won --owner Ana")
    cfg = load_config(find_config(config))
    with HistoryStore(cfg.history_file) as store:
        if kpi is None:
            _print_overview(store, fmt, last)
            return
        points = store.series(kpi, owner or "")
        if not points:
            known = [k for k, _ in store.kpis()]
            owners = store.owners(kpi)
            hint = (
                f"owners saved for {kpi}: {', '.join(owners)}"
                if owner and owners
                else f"saved: {', '.join(known)}"
                if known
                else "run `crmkpi report --save` first"
            )
            who = f" for owner {owner!r}" if owner else ""
            raise UsageError(f"no saved values of {kpi!r}{who}", hint=hint)
    if last:
        points = points[-last:]
    rows = [
        {
            "run_at": p.run_at.astimezone().isoformat(timespec="seconds"),
            "window": _window(p.since, p.until),
            "value": p.value,
        }
        for p in points
    ]
    _emit(rows, fmt, kpi, owner, points)


def _print_overview(store, fmt: str, last: int | None) -> None:  # noqa: ANN001
    from crmkpi.history.windows import by_window_kind
    from crmkpi.metrics import CATALOG
    from crmkpi.reporting.format import sparkline

    rows = []
    for kpi_id, _count in store.kpis():
        # the trend of the latest run's kind of window: other windows' values are no points of it
        groups = by_window_kind(store.series(kpi_id))
        kind, points = groups[-1] if groups else ("", [])
        values = [p.value for p in points]
        if last:
            values = values[-last:]
        metric = CATALOG.get(kpi_id)
        rows.append(
            {
                "kpi": kpi_id,
                "label": metric.label if metric else kpi_id,
                "window": kind,
                "runs": len(values),
                "latest": values[-1] if values else None,
                "trend": sparkline(values),
            }
        )
    if not rows:
        typer.echo("crmkpi: no KPI values saved yet (run `crmkpi report --save`)", err=True)
        return
    if fmt == "terminal":
        runs = store.run_count()
        _table(rows, f"History: {runs} saved run{'s' if runs != 1 else ''}", {"latest": "kpi"})
        return
    _write_rows(rows, fmt)


def _emit(rows: list[dict], fmt: str, kpi: str, owner: str | None, points: list) -> None:
    from crmkpi.metrics import CATALOG

    metric = CATALOG.get(kpi)
    label = metric.label if metric else kpi
    unit = metric.unit if metric else ""
    if fmt == "json":
        document = {"kpi": kpi, "label": label, "unit": unit, "owner": owner, "values": rows}
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        _write_rows(rows, fmt)
    else:
        from crmkpi.history.windows import by_window_kind
        from crmkpi.reporting.format import sparkline

        title = label + (f" - {owner}" if owner else "")
        groups = by_window_kind(points)
        # one line per kind of window: a month's value after an all-data one is no fall
        trends = [
            (f"{kind} " if len(groups) > 1 else "") + sparkline([p.value for p in group])
            for kind, group in groups
        ]
        _table(rows, f"{title}  {'   '.join(trends)}", {"value": unit})


def _write_rows(rows: list[dict], fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from crmkpi.reporting.csv import records_csv

    typer.echo(records_csv(rows), nl=False)


def _table(rows: list[dict], title: str, units: dict[str, str]) -> None:
    from crmkpi.metrics import CATALOG
    from crmkpi.reporting.terminal import print_records

    def unit_of(row: dict, column: str) -> str:
        unit = units.get(column, "")
        if unit == "kpi":  # the overview: each row's value in its own KPI's unit
            metric = CATALOG.get(row["kpi"])
            unit = metric.unit if metric else ""
        return unit

    cell_units = [{column: unit_of(row, column) for column in row} for row in rows]
    print_records(rows, title, cell_units, right=("value", "latest", "runs"))
