"""Choosing a renderer by format or file extension, and writing its output safely.

A format is one module in this package exposing `EXTENSIONS`, `BINARY` and
`render(report, **options)`; adding a format means adding one module and its name to FORMATS.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from crmkpi.errors import UsageError
from crmkpi.report.model import Report

FORMATS = ("terminal", "json", "markdown", "csv", "excel", "html")


def renderer(fmt: str) -> ModuleType:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    return importlib.import_module(f"crmkpi.report.{fmt}")


def format_for_path(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS:
        if suffix in getattr(renderer(fmt), "EXTENSIONS", ()):
            return fmt
    raise UsageError(
        f"cannot tell the output format from {str(path)!r}",
        hint="use .xlsx, .json, .md, .csv or .html",
    )


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


def write_atomic(path: Path, data: str | bytes, protected: list[Path] | None = None) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    target = path.resolve()
    for p in protected or ():
        # samefile: a symlink or a hard link to an input is that input too
        if p.exists() and (p.resolve() == target or (target.exists() and p.samefile(target))):
            raise UsageError(f"refusing to overwrite the input file {str(path)!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, _mode_for(target))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The existing file's mode, else what the umask gives a new file (mkstemp's 0600 is not
    what a report shared with a team should have)."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def render_to_file(
    report: Report,
    path: Path,
    fmt: str | None = None,
    protected: list[Path] | None = None,
    **options: Any,
) -> str:
    """Render `report` in `fmt` (or the format the extension names) and write it atomically."""
    fmt = fmt or format_for_path(path)
    data = renderer(fmt).render(report, **options)
    write_atomic(path, data, protected)
    return fmt
