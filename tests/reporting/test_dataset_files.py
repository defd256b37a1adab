"""Writing a loaded Dataset back out: rejected rows as CSV with formula-like cells neutralised."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmkpi.io.load import load
from crmkpi.reporting.dataset_files import write_rejects


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_write_rejects_neutralises_formulas(tmp_path: Path) -> None:
    f = write(
        tmp_path / "deals.csv",
        "Deal ID,Stage,Created Date,Amount\n=HYPERLINK(1),Won,2024-01-01,=1+1\n",
    )
    ds = load([f])
    out = tmp_path / "rejects.csv"
    write_rejects(ds, out)
    back = pl.read_csv(out, infer_schema=False)
    assert back["value"].to_list() == ["'=1+1"]
