"""`crmkpi report`: read exports, compute the KPIs, print or write the report."""

from __future__ import annotations

from pathlib import Path

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.options import parse_when


@app.command("report")
@handle_errors
def report_command(
    paths: list[Path] = typer.Argument(
        None, help="Export files or folders (default: config sources)."
    ),
    config: Path = typer.Option(
        None, "--config", "-c", help="crmkpi.toml (default: ./crmkpi.toml)."
    ),
    fmt: str = typer.Option(
        "terminal", "--format", "-f", help="terminal, json, markdown, csv, excel or html."
    ),
    out: str = typer.Option(
        None,
        "--out",
        "-o",
        help="Write to a file; format from the extension; {date} {week} {month}.",
    ),
    since: str = typer.Option(None, "--since", help="Window start (YYYY-MM-DD), inclusive."),
    until: str = typer.Option(None, "--until", help="Window end (YYYY-MM-DD), exclusive."),
    period: str = typer.Option(None, "--period", help="day, week, month, quarter or year."),
    by: str = typer.Option(None, "--by", help="Breakdown column(s), comma-separated."),
    section: list[str] = typer.Option(None, "--section", "-s", help="Only these sections."),
    strict: bool = typer.Option(False, "--strict", help="Fail on the first rejected value."),
    rejects: Path = typer.Option(None, "--rejects", help="Write rejected rows to this CSV."),
) -> None:
    """Print the KPI report of the given exports."""
    import crmkpi.api as api
    from crmkpi.report.output import expand_path, render_to_file, renderer

    ds = api.load(paths or [], config=config, strict=strict)
    rep = api.report(
        ds,
        since=parse_when(since, "--since"),
        until=parse_when(until, "--until"),
        period=period,
        by=tuple(b.strip() for b in by.split(",")) if by else (),
        sections=tuple(section or ()),
    )
    if rejects is not None:
        from crmkpi.io.load import write_rejects

        write_rejects(ds, rejects)
    inputs = [Path(i.path) for i in ds.inputs]
    if out:
        render_to_file(rep, expand_path(out), protected=inputs)
        if fmt == "terminal":
            _print_terminal(rep)
        return
    if fmt == "terminal":
        _print_terminal(rep)
        return
    text = renderer(fmt).render(rep)
    typer.echo(text if isinstance(text, str) else text.decode(), nl=False)


def _print_terminal(rep) -> None:  # noqa: ANN001
    from rich.console import Console

    from crmkpi.report.terminal import print_report

    print_report(rep, Console())
