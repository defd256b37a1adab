"""Writing a loaded Dataset back out: its tables as a Parquet folder (`crmkpi convert`) and
its rejected rows as CSV (`report --rejects`), each file atomic and never over an input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from crmkpi.errors import UsageError
from crmkpi.io.parquet_folder import CSV_FOLDER, MANIFEST_FILE, manifest_of
from crmkpi.reporting.output import protected_paths, write_atomic
from crmkpi.reporting.safe_text import csv_frame

if TYPE_CHECKING:
    from crmkpi.dataset import Dataset


def write_dataset(ds: Dataset, folder: Path, *, csv: bool = False) -> list[Path]:
    """Write every table of `ds` (and its rejects) to `folder`; CSV copies go to `folder/csv/`.

    The CSV copies sit in a subfolder so that reading `folder` back never sees a table twice.
    Each file is written atomically. Returns the paths written.
    """
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {str(folder)!r} is a file, not a folder")
    inputs = [Path(i.path).resolve() for i in ds.inputs]
    if any(p.parent == folder.resolve() for p in inputs):
        raise UsageError(
            f"refusing to write into {str(folder)!r}: it holds input files",
            hint="reading it back would see each table twice; choose another folder",
        )
    protected = protected_paths(ds)
    written: list[Path] = []
    frames = dict(ds.frames)
    for name, frame in [*frames.items(), ("rejects", ds.rejects)]:
        target = folder / f"{name}.parquet"
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        write_atomic(target, buffer.getvalue(), protected)
        written.append(target)
        if csv:
            target = folder / CSV_FOLDER / f"{name}.csv"
            write_atomic(target, csv_frame(frame).write_csv(), protected)
            written.append(target)
    manifest = folder / MANIFEST_FILE
    text = json.dumps(manifest_of(ds), ensure_ascii=False, indent=2) + "\n"
    write_atomic(manifest, text, protected)
    written.append(manifest)
    return written


def write_rejects(ds: Dataset, path: str | Path, cache_dir: Path | None = None) -> None:
    """Write Dataset.rejects as CSV (atomically, never over an input, the config, the history
    or the cache) with formula-like cells neutralised."""
    protected = protected_paths(ds, cache_dir)
    write_atomic(Path(path), csv_frame(ds.rejects).write_csv(), protected)
