"""Printing or writing the named frames that metric, query, tables and explain --rows return.

The renderers are the report's own (`crmkpi.reporting.<format>.render_frames`); this only picks
one and sends its text to the screen or, atomically and never over an input, to a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from crmkpi.reporting.frames import NamedFrame


def emit(
    frames: list[NamedFrame],
    fmt: str | None = None,
    out: Path | None = None,
    protected: dict[Path, str] | None = None,
) -> None:
    """Print the frames, or write them to `out` (atomically, never over an input file)."""
    # The report package (polars, rich) is imported here, not at the top: `crmkpi --help`
    # must not pay for it.
    from crmkpi.reporting.output import frame_format, render_frames, write_atomic
    from crmkpi.reporting.output_file import is_stream
    from crmkpi.reporting.terminal_frames import print_frames

    chosen = frame_format(fmt, None if is_stream(out) else out)
    if chosen == "terminal" and (out is None or str(out) == "-"):
        print_frames(frames)
        return
    text = render_frames(frames, chosen)
    if out is None or str(out) == "-":
        typer.echo(text, nl=False)
        return
    write_atomic(out, text, protected)
