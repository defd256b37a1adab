"""Data-quality facts over the canonical deals: what a reader should know before trusting a KPI.

Counts per input file and owner: duplicate deal ids, open deals whose expected close date has
passed, stages outside the known order, deals closed before they were created, negative
amounts, and files mixing currencies. Pure Polars over canonical frames; no file is read here.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from crmkpi.dataset import Dataset, running_epoch_us
from crmkpi.ids import ascending
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON, days_between

FACTS = {
    "duplicate_ids": "deals sharing an id with another row of the same file",
    "overdue_open": "open deals whose expected close date has passed",
    "unknown_stage": "deals in a stage outside the known stage order",
    "closed_before_created": "deals closed before they were created",
    "negative_amounts": "deals with a negative amount",
    "mixed_currencies": "currencies beyond the first in a file (0 when one currency)",
    "future_dates": "deals created or closed after today",
    "history_unknown_deals": "stage-history rows of deal ids absent from the deals",
    # a deal without a creation date counts wherever the date is not needed
    "open_no_created_at": "open deals without a creation date: counted in deals, open deals "
    "and the pipeline now; left out of Deals created by period and of past period ends",
    "won_no_created_at": "won deals without a creation date: counted in deals won, revenue and "
    "win rate; left out of Deals created by period and of the sales cycle",
    "lost_no_created_at": "lost deals without a creation date: counted in deals lost and win "
    "rate; left out of Deals created by period",
}
QUALITY_SCHEMA = {"file": pl.String, "owner": pl.String, "fact": pl.String, "count": pl.Int64}


FILE = "__file"


def _with_file(ds: Dataset, table: str) -> tuple[pl.LazyFrame, list[str]] | None:
    """The table with the index of the file each row came from (frames concatenate inputs in
    order), and the file names by index: a small integer per row, not the path repeated."""
    frame = ds.frames.get(table)
    if frame is None:
        return None
    parts = [(s.path, s.rows_loaded) for s in ds.inputs if s.table == table]
    if sum(n for _, n in parts) != frame.height or not parts:
        names, counts = ["(all files)"], [frame.height]
    else:
        names, counts = [p for p, _ in parts], [n for _, n in parts]
    index = pl.concat([pl.repeat(i, n, dtype=pl.UInt32, eager=True) for i, n in enumerate(counts)])
    return frame.lazy().with_columns(index.alias(FILE)), names


def quality_facts(ds: Dataset, as_of: datetime | None = None) -> pl.DataFrame:
    """One row per (file, owner, fact) with a non-zero count, for the deals table."""
    found = _with_file(ds, "deals")
    if found is None or ds.frames["deals"].height == 0:
        return pl.DataFrame(schema=QUALITY_SCHEMA)
    deals, names = found
    cols = set(ds.frames["deals"].columns)
    now = as_of or ds.data_as_of() or datetime(9999, 1, 1)
    # A date after the moment the report runs cannot be an event: the one use of the clock.
    running = running_epoch_us()
    owner = pl.col("owner") if "owner" in cols else pl.lit(None, dtype=pl.String)
    facts: dict[str, pl.Expr] = {}
    if {"status", "expected_close_at"} <= cols:
        facts["overdue_open"] = (pl.col("status") == STATUS_OPEN) & (
            pl.col("expected_close_at") < now
        )
    if "stage" in cols and ds.stages.order:
        facts["unknown_stage"] = pl.col("stage").is_not_null() & ~pl.col("stage").is_in(
            list(ds.stages.order)
        )
    if {"closed_at", "created_at"} <= cols:
        # At day precision when the close is a date: closed the day it was created is not before.
        facts["closed_before_created"] = days_between(pl.col("created_at"), pl.col("closed_at")) < 0
    if {"created_at", "status"} <= cols:
        for status in (STATUS_OPEN, STATUS_WON, STATUS_LOST):
            undated = pl.col("created_at").is_null() & (pl.col("status") == status)
            facts[f"{status}_no_created_at"] = undated
    if "amount" in cols:
        facts["negative_amounts"] = pl.col("amount") < 0
    future = [pl.col(c).dt.epoch("us") > running for c in ("created_at", "closed_at") if c in cols]
    if future:
        facts["future_dates"] = pl.any_horizontal(future)
    plans = [_history_unknown_deals(ds)]
    if "id" in cols and not _ids_ascend(ds.frames["deals"]):
        plans.append(_duplicate_ids(deals, owner).pipe(_named, names))
    if facts:
        # Counted per (file, owner) first, then turned long: the unpivot sees a few rows, not
        # one per deal and fact.
        plans.append(
            deals.select(
                pl.col(FILE),
                owner.alias("owner"),
                *[expr.fill_null(False).alias(name) for name, expr in facts.items()],
            )
            .group_by([FILE, "owner"])
            .agg(pl.col(name).sum().cast(pl.Int64) for name in facts)
            .unpivot(index=[FILE, "owner"], variable_name="fact", value_name="count")
            .pipe(_named, names)
        )
    if "currency" in cols:
        plans.append(
            deals.group_by(FILE)
            .agg((pl.col("currency").drop_nulls().n_unique() - 1).clip(0).cast(pl.Int64))
            .select(
                pl.col(FILE),
                pl.lit(None, dtype=pl.String).alias("owner"),
                pl.lit("mixed_currencies").alias("fact"),
                pl.col("currency").alias("count"),
            )
            .pipe(_named, names)
        )
    counted = [p for p in plans if p is not None]
    out = pl.concat([f.cast(QUALITY_SCHEMA) for f in pl.collect_all(counted)])
    return out.filter(pl.col("count") > 0).sort(["fact", "file", "owner"], nulls_last=True)


def _ids_ascend(deals: pl.DataFrame) -> bool:
    """Ids that strictly ascend repeat nowhere (exports listed by id): no group-by needed."""
    return deals.schema["id"] == pl.String and bool(deals.select(ascending(pl.col("id"))).item())


def _duplicate_ids(deals: pl.LazyFrame, owner: pl.Expr) -> pl.LazyFrame:
    """Rows per (file, owner) whose id another row of the same file has: the repeated ids are
    found by a group-by (few, usually none), then their rows by a semi join."""
    repeated = (
        deals.filter(pl.col("id").is_not_null())
        .group_by([FILE, "id"])
        .agg(pl.len().alias("__n"))
        .filter(pl.col("__n") > 1)
        .select(FILE, "id")
    )
    return (
        deals.join(repeated, on=[FILE, "id"], how="semi")
        .group_by([FILE, owner.alias("owner")])
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .select(FILE, "owner", pl.lit("duplicate_ids").alias("fact"), "count")
    )


def _named(counts: pl.LazyFrame, names: list[str]) -> pl.LazyFrame:
    """Counts per file index -> counts per file name (looked up after counting, a few rows)."""
    file = pl.lit(pl.Series(names, dtype=pl.String)).gather(pl.col(FILE)).alias("file")
    return counts.select(file, pl.exclude(FILE))


def _history_unknown_deals(ds: Dataset) -> pl.LazyFrame | None:
    """Stage-history rows per file whose deal id no deal has (a partial or mismatched export)."""
    history_frame, deals = ds.frames.get("stage_history"), ds.frames.get("deals")
    if history_frame is None or deals is None:
        return None
    if "deal_id" not in history_frame.columns or "id" not in deals.columns:
        return None
    found = _with_file(ds, "stage_history")
    assert found is not None
    history, names = found
    known = deals.lazy().select(pl.col("id").drop_nulls())  # an anti join needs no distinct keys
    # A deal's rows usually come together: each run of one id in one file is looked up once and
    # counts its rows (a third of the lookups of one per row).
    deal, file = pl.col("deal_id"), pl.col(FILE)
    starts = ((deal != deal.shift(1)) | (file != file.shift(1))).fill_null(True)
    rows = history_frame.height - history_frame["deal_id"].null_count()
    runs = (
        history.filter(deal.is_not_null())
        .select(FILE, "deal_id")
        .with_row_index("__i")
        .filter(starts)
        .with_columns((pl.col("__i").shift(-1).fill_null(rows) - pl.col("__i")).alias("__n"))
    )
    unknown = runs.join(known, left_on="deal_id", right_on="id", how="anti")
    return (
        unknown.group_by(FILE)
        .agg(pl.col("__n").sum().cast(pl.Int64).alias("count"))
        .select(
            pl.col(FILE),
            pl.lit(None, dtype=pl.String).alias("owner"),
            pl.lit("history_unknown_deals").alias("fact"),
            pl.col("count"),
        )
        .pipe(_named, names)
    )


# Tables whose rows load without their date, and what such a row is left out of.
UNDATED = {
    ("leads", "created_at"): "leads without a creation date: counted in leads and conversion; "
    "left out of every figure by period and of response times",
    ("subscriptions", "start_at"): "subscription rows without a start date: left out of MRR, "
    "churn and every subscription figure",
}


def undated_rows(ds: Dataset) -> list[tuple[str, str, int]]:
    """(file, message, count) for rows of leads and subscriptions loaded without their date
    (deals have theirs among the quality facts). A file without the date column at all is
    read without periods (a snapshot) and is not listed."""
    out = []
    for (table, column), message in UNDATED.items():
        frame = ds.frames.get(table)
        if frame is None or column not in frame.columns or not frame[column].null_count():
            continue
        found = _with_file(ds, table)
        assert found is not None
        rows, names = found
        counts = rows.filter(pl.col(column).is_null()).group_by(FILE).len().sort(FILE).collect()
        out += [(names[i], message, n) for i, n in counts.iter_rows()]
    return out


def quality_totals(facts: pl.DataFrame) -> dict[str, int]:
    """fact -> total count over files and owners."""
    totals = facts.group_by("fact").agg(pl.col("count").sum())
    return {fact: int(n) for fact, n in totals.iter_rows()}
