"""The parse floor: polars alone reading the same exports with the same column types.

Every file is scanned with its dates parsed at the known format and its amounts as Float64 (the
types crmkpi's canonical tables use), then a trivial aggregation touches every column so nothing
is pruned away. No sniffing, no mapping, no validation: the least any tool must do to read these
files. `--tables` limits it to some files (e.g. the catalog benchmark's deals, history, leads).

    python benchmarks/floor.py benchmarks/data/1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import polars as pl
from generate import DATETIME_FORMAT, FILES

TIMESTAMP_COLUMNS = {"created_at", "closed_at", "entered_at", "first_contact_at", "at"}
FLOAT_COLUMNS = {"amount"}


def plan(path: Path, headers: dict[str, str]) -> pl.LazyFrame:
    """Scan one export as strings, type its columns, and reduce every column to one number."""
    frame = pl.scan_csv(path, infer_schema=False)
    typed = []
    for canonical, header in headers.items():
        col = pl.col(header)
        if canonical in TIMESTAMP_COLUMNS:
            # nearly every date-time is distinct: Polars' per-text cache only costs time
            col = col.str.to_datetime(DATETIME_FORMAT, time_unit="us", strict=False, cache=False)
        elif canonical in FLOAT_COLUMNS:
            col = col.cast(pl.Float64, strict=False)
        typed.append(col.alias(canonical))
    frame = frame.select(typed)
    return frame.select(
        pl.len().alias("rows"),
        *(pl.col(c).null_count().alias(f"{c}_nulls") for c in headers),
    )


def read_floor(folder: Path, tables: list[str]) -> dict[str, list[dict[str, int]]]:
    plans = [plan(folder / FILES[t][0], FILES[t][1]) for t in tables]
    return {t: f.to_dicts() for t, f in zip(tables, pl.collect_all(plans), strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--tables", nargs="+", default=list(FILES), choices=list(FILES))
    parser.add_argument("--timing", action="store_true", help="print seconds spent reading")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = read_floor(args.folder, args.tables)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed} if args.timing else result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
