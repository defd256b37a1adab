"""Choosing a renderer by format or file extension, and writing its output safely.

A format is one module in this package exposing `EXTENSIONS`, `BINARY`,
`render(report, **options)` and, for the formats in FRAME_FORMATS, `render_frames(frames)`
(what metric, query, tables and explain --rows return); adding a format means adding one
module and its name to FORMATS.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from crmkpi.errors import UsageError
from crmkpi.reporting.output_file import Protected, write_output

if TYPE_CHECKING:
    from crmkpi.dataset import Dataset
    from crmkpi.reporting.frames import NamedFrame
    from crmkpi.reporting.model import Report

FORMATS = ("terminal", "json", "markdown", "csv", "excel", "html")
FRAME_FORMATS = ("terminal", "csv", "json", "markdown")
# --format also takes the extension people know a format by: --format md as --out x.md
FORMAT_ALIASES = {"md": "markdown", "xlsx": "excel", "htm": "html", "txt": "terminal"}


def format_name(fmt: str | None) -> str | None:
    """The format's own name for a name given on the command line (md -> markdown)."""
    return None if fmt is None else FORMAT_ALIASES.get(fmt.lower(), fmt.lower())


def renderer(fmt: str) -> ModuleType:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    return importlib.import_module(f"crmkpi.reporting.{fmt}")


def format_for_path(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS:
        if suffix in getattr(renderer(fmt), "EXTENSIONS", ()):
            return fmt
    raise UsageError(
        f"cannot tell the output format from {str(path)!r}",
        hint="use .xlsx, .json, .md, .csv or .html",
    )


def frame_format(fmt: str | None, out: Path | None) -> str:
    """For named frames: the --format given, else the one --out's extension names, else
    terminal."""
    fmt = format_name(fmt)
    if fmt is not None:
        if fmt not in FRAME_FORMATS:
            hint = f"use one of {', '.join(FRAME_FORMATS)}"
            raise UsageError(f"unknown format {fmt!r}", hint=hint)
        return fmt
    if out is None:
        return "terminal"
    suffix = out.suffix.lower()
    for chosen in FRAME_FORMATS:
        if suffix in renderer(chosen).EXTENSIONS:
            return chosen
    raise UsageError(
        f"cannot tell the output format from {str(out)!r}",
        hint="use .csv, .json, .md or .txt, or give --format",
    )


def render_frames(frames: list[NamedFrame], fmt: str) -> str:
    """Named frames as text in `fmt` (one of FRAME_FORMATS)."""
    return renderer(fmt).render_frames(frames)


def expand_path(template: str, now: datetime | None = None) -> Path:
    """Fill {date}, {week} and {month} in an output path (for cron jobs keeping one per run)."""
    now = now or datetime.now()
    iso = now.isocalendar()
    try:
        return Path(
            template.format(
                date=now.strftime("%Y-%m-%d"),
                week=f"{iso.year}-W{iso.week:02d}",
                month=now.strftime("%Y-%m"),
                time=now.strftime("%H%M%S"),
            )
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(
            f"bad placeholder in output path {template!r}", hint="use {date}, {week}, {month}"
        ) from exc


def write_atomic(path: Path, data: str | bytes, protected: Protected | None = None) -> None:
    """Write an output file: atomically for a regular file, as a stream for a device, FIFO or
    standard stream; never over a protected path (see output_file)."""
    write_output(path, data, protected)


def protected_paths(ds: Dataset, cache_dir: Path | None = None) -> dict[Path, str]:
    """What no output may replace: the inputs, the config, the history store, the parse cache."""
    from crmkpi.io.cache import cache_settings, default_cache_dir

    roles = {Path(i.path): "the input file" for i in ds.inputs}
    config = ds.config
    if config is not None and config.path is not None:
        roles[config.path] = "the config file"
        roles[config.history_file] = "the history store"
    else:
        from crmkpi.config import DEFAULT_HISTORY_PATH

        roles[Path(DEFAULT_HISTORY_PATH)] = "the history store"
    settings = cache_settings(config)
    if cache_dir is not None:
        roles[Path(cache_dir).expanduser()] = "the parse cache"
    elif "dir" in settings and config is not None:
        roles[config.resolve(settings["dir"])] = "the parse cache"
    roles.setdefault(default_cache_dir(), "the parse cache")
    return roles


def render_to_file(
    report: Report,
    path: Path,
    fmt: str | None = None,
    protected: Protected | None = None,
    **options: Any,
) -> str:
    """Render `report` in `fmt` (or the format the extension names) and write it atomically."""
    fmt = fmt or format_for_path(path)
    data = renderer(fmt).render(report, **options)
    write_atomic(path, data, protected)
    return fmt
