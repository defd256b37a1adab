"""`crmkpi diff OLD NEW`: deals created, won, lost, moved, slipped and changed between exports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.options import config_option
from crmkpi.errors import UsageError

if TYPE_CHECKING:
    from crmkpi.config import Config

DIFF_FORMATS = {"terminal": (), "json": (".json",), "markdown": (".md",), "csv": (".csv",)}


def _format_for(out: Path) -> str:
    suffix = out.suffix.lower()
    for fmt, suffixes in DIFF_FORMATS.items():
        if suffix in suffixes:
            return fmt
    raise UsageError(f"cannot tell the diff format from {str(out)!r}", hint="use .json, .md, .csv")


def snapshot_config(config: Config, path: Path) -> Config:
    """The project config with its sources narrowed to the files of one snapshot.

    A source keeps its preset, columns and parse hints for the snapshot's files of the same
    name pattern; otherwise every snapshot would also read the sources' own files.
    """
    import fnmatch
    import glob
    from dataclasses import replace

    sources = []
    for source in config.sources:
        if not source.path:
            continue
        pattern = Path(source.path).name
        if path.is_dir():
            inside = f"{glob.escape(str(path.resolve()))}/{pattern}"
            if glob.glob(inside):
                sources.append(replace(source, path=inside))
        elif fnmatch.fnmatch(path.name, pattern):
            sources.append(replace(source, path=glob.escape(str(path.resolve()))))
    return replace(config, sources=tuple(sources))


@app.command("diff")
@handle_errors
def diff_command(
    old: Path = typer.Argument(..., help="The older export (file or folder)."),
    new: list[Path] = typer.Argument(
        ..., help="The newer export; give several in date order to count repeated slips."
    ),
    config: Path = config_option(),
    fmt: str = typer.Option("terminal", "--format", "-f", help="terminal, json, markdown or csv."),
    out: str = typer.Option(
        None, "--out", "-o", help="Write to a file (format from the extension); {date} works."
    ),
) -> None:
    """Compare exports of the same CRM taken on different days, deal by deal."""
    import crmkpi.api as api
    from crmkpi.diff.compare import compare
    from crmkpi.reporting.output import expand_path, format_name, renderer, write_atomic
    from crmkpi.reporting.output_file import is_stream
    from crmkpi.reporting.terminal import print_diff

    fmt = format_name(fmt) or "terminal"
    if fmt not in DIFF_FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use {', '.join(DIFF_FORMATS)}")
    from crmkpi.config import find_config, load_config

    paths = [old, *new]
    project = load_config(find_config(config))
    snapshots = [api.load([p], config=snapshot_config(project, p)) for p in paths]
    diff = compare(snapshots, [str(p) for p in paths])
    if out:
        target = Path(out) if is_stream(out) else expand_path(out)
        if is_stream(out) and fmt == "terminal":
            raise UsageError(f"--out {out} needs a --format", hint="json, markdown or csv")
        out_fmt = fmt if is_stream(out) else _format_for(target)
        protected = {p: "the input file" for p in paths}
        if project.path is not None:
            protected[project.path] = "the config file"
            protected[project.history_file] = "the history store"
        write_atomic(target, renderer(out_fmt).render_diff(diff), protected=protected)
        if not is_stream(out):
            typer.echo(f"crmkpi: wrote {target}", err=True)
        if fmt == "terminal" or is_stream(out):
            return
    if fmt == "terminal":
        print_diff(diff)
    else:
        typer.echo(renderer(fmt).render_diff(diff), nl=False)
