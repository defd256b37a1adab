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
)
from crmkpi.metrics.customers import first_wins
from crmkpi.metrics.kinds import Kind, count, ratio, safe_div, total, words
from crmkpi.metrics.leads import LEADS
from crmkpi.metrics.snapshot import is_snapshot, snapshot_arpa
from crmkpi.metrics.spend_channels import SALES_WORDS, spend_category
from crmkpi.metrics.subscriptions import SUBS, movements

MONTHS = {"day": 12 / 365.25, "week": 12 / 52.1775, "month": 1.0, "quarter": 3.0, "year": 12.0}
SKOK = "David Skok, SaaS Metrics 2.0 (forEntrepreneurs)"


def _spend(category: str | None) -> object:
    def compute(ctx: Context) -> pl.LazyFrame:
        where = None if category is None else spend_category(ctx) == category
        rows = ctx.rows("spend", "date", where=where, amount="amount")
        return ctx.group(rows, pl.col("amount").sum(), ctx.currency_keys("spend"))

    return compute


def _new_customers(ctx: Context) -> pl.LazyFrame:
    """Distinct customers whose first won deal closes in the window; else customers' first
    subscriptions."""
    if ctx.has("deals", "status", "closed_at"):
        ctx.require_by("deals")
        return ctx.group(ctx.window(first_wins(ctx), "closed_at"), pl.len())
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

SPEND_NEEDS = needs(("spend", ["date", "amount"]))
spend_total = Metric(
    id="spend_total", label="Spend", unit="currency", direction="lower", needs=SPEND_NEEDS,
    compute=aggregate("spend", "date",
                      total("marketing and sales spend dated in the period", pl.col("amount")),
                      amount="amount"),
    period_date="date", additive=True, monetary=True,
    reference="David Skok, SaaS Metrics 2.0: total sales and marketing expense",
)  # fmt: skip
_CATEGORY_NOTE = (
    "A spend row is marketing or sales by [economics] sales_channels / marketing_channels in "
    "crmkpi.toml, else by its category column, else sales when its channel's name says so "
    f"({', '.join(SALES_WORDS)}), else marketing."
)
spend_marketing = Metric(
    id="spend_marketing", label="Marketing spend", unit="currency", direction="lower",
    needs=SPEND_NEEDS,
    parts=words("marketing spend dated in the period", Kind.SUM), compute=_spend("marketing"),
    period_date="date", additive=True, monetary=True, notes=_CATEGORY_NOTE,
    reference="HubSpot marketing spend: the spend that buys leads (ads, events, content), not "
    "sales salaries",
)  # fmt: skip
new_customers = Metric(
    id="new_customers", label="New customers", unit="count", direction="higher", needs=(),
    kind=Kind.COUNT,
    formula="distinct customers whose first won deal closes in the period (a won deal without "
    "customer_id counts as one); without deals, customers whose first subscription starts in "
    "the period",
    compute=_new_customers,
    period_date="closed_at (deals) or start_at (subscriptions)", additive=True,
    requires=_requires_customers,
    reference="Salesforce and HubSpot: an account's first closed-won deal makes it a customer; "
    "ChartMogul and Baremetrics count a new customer once, at its first subscription. "
    "crmkpi counts each customer once, at its first won deal (the sale; billing may "
    "start days later), and a customer billed before its first won deal in the export "
    "is not new",
)  # fmt: skip
leads_created = Metric(
    id="leads_created", label="Leads created", unit="count", direction="higher",
    needs=needs((LEADS, [])),
    compute=aggregate(LEADS, "created_at", count("leads")),
    reference="HubSpot and Salesforce lead reports: leads by create date",
)  # fmt: skip
cac = Metric(
    id="cac", label="Customer acquisition cost", unit="currency", direction="lower",
    needs=SPEND_NEEDS,
    formula="marketing spend / new customers, both in the period",
    compute=combine({"spend": spend_marketing, "customers": new_customers},
            lambda c, ctx: safe_div(c["spend"], c["customers"])),
    period_date="date (spend), closed_at (customers)", monetary=True,
    reference="HubSpot, marketing CAC (marketing spend / new customers)",
    notes="Marketing spend only: sales salaries and outbound tools are in cac_fully_loaded. "
    + _CATEGORY_NOTE + " New customers: see new_customers.",
    null_reason="no new customer in the period", requires=_requires_customers,
    support="new_customers",
)  # fmt: skip
cac_fully_loaded = Metric(
    id="cac_fully_loaded", label="CAC, fully loaded", unit="currency", direction="lower",
    needs=SPEND_NEEDS,
    formula="(marketing + sales spend) / new customers, both in the period",
    compute=combine({"spend": spend_total, "customers": new_customers},
            lambda c, ctx: safe_div(c["spend"], c["customers"])),
    period_date="date (spend), closed_at (customers)", monetary=True, reference=SKOK,
    notes="Every spend row counts, whatever its category: what it cost to win a customer. "
    "New customers: see new_customers.",
    null_reason="no new customer in the period", requires=_requires_customers,
    support="new_customers",
)  # fmt: skip
arpa = Metric(
    id="arpa", label="ARPA", unit="currency", direction="higher",
    needs=needs((SUBS, ["customer_id", "mrr"])),
    parts=ratio(words("MRR", Kind.SUM), words("active customers")), scope="at the moment",
    compute=_arpa, period_date="period end",
    point_in_time=True, monetary=True, reference=SKOK,
    notes="Without a period: at the end of the latest month of the window. A subscriptions "
    "file without start dates (a snapshot): as of the export, in no period.",
    null_reason="no active customer",
)  # fmt: skip
clv = Metric(
    id="clv", label="Customer lifetime value", unit="currency", direction="higher",
    needs=needs((SUBS, ["customer_id", "start_at", "mrr"])),
    parts=ratio(words("ARPA x gross margin", Kind.SUM), words("monthly customer churn rate")),
    compute=_clv, period_date="period (churn) and period end (ARPA)", monetary=True, reference=SKOK,
    notes=_MARGIN_NOTE + " The period's churn rate r is made monthly as 1 - (1 - r)^(1/months "
    "in the period). Without a period: the latest month.",
    null_reason="no churn in the period (lifetime unbounded) or no customer",
    headline_window="latest month",
)  # fmt: skip

# fmt: off
METRICS = [
    spend_total,
    spend_marketing,
    new_customers,
    Metric(
        id="cost_per_lead", label="Cost per lead", unit="currency", direction="lower",
        needs=needs(("spend", ["date", "amount"]), (LEADS, ["created_at"])),
        formula="marketing spend / leads created, both in the period",
        compute=combine({"spend": spend_marketing, "leads": leads_created},
                lambda c, ctx: safe_div(c["spend"], c["leads"])),
        period_date="date (spend), created_at (leads)", monetary=True,
        reference="HubSpot, cost per lead (marketing spend / new leads)",
        notes="Sales spend (salaries, outbound) buys no lead and is left out. " + _CATEGORY_NOTE,
        null_reason="no lead created in the period", support="leads_created",
    ),
    cac,
    cac_fully_loaded,
    arpa,
    clv,
    Metric(
        id="clv_cac_ratio", label="CLV : CAC", unit="multiple", direction="higher",
        needs=needs(("spend", ["date", "amount"]), (SUBS, ["customer_id", "start_at", "mrr"])),
        formula="clv / cac_fully_loaded",
        compute=combine({"clv": clv, "cac": cac_fully_loaded},
                lambda c, ctx: safe_div(c["clv"], c["cac"])),
        period_date="as clv and cac_fully_loaded", monetary=True,
        headline_window="CLV of the latest month over the window's CAC",
        reference=SKOK + " (healthy above 3)",
        notes="Skok divides by the fully loaded CAC (sales and marketing): a ratio over "
        "marketing spend alone would flatter the business.",
        null_reason="no CLV or no CAC", requires=_requires_customers, support="new_customers",
    ),
    Metric(
        id="cac_payback_months", label="CAC payback", unit="months", direction="lower",
        needs=needs(("spend", ["date", "amount"]), (SUBS, ["customer_id", "start_at", "mrr"])),
        formula="cac_fully_loaded / (ARPA x gross margin)",
        compute=combine(
            {"cac": cac_fully_loaded, "arpa": arpa},
            lambda c, ctx: safe_div(c["cac"], c["arpa"] * _margin(ctx)),
        ),
        period_date="as cac_fully_loaded and arpa", monetary=True, reference=SKOK,
        headline_window="the window's CAC over ARPA at its end",
        notes=_MARGIN_NOTE + " Over the fully loaded CAC, as Skok has it.",
        null_reason="no CAC or no ARPA", requires=_requires_customers,
        support="new_customers",
    ),
]
# fmt: on
