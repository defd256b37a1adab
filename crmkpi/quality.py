"""Data-quality facts over the canonical deals: what a reader should know before trusting a KPI.

Counts per input file and owner: duplicate deal ids, open deals whose expected close date has
passed, stages outside the known order, deals closed before they were created, negative
amounts, and files mixing currencies. Pure Polars over canonical frames; no file is read here.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.schema import STATUS_OPEN

FACTS = {
    "duplicate_ids": "deals sharing an id with another row of the same file",
    "overdue_open": "open deals whose expected close date has passed",
    "unknown_stage": "deals in a stage outside the known stage order",
    "closed_before_created": "deals closed before they were created",
    "negative_amounts": "deals with a negative amount",
    "mixed_currencies": "currencies beyond the first in a file (0 when one currency)",
    "future_dates": "deals created or closed after today",
    "history_unknown_deals": "stage-history rows of deal ids absent from the deals",
}
QUALITY_SCHEMA = {"file": pl.String, "owner": pl.String, "fact": pl.String, "count": pl.Int64}


def _with_file(ds: Dataset, table: str) -> pl.DataFrame | None:
    """The table with the file each row came from (frames concatenate inputs in order)."""
    frame = ds.frames.get(table)
    if frame is None:
        return None
    parts = [(s.path, s.rows_loaded) for s in ds.inputs if s.table == table]
    if sum(n for _, n in parts) != frame.height:
        files = pl.Series("__file", ["(all files)"] * frame.height)
    elif parts:
        files = pl.concat([pl.repeat(p, n, dtype=pl.String, eager=True) for p, n in parts])
    else:
        files = pl.Series("__file", [], dtype=pl.String)
    return frame.with_columns(files.alias("__file"))


def quality_facts(ds: Dataset, as_of: datetime | None = None) -> pl.DataFrame:
    """One row per (file, owner, fact) with a non-zero count, for the deals table."""
    deals = _with_file(ds, "deals")
    if deals is None or deals.height == 0:
        return pl.DataFrame(schema=QUALITY_SCHEMA)
    cols = set(deals.columns)
    now = as_of or datetime.now()
    owner = pl.col("owner") if "owner" in cols else pl.lit(None, dtype=pl.String)
    facts: dict[str, pl.Expr] = {}
    if "id" in cols:
        facts["duplicate_ids"] = pl.col("id").is_not_null() & pl.col("id").is_duplicated().over(
            "__file"
        )
    if {"status", "expected_close_at"} <= cols:
        facts["overdue_open"] = (pl.col("status") == STATUS_OPEN) & (
            pl.col("expected_close_at") < now
        )
    if "stage" in cols and ds.stages.order:
        facts["unknown_stage"] = pl.col("stage").is_not_null() & ~pl.col("stage").is_in(
            list(ds.stages.order)
        )
    if {"closed_at", "created_at"} <= cols:
        facts["closed_before_created"] = pl.col("closed_at") < pl.col("created_at")
    if "amount" in cols:
        facts["negative_amounts"] = pl.col("amount") < 0
    future = [pl.col(c) > now for c in ("created_at", "closed_at") if c in cols]
    if future:
        facts["future_dates"] = pl.any_horizontal(future)
    frames = [_history_unknown_deals(ds, deals)]
    if not facts and "currency" not in cols:
        return pl.concat(frames).filter(pl.col("count") > 0)
    if facts:
        # Counted per (file, owner) first, then turned long: the unpivot sees a few rows, not
        # one per deal and fact.
        counts = (
            deals.lazy()
            .select(
                pl.col("__file").alias("file"),
                owner.alias("owner"),
                *[expr.fill_null(False).alias(name) for name, expr in facts.items()],
            )
            .group_by(["file", "owner"])
            .agg(pl.col(name).sum().cast(pl.Int64) for name in facts)
            .collect()
        )
        frames.append(
            counts.unpivot(index=["file", "owner"], variable_name="fact", value_name="count")
        )
    if "currency" in cols:
        frames.append(
            deals.group_by("__file")
            .agg((pl.col("currency").drop_nulls().n_unique() - 1).clip(0).cast(pl.Int64))
            .select(
                pl.col("__file").alias("file"),
                pl.lit(None, dtype=pl.String).alias("owner"),
                pl.lit("mixed_currencies").alias("fact"),
                pl.col("currency").alias("count"),
            )
        )
    out = pl.concat([f.cast(QUALITY_SCHEMA) for f in frames])
    return out.filter(pl.col("count") > 0).sort(["fact", "file", "owner"], nulls_last=True)


def _history_unknown_deals(ds: Dataset, deals: pl.DataFrame) -> pl.DataFrame:
    """Stage-history rows per file whose deal id no deal has (a partial or mismatched export)."""
    history = _with_file(ds, "stage_history")
    if history is None or "deal_id" not in history.columns or "id" not in deals.columns:
        return pl.DataFrame(schema=QUALITY_SCHEMA)
    known = deals.select(pl.col("id").drop_nulls())  # an anti join needs no distinct keys
    unknown = history.filter(pl.col("deal_id").is_not_null()).join(
        known, left_on="deal_id", right_on="id", how="anti"
    )
    return (
        unknown.group_by("__file")
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .select(
            pl.col("__file").alias("file"),
            pl.lit(None, dtype=pl.String).alias("owner"),
            pl.lit("history_unknown_deals").alias("fact"),
            pl.col("count"),
        )
    )


def quality_totals(facts: pl.DataFrame) -> dict[str, int]:
    """fact -> total count over files and owners."""
    totals = facts.group_by("fact").agg(pl.col("count").sum())
    return {fact: int(n) for fact, n in totals.iter_rows()}
