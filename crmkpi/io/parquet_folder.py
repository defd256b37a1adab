"""A folder of Parquet files written by `crmkpi convert`: the fastest input to read back.

    exports/ --crmkpi convert--> canonical/deals.parquet, leads.parquet, ..., rejects.parquet,
                                 dataset.json (stage model and the account of the original files)

A Parquet file named after a canonical table is read back as that table, as is, so the folder
works anywhere exports do (`crmkpi report canonical/`, `crmkpi.load("canonical/")`). The
manifest's form lives here, beside its reader; crmkpi.reporting.dataset_files writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmkpi.dataset import Dataset

REJECTS_FILE = "rejects.parquet"
MANIFEST_FILE = "dataset.json"
CSV_FOLDER = "csv"


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
