"""Writing a loaded Dataset as a folder of Parquet files: the fastest input to read back.

    exports/ --crmkpi convert--> canonical/deals.parquet, leads.parquet, ..., rejects.parquet,
                                 dataset.json (stage model and the account of the original files)

A Parquet file named after a canonical table is read back as that table, as is, so the folder
works anywhere exports do (`crmkpi report canonical/`, `crmkpi.load("canonical/")`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmkpi.errors import UsageError

if TYPE_CHECKING:
    from crmkpi.dataset import Dataset

REJECTS_FILE = "rejects.parquet"
MANIFEST_FILE = "dataset.json"
CSV_FOLDER = "csv"


def write_dataset(ds: Dataset, folder: Path, *, csv: bool = False) -> list[Path]:
    """Write every table of `ds` (and its rejects) to `folder`; CSV copies go to `folder/csv/`.

    The CSV copies sit in a subfolder so that reading `folder` back never sees a table twice.
    Each file is written atomically. Returns the paths written.
    """
    from crmkpi.reporting.output import protected_paths, write_atomic
    from crmkpi.reporting.safe_text import csv_frame

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


def manifest_of(ds: Dataset) -> dict[str, Any]:
    """What the Parquet files cannot hold: the stage model and where each table came from."""
    stages = ds.stages
    return {
        "format": "crmkpi-canonical",
        "version": 1,
        "tables": {name: frame.height for name, frame in ds.frames.items()},
        "stages": {
            "order": list(stages.order),
            "won": sorted(stages.won),
            "lost": sorted(stages.lost),
            "origin": stages.origin,
        },
        "inputs": [i.to_json() for i in ds.inputs],
    }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a converted folder, or None when `folder` was not written by convert."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == "crmkpi-canonical" else None
