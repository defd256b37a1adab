"""Exports that list one record in several versions (Recurly's subscription history lists a
subscription once per change): the latest version of each id is the record, the others are
accounted as rejected with the line of the version kept, so nothing is counted twice.

The latest is the one with the latest `updated_at`; without it, the last row in the file.
Versions share their start: rows of one subscription id that start at different moments are
its successive terms (a plan change ends one row the moment the next starts), all kept.
"""

from __future__ import annotations

import polars as pl

from crmkpi.dataset import REJECTS_SCHEMA
from crmkpi.io.accounting import LINE

VERSIONED = {"subscriptions": "subscription_id"}


def latest_versions(
    table: str, loaded: pl.DataFrame, rejects: pl.DataFrame, path: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows kept, rejects with the older versions added)."""
    key = VERSIONED.get(table)
    if key is None or key not in loaded.columns or loaded[key].n_unique() == loaded.height:
        return loaded, rejects
    same = [key] + [c for c in ("start_at",) if c in loaded.columns]
    order = [c for c in ("updated_at", LINE) if c in loaded.columns]
    kept_line = pl.col(LINE).sort_by(order).last().over(same)
    marked = loaded.with_columns(kept_line.alias("__kept"))
    latest = pl.col(key).is_null() | (pl.col(LINE) == pl.col("__kept"))
    older = marked.filter(~latest).select(
        pl.lit(path).alias("file"),
        pl.col(LINE).alias("row"),
        pl.lit(None, dtype=pl.String).alias("column"),
        pl.col(key).cast(pl.String).alias("value"),
        pl.format("an earlier version of the same {}: line {} is its latest",
                  pl.lit(key.replace("_", " ")), pl.col("__kept")).alias("reason"),
        pl.lit("rejected").alias("action"),
    ).cast(REJECTS_SCHEMA)  # fmt: skip
    both = pl.concat([rejects, older]).sort("row", maintain_order=True)
    return marked.filter(latest).drop("__kept"), both
