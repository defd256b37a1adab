"""`crmkpi diff OLD NEW`: deals created, won, lost, moved, slipped and changed between exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.cli.options import config_option
from crmkpi.errors import UsageError

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.diff.compare import DealDiff

DIFF_FORMATS = {"terminal": (), "json": (".json",), "markdown": (".md",), "csv": (".csv",)}
UNITS = {
    "amount": "currency",
    "old_amount": "currency",
    "change": "currency",
    "days_pushed": "days",
    "created_amount": "currency",
    "won_amount": "currency",
    "lost_amount": "currency",
    "amount_change_net": "currency",
    "open_pipeline_before": "currency",
    "open_pipeline_after": "currency",
    "slipped_days_total": "days",
    "slipped_days_median": "days",
}
SUMMARY_LABELS = {
    "deals_before": "Deals in the old export",
    "deals_after": "Deals in the new export",
    "created": "Created",
    "created_amount": "Created, amount",
    "won": "Won",
    "won_amount": "Won, amount",
    "lost": "Lost",
    "lost_amount": "Lost, amount",
    "moved_forward": "Moved forward",
    "moved_back": "Moved back",
    "reopened": "Reopened",
    "moved_unordered": "Moved, stage not in the order",
    "slipped": "Close date pushed out",
    "slipped_days_total": "Days pushed, total",
    "slipped_days_median": "Days pushed, median",
    "amount_changes": "Amount changed",
    "amount_change_net": "Amount change, net",
    "owner_changes": "Owner changed",
    "removed": "No longer in the export",
    "open_pipeline_before": "Open pipeline before",
    "open_pipeline_after": "Open pipeline after",
    "currency": "Currency",
}


def _cell(column: str, value: Any) -> str:
    from crmkpi.reporting.format import format_value

    return format_value(value, UNITS.get(column, ""))


def _summary_rows(diff: DealDiff) -> list[tuple[str, str]]:
    return [
        (label, _cell(key, diff.summary.get(key)))
        for key, label in SUMMARY_LABELS.items()
        if diff.summary.get(key) is not None
    ]


def render_terminal(diff: DealDiff) -> None:
    from rich.table import Table
    from rich.text import Text

    from crmkpi.diff.compare import TABLES
    from crmkpi.reporting.safe_text import terminal_console

    console = terminal_console()
    summary = Table(title=f"{diff.snapshots[0]} -> {diff.snapshots[-1]}", title_justify="left")
    summary.add_column("Change")
    summary.add_column("Value", justify="right")
    for label, value in _summary_rows(diff):
        summary.add_row(label, value)
    console.print(summary)
    for table_id, title in TABLES:
        frame = diff.tables[table_id]
        if frame.height == 0:
            continue
        # Narrower tables: these tables' titles already say the status.
        if table_id in ("won", "lost", "stage_moves", "amount_changes", "owner_changes"):
            frame = frame.drop([c for c in ("status",) if c in frame.columns])
        table = Table(title=f"{title} ({frame.height})", title_justify="left")
        for column in frame.columns:
            numeric = frame.schema[column].is_numeric()
            table.add_column(column, justify="right" if numeric else "left")
        for row in frame.iter_rows(named=True):
            table.add_row(*(_cell(c, v) for c, v in row.items()))
        console.print(table)
    for note in diff.notes:
        console.print(Text(f"note: {note}", style="dim"))


def render_markdown(diff: DealDiff) -> str:
    from crmkpi.diff.compare import TABLES
    from crmkpi.reporting.safe_text import markdown_text as escape

    lines = [f"# Changes: {escape(diff.snapshots[0])} -> {escape(diff.snapshots[-1])}", ""]
    lines += ["| Change | Value |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in _summary_rows(diff)]
    for table_id, title in TABLES:
        frame = diff.tables[table_id]
        if frame.height == 0:
            continue
        lines += ["", f"## {title} ({frame.height})", ""]
        lines.append("| " + " | ".join(escape(c) for c in frame.columns) + " |")
        lines.append(
            "|" + "|".join("---:" if t.is_numeric() else "---" for t in frame.schema.values()) + "|"
        )
        for row in frame.iter_rows(named=True):
            lines.append("| " + " | ".join(escape(_cell(c, v)) for c, v in row.items()) + " |")
    if diff.notes:
        lines += ["", *(f"> note: {escape(n)}" for n in diff.notes)]
    return "\n".join(lines) + "\n"


def render_json(diff: DealDiff) -> str:
    from crmkpi.reporting.json import frame_records

    document = {
        "snapshots": diff.snapshots,
        "summary": diff.summary,
        "notes": diff.notes,
        **{table_id: frame_records(frame) for table_id, frame in diff.tables.items()},
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"


def render_csv(diff: DealDiff) -> str:
    """One row per change: kind, deal id, name, owner, before, after, change."""
    from crmkpi.reporting.safe_text import csv_text

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    changes = diff.changes
    writer.writerow([csv_text(c) for c in changes.columns])
    for row in changes.iter_rows():
        writer.writerow(["" if v is None else csv_text(v) for v in row])
    return buffer.getvalue()


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
    from crmkpi.reporting.output import expand_path, write_atomic
    from crmkpi.reporting.output_file import is_stream

    if fmt not in DIFF_FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use {', '.join(DIFF_FORMATS)}")
    from crmkpi.config import find_config, load_config

    paths = [old, *new]
    project = load_config(find_config(config))
    snapshots = [api.load([p], config=snapshot_config(project, p)) for p in paths]
    diff = compare(snapshots, [str(p) for p in paths])
    renderers = {"json": render_json, "markdown": render_markdown, "csv": render_csv}
    if out:
        target = Path(out) if is_stream(out) else expand_path(out)
        if is_stream(out) and fmt == "terminal":
            raise UsageError(f"--out {out} needs a --format", hint="json, markdown or csv")
        out_fmt = fmt if is_stream(out) else _format_for(target)
        protected = {p: "the input file" for p in paths}
        if project.path is not None:
            protected[project.path] = "the config file"
            protected[project.history_file] = "the history store"
        write_atomic(target, renderers[out_fmt](diff), protected=protected)
        if not is_stream(out):
            typer.echo(f"crmkpi: wrote {target}", err=True)
        if fmt == "terminal" or is_stream(out):
            return
    if fmt == "terminal":
        render_terminal(diff)
    else:
        typer.echo(renderers[fmt](diff), nl=False)
