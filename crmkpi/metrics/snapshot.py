"""Subscriptions exported as a snapshot: a row per customer, a churn flag, a monthly charge, no
dates (IBM's and Maven's telecom churn files).

Such a file knows who is a customer and who has left as of the export, not when: MRR, churned
MRR, customer churn rate and ARPA are given as of the export and cannot be placed in periods
or a window (asking for them says why). A row whose churn flag is empty is left out of every
figure that needs to know whether it churned.
"""

from __future__ import annotations

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.errors import UsageError
from crmkpi.metrics.base import Context
from crmkpi.metrics.kinds import safe_div

SUBS = "subscriptions"
ACTIVE = pl.col("churned") == False  # noqa: E712 - null (unknown) is neither active nor churned
CHURNED = pl.col("churned") == True  # noqa: E712


def is_snapshot(ds: Dataset) -> bool:
    """Subscriptions without any start date: rows are customers as of the export."""
    frame = ds.frames.get(SUBS)
    return frame is not None and "start_at" not in frame.columns


def requires_churn_flag(ds: Dataset, config: object | None) -> str | None:
    if is_snapshot(ds) and not ds.has(SUBS, "churned"):
        return "subscriptions have no start_at and no churn flag"
    return None


def _rows(ctx: Context) -> pl.LazyFrame:
    if ctx.grain.period or ctx.grain.since or ctx.grain.until:
        raise UsageError(
            "subscriptions hold no dates: figures are as of the export, in no period or window"
        )
    rows = ctx.money(ctx.table(SUBS), SUBS, amount="mrr")
    if "churned" not in rows.collect_schema().names():
        rows = rows.with_columns(pl.lit(False).alias("churned"))  # no flag: nobody has left
    return rows


def _customers(where: pl.Expr) -> pl.Expr:
    return pl.col("customer_id").filter(where).n_unique()


def snapshot_mrr(ctx: Context) -> pl.LazyFrame:
    return ctx.group(_rows(ctx), pl.col("mrr").filter(ACTIVE).sum(), ctx.currency_keys(SUBS))


def snapshot_churned_mrr(ctx: Context) -> pl.LazyFrame:
    return ctx.group(_rows(ctx), pl.col("mrr").filter(CHURNED).sum(), ctx.currency_keys(SUBS))


def snapshot_churn_rate(ctx: Context) -> pl.LazyFrame:
    known = pl.col("churned").is_not_null()
    return ctx.group(_rows(ctx), safe_div(_customers(CHURNED), _customers(known)))


def snapshot_arpa(ctx: Context) -> pl.LazyFrame:
    value = safe_div(pl.col("mrr").filter(ACTIVE).sum(), _customers(ACTIVE))
    return ctx.group(_rows(ctx), value, ctx.currency_keys(SUBS))
