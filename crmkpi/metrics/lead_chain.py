"""The whole chain from lead to won deal, over one cohort of leads, and the leads nobody contacted.

Lead conversion (lead -> deal) and the funnel (deal -> won) each count their own rows; here the
leads created in the window are followed to their deal and its outcome, so every rate of a row
reads the same leads. A lead's deal is found by the deal's `lead_id`, else, for a converted lead
with a customer id, as the first deal of that customer created at or after the lead: later deals
of the same customer (upsells) are not the lead's.
"""

from __future__ import annotations

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.metrics.base import DAY_US, Context, Metric, TableSpec, needs
from crmkpi.metrics.kinds import count, safe_div
from crmkpi.metrics.leads import (
    LEADS,
    converted_expr,
    first_contact,
    requires_conversion,
    requires_response,
    responded_leads,
)
from crmkpi.metrics.stages import data_end
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON

BY_LEAD_ID = "the deal's lead_id"
BY_CUSTOMER = "converted leads' customer_id: the customer's first deal created at or after the lead"


def link_used(ds: Dataset) -> str | None:
    """How leads are tied to deals on this data, in words (None when they are not)."""
    if ds.has("deals", "lead_id") and ds.has(LEADS, "id"):
        return BY_LEAD_ID
    if ds.has("deals", "customer_id", "created_at") and ds.has(LEADS, "customer_id", "created_at"):
        return BY_CUSTOMER
    return None


def requires_link(ds: Dataset, config: object | None) -> str | None:
    if ds.has("deals", "status") and link_used(ds) is not None:
        return None
    return "deals are not linked to leads (no lead_id on deals, no customer_id on both)"


def _lead_deal(ctx: Context, leads: pl.LazyFrame) -> pl.LazyFrame:
    """`leads` (one row each, `__lead` numbering them) with `__status` of the lead's deal."""
    deals = ctx.table("deals")
    order = [c for c in ("created_at", "id") if ctx.has("deals", c)]
    if link_used(ctx.ds) == BY_LEAD_ID:
        firsts = (
            deals.filter(pl.col("lead_id").is_not_null())
            .sort(order, nulls_last=True)
            .group_by("lead_id", maintain_order=True)
            .agg(pl.col("status").first().alias("__status"))
        )
        return leads.join(firsts, left_on="id", right_on="lead_id", how="left")
    # Without a converted flag or date, a lead that names its customer is a converted one.
    converted = converted_expr(ctx) if requires_conversion(ctx.ds, None) is None else pl.lit(True)
    linked = leads.filter(converted & pl.col("customer_id").is_not_null()).select(
        "__lead", "customer_id", pl.col("created_at").alias("__lead_at")
    )
    candidates = deals.filter(pl.col("customer_id").is_not_null()).select(
        "customer_id", "status", *order
    )
    firsts = (
        linked.join(candidates, on="customer_id", how="inner")
        .filter(pl.col("created_at") >= pl.col("__lead_at"))
        .sort(["__lead", *order], nulls_last=True)
        .group_by("__lead", maintain_order=True)
        .agg(pl.col("status").first().alias("__status"))
    )
    return leads.join(firsts, on="__lead", how="left")


def _chain_rows(frame: pl.LazyFrame, by: str | None) -> pl.LazyFrame:
    status = pl.col("__status")
    aggs = [
        pl.len().alias("leads"),
        pl.col("__contacted").sum().cast(pl.Int64).alias("contacted"),
        status.is_not_null().sum().cast(pl.Int64).alias("deals"),
        (status == STATUS_WON).sum().cast(pl.Int64).alias("deals_won"),
        (status == STATUS_LOST).sum().cast(pl.Int64).alias("deals_lost"),
        (status == STATUS_OPEN).sum().cast(pl.Int64).alias("deals_open"),
    ]
    if by is None:
        rows = frame.select(
            pl.lit("all").alias("breakdown"), pl.lit("(all leads)").alias("name"), *aggs
        )
    else:
        name = pl.col(by).cast(pl.String).fill_null("(none)").alias("name")
        rows = (
            frame.group_by(name)
            .agg(aggs)
            .sort(["leads", "name"], descending=[True, False])
            .select(pl.lit(by).alias("breakdown"), pl.all())
        )
    return rows.with_columns(
        safe_div(pl.col("deals"), pl.col("leads")).alias("lead_to_deal_rate"),
        safe_div(pl.col("deals_won"), pl.col("deals")).alias("deal_to_won_rate"),
        safe_div(pl.col("deals_won"), pl.col("leads")).alias("lead_to_won_rate"),
    )


def _lead_chain(ctx: Context) -> pl.LazyFrame:
    if requires_response(ctx.ds, None) is None:
        contacted = first_contact(ctx).is_not_null()
        leads = responded_leads(ctx).with_columns(contacted.alias("__contacted"))
    else:
        leads = ctx.window(ctx.table(LEADS), "created_at")
        leads = leads.with_columns(pl.lit(None, dtype=pl.Boolean).alias("__contacted"))
    leads = leads.with_row_index("__lead")
    chained = _lead_deal(ctx, leads)
    parts = [_chain_rows(chained, None)]
    parts += [_chain_rows(chained, c) for c in ("source", "owner") if ctx.has(LEADS, c)]
    return pl.concat(parts, how="vertical_relaxed")


def _chain_note(ctx: Context) -> str:
    return (
        f"leads created in the window, linked to deals by {link_used(ctx.ds)}; each lead "
        "counts one deal at most; deals still open count in deals, not yet in won"
    )


# --- Leads never contacted -----------------------------------------------------------------------


def _never_contacted_rows(ctx: Context) -> pl.LazyFrame:
    return responded_leads(ctx).filter(first_contact(ctx).is_null())


def _never_count(ctx: Context) -> pl.LazyFrame:
    return ctx.group(_never_contacted_rows(ctx), pl.len())


def _never_list(ctx: Context) -> pl.LazyFrame:
    shown = [c for c in ("id", "owner", "source", "status", "created_at") if ctx.has(LEADS, c)]
    waiting = (pl.col("__now") - pl.col("created_at")).dt.total_microseconds() / DAY_US
    return (
        _never_contacted_rows(ctx)
        .join(data_end(ctx), how="cross")
        .with_columns(waiting.alias("days_waiting"))
        .sort(["created_at", *shown[:1]], nulls_last=True)
        .select(*shown, "days_waiting")
    )


_NEVER_NOTE = (
    "No first_contact_at, and no activity linked to the lead at or after its creation when no "
    "column holds the first contact."
)

METRICS = [
    Metric(
        id="leads_never_contacted",
        label="Leads never contacted",
        unit="count",
        direction="lower",
        needs=needs((LEADS, ["created_at"])),
        parts=count("leads created in the period with no first contact"),
        compute=_never_count,
        period_date="created_at (of the lead)",
        additive=True,
        notes=_NEVER_NOTE,
        requires=requires_response,
        reference="HubSpot and Salesforce lead status 'Not contacted' / 'Attempting to contact'",
    )
]

TABLES = [
    TableSpec(
        "lead_chain",
        "Lead to won",
        needs((LEADS, ["created_at"]), ("deals", ["status"])),
        _lead_chain,
        doc="Leads created in the window followed to their deal and its outcome, for all leads, "
        "per source and per owner: leads, contacted, deals, deals won, lost and still open, and "
        "the rates lead -> deal, deal -> won and lead -> won over that one cohort. A lead's deal "
        "is the deal carrying its lead_id, else (a converted lead with a customer id) the first "
        "deal of that customer created at or after the lead.",
        units={
            "leads": "count",
            "contacted": "count",
            "deals": "count",
            "deals_won": "count",
            "deals_lost": "count",
            "deals_open": "count",
            "lead_to_deal_rate": "ratio",
            "deal_to_won_rate": "ratio",
            "lead_to_won_rate": "ratio",
        },  # fmt: skip
        note=_chain_note,
        requires=requires_link,
        reference="the lead -> opportunity -> sale chain of Salesforce's lead and opportunity "
        "funnel reports, over one cohort of leads",
    ),
    TableSpec(
        "leads_never_contacted",
        "Leads never contacted",
        needs((LEADS, ["created_at"])),
        _never_list,
        doc="Leads created in the window with no first contact, oldest first, with the days "
        "they have waited (to the as-of moment); every one of them in the Excel, CSV and JSON "
        "outputs. " + _NEVER_NOTE,
        units={"days_waiting": "days"},
        requires=requires_response,
        reference="HubSpot and Salesforce lead status 'Not contacted'",
    ),
]
