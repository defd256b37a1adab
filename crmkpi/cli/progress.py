"""A progress bar over the bytes of the exports being read, on an interactive stderr only.

Cron jobs and pipes get nothing: no escape codes in mailed output or logs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Below this many bytes in all, reading is too quick for a bar to help.
MIN_BYTES = 2_000_000


def wanted(quiet: bool = False) -> bool:
    """A bar only on a terminal, never with --quiet, TERM=dumb or CRMKPI_NO_PROGRESS set."""
    if quiet or os.environ.get("CRMKPI_NO_PROGRESS") or os.environ.get("TERM") == "dumb":
        return False
    from rich.console import Console

    return Console(stderr=True).is_terminal


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@contextmanager
def file_progress(
    enabled: bool, min_bytes: int = MIN_BYTES
) -> Iterator[Callable[[int, list[Path]], None] | None]:
    """A `progress(done, files)` callback for crmkpi.io.load.load, or None when not shown."""
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from crmkpi.reporting.safe_text import terminal_console

    bar = Progress(
        TextColumn("{task.description}", markup=False),  # file names are not markup
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[files]}", markup=False),
        TimeRemainingColumn(),
        console=terminal_console(stderr=True),
        transient=True,
    )
    sizes: list[int] = []
    task = None

    def update(done: int, files: list[Path]) -> None:
        nonlocal task
        if not sizes:
            sizes.extend(_size(f) for f in files)
            if sum(sizes) < min_bytes:
                return
            bar.start()
            task = bar.add_task("reading", total=sum(sizes), files="")
        if task is None:
            return
        name = files[done].name if done < len(files) else "done"
        bar.update(
            task,
            completed=sum(sizes[:done]),
            description=f"reading {name}",
            files=f"file {min(done + 1, len(files))}/{len(files)}",
        )

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()
