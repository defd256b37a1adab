"""`crmkpi report`: read exports, compute the KPIs, print or write the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.options import (
    as_of_option,
    calendar_option,
    config_option,
    parse_when,
    paths_argument,
    since_option,
    strict_option,
    until_option,
)
from crmkpi.errors import UsageError
from crmkpi.reporting.layout import ALERTS_SECTION, SECTION_IDS

if TYPE_CHECKING:
    from crmkpi.reporting.model import Report


@app.command("report")
@handle_errors
def report_command(
    paths: list[Path] = paths_argument(),
    config: Path = config_option(),
    fmt: str = typer.Option(
        None,
        "--format",
        "-f",
        help="terminal (default), json, markdown, csv, excel or html; with --out, overrides "
        "the extension.",
    ),
    out: str = typer.Option(
        None,
        "--out",
        "-o",
        help="Write to a file; format from the extension; {date} {week} {month}.",
    ),
    since: str = since_option(),
    until: str = until_option(),
    as_of: str = as_of_option(),
    calendar: str = calendar_option(),
    period: str = typer.Option(
        None,
        "--period",
        help="Trend and comparison period: day, week, month, quarter or year "
        "(default: from the data's span).",
    ),
    by: str = typer.Option(
        None, "--by", help="Break the KPIs down by these columns, e.g. owner or source,team."
    ),
    section: list[str] = typer.Option(
        None,
        "--section",
        "-s",
        help=f"Only these sections (repeat): {', '.join((*SECTION_IDS, ALERTS_SECTION))}.",
    ),
    table: str = typer.Option(
        None, "--table", "-t", help="With --format csv: the table to write (default: kpis)."
    ),
    ascii_only: bool = typer.Option(
        False, "--ascii", help="Plain ASCII terminal output: no unicode blocks or lines."
    ),
    width: int = typer.Option(
        None, "--width", help="Terminal report width in columns (default: the terminal's)."
    ),
    strict: bool = strict_option(),
    rejects: Path = typer.Option(None, "--rejects", help="Write rejected rows to this CSV."),
    save: bool = typer.Option(
        False, "--save", help="Record this run's KPI values in the history store."
    ),
    fail_on_alert: bool = typer.Option(
        False, "--fail-on-alert", help="Exit with code 3 when any alert fires."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the alerts."),
    cache: bool = typer.Option(
        None,
        "--cache/--no-cache",
        help="Reuse parsed tables of unchanged files (default: [cache] enabled in config).",
    ),
    cache_dir: Path = typer.Option(
        None, "--cache-dir", help="Cache folder (default: $XDG_CACHE_HOME/crmkpi)."
    ),
) -> None:
    """Print the KPI report of the given exports."""
    import crmkpi.api as api
    from crmkpi.reporting.output import (
        FORMATS,
        expand_path,
        protected_paths,
        render_to_file,
        renderer,
    )
    from crmkpi.reporting.output_file import is_stream

    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if fmt == "excel" and not out:
        raise UsageError("excel output needs a file", hint="add --out report.xlsx")
    if table is not None and (fmt or "") != "csv" and not (out or "").lower().endswith(".csv"):
        raise UsageError("--table goes with --format csv or --out FILE.csv")
    options = {"table": table} if table else {}
    from crmkpi.cli.progress import file_progress, wanted

    with file_progress(wanted(quiet)) as progress:
        ds = api.load(
            paths or [],
            config=config,
            strict=strict,
            cache=cache,
            cache_dir=cache_dir,
            progress=progress,
        )
    rep = api.report(
        ds,
        since=parse_when(since, "--since"),
        until=parse_when(until, "--until"),
        as_of=parse_when(as_of, "--as-of"),
        calendar=calendar,
        period=period,
        by=tuple(b.strip() for b in by.split(",")) if by else (),
        sections=tuple(section or ()),
    )
    if rejects is not None:
        from crmkpi.reporting.dataset_files import write_rejects

        write_rejects(ds, rejects, cache_dir)
    if save:
        from crmkpi.cli.alerts_output import save_run

        save_run(rep, ds, quiet)
    if out:
        # A stream (-, /dev/stdout, /dev/fd/N) has no extension to name a format: plain text.
        target = Path(out) if is_stream(out) else expand_path(out)
        file_format = fmt if fmt not in (None, "terminal") else None
        if file_format is None and is_stream(out):
            file_format = "terminal"
        protected = protected_paths(ds, cache_dir)
        render_to_file(rep, target, file_format, protected=protected, **options)
        if not quiet and not is_stream(out):
            typer.echo(f"crmkpi: wrote {target}", err=True)
    if quiet:
        from crmkpi.cli.alerts_output import print_alerts

        print_alerts(rep.alerts)
    elif not out and fmt in (None, "terminal"):  # with --out, the report goes there only
        _print_terminal(rep, ascii_only, width)
    elif not out:
        text = renderer(fmt).render(rep, **options)
        typer.echo(text if isinstance(text, str) else text.decode(), nl=False)
    if fail_on_alert and rep.alerts:
        from crmkpi.cli.alerts_output import exit_on_alerts

        exit_on_alerts(rep.alerts, quiet)


def _print_terminal(rep: Report, ascii_only: bool, width: int | None) -> None:
    from crmkpi.reporting.safe_text import terminal_console
    from crmkpi.reporting.terminal import print_report

    print_report(rep, terminal_console(width=width), ascii_only=ascii_only)
