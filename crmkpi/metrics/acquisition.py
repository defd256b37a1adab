"""Acquisition economics: spend, cost per lead, CAC, ARPA, CLV and payback."""

from __future__ import annotations

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.metrics.base import (
    PERIOD,
    VALUE,
    Context,
    Metric,
    aggregate,
    combine,
    needs,
    safe_div,
)
from crmkpi.metrics.leads import LEADS
from crmkpi.metrics.snapshot import is_snapshot, snapshot_arpa
from crmkpi.metrics.stages import WON
from crmkpi.metrics.subscriptions import SUBS, movements

MONTHS = {"day": 12 / 365.25, "week": 12 / 52.1775, "month": 1.0, "quarter": 3.0, "year": 12.0}
SKOK = "David Skok, SaaS Metrics 2.0 (forEntrepreneurs)"


def _new_customers(ctx: Context) -> pl.LazyFrame:
    """Won deals that are a customer's first win; else customers' first subscriptions."""
    if ctx.has("deals", "status", "closed_at"):
        ctx.require_by("deals")
        won = ctx.table("deals").filter(WON)
        if ctx.has("deals", "customer_id"):
            first = pl.col("closed_at") == pl.col("closed_at").min().over("customer_id")
            new = pl.col("customer_id").is_null() | first
            won = won.filter(new)
        return ctx.group(ctx.window(won, "closed_at"), pl.len())
    ctx.require_by(SUBS)
    firsts = ctx.table(SUBS).group_by("customer_id", *ctx.grain.by).agg(pl.col("start_at").min())
    return ctx.group(ctx.window(firsts, "start_at"), pl.len())


def _requires_customers(ds: Dataset, config: object | None) -> str | None:
    if ds.has("deals", "status", "closed_at") or ds.has(SUBS, "customer_id", "start_at"):
        return None
    return "no won deals with closed_at and no subscriptions"


def _margin(ctx: Context) -> float:
    return ctx.config.gross_margin if ctx.config else 1.0


def _from_moves(ctx: Context, value: pl.Expr) -> pl.LazyFrame:
    frame = movements(ctx).with_columns(value.alias(VALUE))
    others = [*ctx.grain.by, *ctx.currency_keys(SUBS)]
    keys = [*others, PERIOD] if ctx.grain.period else others
    if not ctx.grain.period:
        latest = pl.col(PERIOD) == pl.col(PERIOD).max()
        frame = frame.filter(latest.over(others) if others else latest)
    return frame.select(*keys, VALUE).sort(keys) if keys else frame.select(VALUE)


def _arpa(ctx: Context) -> pl.LazyFrame:
    if is_snapshot(ctx.ds):
        return snapshot_arpa(ctx)
    return _from_moves(ctx, safe_div(pl.col("mrr_end"), pl.col("customers_end")))


def _clv(ctx: Context) -> pl.LazyFrame:
    months = MONTHS[ctx.grain.period or "month"]
    churn = safe_div(pl.col("churned_customers"), pl.col("customers_start"))
    monthly = 1 - (1 - churn.clip(0, 1)) ** (1 / months)
    arpa = safe_div(pl.col("mrr_end"), pl.col("customers_end"))
    return _from_moves(ctx, safe_div(arpa * _margin(ctx), monthly))


_MARGIN_NOTE = (
    "Gross margin from [economics] gross_margin in crmkpi.toml; when not configured it is 1 "
    "(revenue, not profit)."
)

spend_total = Metric(
    "spend_total", "Spend", "currency", "lower", needs(("spend", ["date", "amount"])),
    "sum of marketing and sales spend dated in the period",
    aggregate("spend", "date", pl.col("amount").sum(), amount="amount"),
    period_date="date", additive=True, monetary=True,
)  # fmt: skip
new_customers = Metric(
    "new_customers", "New customers", "count", "higher", (),
    "won deals that are the customer's first win (each won deal without customer_id); without "
    "deals, customers whose first subscription starts in the period",
    _new_customers, period_date="closed_at (deals) or start_at (subscriptions)", additive=True,
    requires=_requires_customers,
)  # fmt: skip
leads_created = Metric(
    "leads_created", "Leads created", "count", "higher", needs((LEADS, [])),
    "count of leads", aggregate(LEADS, "created_at", pl.len()),
)  # fmt: skip
cac = Metric(
    "cac", "Customer acquisition cost", "currency", "lower", needs(("spend", ["date", "amount"])),
    "(marketing + sales spend) / new customers, both in the period",
    combine({"spend": spend_total, "customers": new_customers},
            lambda c: safe_div(c["spend"], c["customers"])),
    period_date="date (spend), closed_at (customers)", monetary=True, reference=SKOK,
    notes="Spend of every category counts (marketing and sales). New customers: see "
    "new_customers.", null_reason="no new customer in the period", requires=_requires_customers,
)  # fmt: skip
arpa = Metric(
    "arpa", "ARPA", "currency", "higher", needs((SUBS, ["customer_id", "mrr"])),
    "MRR / active customers, at the moment", _arpa, period_date="period end",
    point_in_time=True, monetary=True, reference=SKOK,
    notes="Without a period: at the end of the latest month of the window. A subscriptions "
    "file without start dates (a snapshot): as of the export, in no period.",
    null_reason="no active customer",
)  # fmt: skip
clv = Metric(
    "clv", "Customer lifetime value", "currency", "higher",
    needs((SUBS, ["customer_id", "start_at", "mrr"])),
    "ARPA x gross margin / monthly customer churn rate",
    _clv, period_date="period (churn) and period end (ARPA)", monetary=True, reference=SKOK,
    notes=_MARGIN_NOTE + " The period's churn rate r is made monthly as 1 - (1 - r)^(1/months "
    "in the period). Without a period: the latest month.",
    null_reason="no churn in the period (lifetime unbounded) or no customer",
)  # fmt: skip

# fmt: off
METRICS = [
    spend_total,
    new_customers,
    Metric(
        "cost_per_lead", "Cost per lead", "currency", "lower",
        needs(("spend", ["date", "amount"]), (LEADS, ["created_at"])),
        "spend / leads created, both in the period",
        combine({"spend": spend_total, "leads": leads_created},
                lambda c: safe_div(c["spend"], c["leads"])),
        period_date="date (spend), created_at (leads)", monetary=True,
        null_reason="no lead created in the period",
    ),
    cac,
    arpa,
    clv,
    Metric(
        "clv_cac_ratio", "CLV : CAC", "multiple", "higher",
        needs(("spend", ["date", "amount"]), (SUBS, ["customer_id", "start_at", "mrr"])),
        "clv / cac", combine({"clv": clv, "cac": cac}, lambda c: safe_div(c["clv"], c["cac"])),
        period_date="as clv and cac", monetary=True, reference=SKOK + " (healthy above 3)",
        null_reason="no CLV or no CAC", requires=_requires_customers,
    ),
    Metric(
        "cac_payback_months", "CAC payback", "months", "lower",
        needs(("spend", ["date", "amount"]), (SUBS, ["customer_id", "start_at", "mrr"])),
        "cac / (ARPA x gross margin)",
        lambda ctx: combine(
            {"cac": cac, "arpa": arpa},
            lambda c: safe_div(c["cac"], c["arpa"] * _margin(ctx)),
        )(ctx),
        period_date="as cac and arpa", monetary=True, reference=SKOK,
        notes=_MARGIN_NOTE, null_reason="no CAC or no ARPA", requires=_requires_customers,
    ),
]
# fmt: on
