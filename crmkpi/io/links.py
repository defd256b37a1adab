"""Links between tables, applied once every file is read: a deal's `lead_id` names its lead,
and a `customer_id` of NPS answers or subscriptions names the customer of deals.

From the link, what neither file says alone: a lead is converted when a deal won from it exists
(and converted at that deal's close) unless the leads file says so itself; a deal without a
source takes its lead's source; NPS answers and subscriptions without an owner take the owner of
the customer's latest deal (by close, else creation date), so NPS and churn can be cut by owner.
Values a file gives are never overwritten.
"""

from __future__ import annotations

import polars as pl

from crmkpi.schema import STATUS_WON


def apply_links(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    out = dict(frames)
    deals, leads = frames.get("deals"), frames.get("leads")
    if deals is not None and leads is not None and "lead_id" in deals and "id" in leads:
        out["leads"] = _converted_by_won_deals(leads, deals)
        if "source" in leads.columns:
            out["deals"] = _source_from_leads(deals, leads)
    for table in ("nps", "subscriptions"):
        if table in out and deals is not None:
            out[table] = _owner_from_deals(out[table], deals)
    return out


def _owner_from_deals(frame: pl.DataFrame, deals: pl.DataFrame) -> pl.DataFrame:
    if "owner" in frame.columns or "customer_id" not in frame.columns:
        return frame
    if not {"customer_id", "owner"} <= set(deals.columns):
        return frame
    when = [pl.col(c) for c in ("closed_at", "created_at") if c in deals.columns]
    latest = pl.coalesce(when) if when else pl.lit(None, dtype=pl.Datetime("us"))
    owners = (
        deals.filter(pl.col("customer_id").is_not_null(), pl.col("owner").is_not_null())
        .with_row_index("__row")
        .sort([latest, pl.col("__row")], nulls_last=False)
        .group_by("customer_id")
        .agg(pl.col("owner").last())
    )
    joined = frame.join(owners, on="customer_id", how="left", maintain_order="left")
    if joined["owner"].null_count() == joined.height:  # no customer in common: no link
        return frame
    return joined


def _converted_by_won_deals(leads: pl.DataFrame, deals: pl.DataFrame) -> pl.DataFrame:
    if "converted" in leads.columns or "converted_at" in leads.columns or "status" not in deals:
        return leads
    won = deals.filter(pl.col("status") == STATUS_WON, pl.col("lead_id").is_not_null())
    closed = pl.col("closed_at").min() if "closed_at" in won.columns else pl.lit(None)
    first = won.group_by(pl.col("lead_id").alias("id")).agg(closed.alias("__won_at"))
    joined = leads.join(first, on="id", how="left", maintain_order="left")
    has_won = pl.col("id").is_in(first["id"].implode())
    return joined.with_columns(
        has_won.alias("converted"),
        pl.col("__won_at").cast(pl.Datetime("us")).alias("converted_at"),
    ).drop("__won_at")


def _source_from_leads(deals: pl.DataFrame, leads: pl.DataFrame) -> pl.DataFrame:
    sources = leads.select(
        pl.col("id").alias("lead_id"), pl.col("source").cast(pl.String).alias("__lead_source")
    ).unique("lead_id", keep="first")
    joined = deals.join(sources, on="lead_id", how="left", maintain_order="left")
    own = pl.col("source").cast(pl.String) if "source" in deals.columns else pl.lit(None)
    filled = pl.coalesce(own, pl.col("__lead_source")).cast(pl.Categorical())
    return joined.with_columns(filled.alias("source")).drop("__lead_source")
