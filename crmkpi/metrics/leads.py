"""Leads: volume, speed of the first response, conversion, qualification bands and sources."""

from __future__ import annotations

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.metrics.base import (
    CURRENCY,
    MINUTE_US,
    ColumnLayout,
    Context,
    Metric,
    TableSpec,
    aggregate,
    needs,
)
from crmkpi.metrics.customers import first_wins
from crmkpi.metrics.kinds import (
    Measure,
    count,
    median_of,
    quantile_of,
    ratio,
    safe_div,
    words,
)
from crmkpi.metrics.spend_channels import spend_category
from crmkpi.metrics.stages import WON
from crmkpi.metrics.worktime import WorkingTime

LEADS = "leads"


def _response_source(ds: Dataset) -> str | None:
    if ds.has(LEADS, "first_contact_at"):
        return "first_contact_at"
    if ds.has("activities", "lead_id", "at") and ds.has(LEADS, "id"):
        return "activities"
    return None


def requires_response(ds: Dataset, config: object | None) -> str | None:
    if _response_source(ds) is None:
        return "leads have no first_contact_at and no activity is linked to a lead"
    return None


def first_contact(ctx: Context) -> pl.Expr:
    return pl.col("first_contact_at") if ctx.has(LEADS, "first_contact_at") else pl.col("__first")


def responded_leads(ctx: Context) -> pl.LazyFrame:
    """Leads in the window (by created_at) with `__minutes`: time to the first response.

    The response is `first_contact_at`, else the first activity linked to the lead at or
    after its creation: a touch logged before the lead existed (an older conversation with the
    same person) answers nothing, and the lead's later touches still do. A `first_contact_at`
    before creation is a data error and counts as no response. Built once per grain: the
    response KPIs (median, p90, SLA) read the same rows.
    """
    key = f"responded_leads:{ctx.grain!r}"
    if key in ctx.cache:
        return ctx.cache[key]
    leads = ctx.table(LEADS)
    if not ctx.has(LEADS, "first_contact_at"):
        activities = ctx.table("activities")
        # The activity log starts on the day of its first activity: a lead created before that
        # day had touches the export does not hold, so its first response is unknown (not late).
        log_start = activities.select(pl.col("at").min().dt.truncate("1d").alias("__log_start"))
        leads = (
            leads.join(log_start, how="cross")
            .filter(pl.col("created_at") >= pl.col("__log_start"))
            .drop("__log_start")
        )
        created = leads.select(pl.col("id"), pl.col("created_at").alias("__created"))
        firsts = (
            activities.filter(pl.col("lead_id").is_not_null())
            .join(created, left_on="lead_id", right_on="id", how="inner")
            .filter(pl.col("at") >= pl.col("__created"))
            .group_by("lead_id")
            .agg(pl.col("at").min().alias("__first"))
        )
        leads = leads.join(firsts, left_on="id", right_on="lead_id", how="left")
    minutes = (first_contact(ctx) - pl.col("created_at")).dt.total_microseconds() / MINUTE_US
    leads = leads.with_columns(pl.when(minutes >= 0).then(minutes).alias("__minutes"))
    out = ctx.window(leads, "created_at").cache()
    ctx.cache[key] = out
    return out


MINUTES = pl.col("__minutes")
RESPONSE_WORDS = "first response - created_at, in minutes"
RESPONSE_MEDIAN = median_of(RESPONSE_WORDS, MINUTES)
RESPONSE_P90 = quantile_of(RESPONSE_WORDS, MINUTES, 0.9)


def _response(measure: Measure) -> object:
    def compute(ctx: Context) -> pl.LazyFrame:
        return ctx.group(responded_leads(ctx), measure.expr())

    return compute


def _sla_rate(ctx: Context) -> pl.LazyFrame:
    sla = ctx.config.lead_response_sla_minutes if ctx.config else 60.0
    within = (pl.col("__minutes") <= sla).fill_null(False)
    return ctx.group(responded_leads(ctx), safe_div(within.sum(), pl.len()))


def _requires_hours(ds: Dataset, config: object | None) -> str | None:
    if not getattr(config, "working_hours", None):
        return "no [leads.working_hours] configured"
    return requires_response(ds, config)


def _business_median(ctx: Context) -> pl.LazyFrame:
    assert ctx.config is not None
    hours = WorkingTime(ctx.config.working_hours)
    frame = responded_leads(ctx).with_columns(
        pl.when(pl.col("__minutes").is_not_null())
        .then(hours.minutes_between(pl.col("created_at"), first_contact(ctx)))
        .alias("__business")
    )
    return ctx.group(frame, BUSINESS_MEDIAN.expr())


BUSINESS_MEDIAN = median_of(
    "business minutes between created_at and the first response", pl.col("__business")
)


def converted_expr(ctx: Context) -> pl.Expr:
    if ctx.has(LEADS, "converted"):
        return pl.col("converted").fill_null(False)
    return pl.col("converted_at").is_not_null()


def requires_conversion(ds: Dataset, config: object | None) -> str | None:
    if ds.has(LEADS, "converted") or ds.has(LEADS, "converted_at"):
        return None
    return "leads have no converted or converted_at column"


def _conversion(ctx: Context) -> pl.LazyFrame:
    return ctx.group(ctx.window(ctx.table(LEADS), "created_at"), converted_expr(ctx).mean())


_RESPONSE_NOTE = (
    "Time from created_at to first_contact_at, or to the first activity linked to the lead at or "
    "after its creation when no column holds the first contact (a touch before the lead existed "
    "answers nothing; a later one still does). Leads never answered are left out of medians and "
    "percentiles; a first_contact_at dated before creation counts as none. From activities, "
    "leads created before the day of the first activity in the export are left out: the log "
    "does not reach back to their first touch."
)

# fmt: off
METRICS = [
    Metric(
        id="leads_created", label="Leads created", unit="count", direction="higher",
        needs=needs((LEADS, [])),
        compute=aggregate(LEADS, "created_at",
                          count("leads created in the period (every lead without one)")),
        period_date="created_at", additive=True,
        reference="HubSpot and Salesforce lead reports: leads by create date",
    ),
    Metric(
        id="lead_response_minutes_median", label="Lead response time (median)",
        unit="minutes", direction="lower",
        needs=needs((LEADS, ["created_at"])), parts=RESPONSE_MEDIAN,
        compute=_response(RESPONSE_MEDIAN),
        period_date="created_at (of the lead)", notes=_RESPONSE_NOTE,
        reference="Harvard Business Review, The Short Life of Online Sales Leads (2011)",
        null_reason="no answered lead in the period", requires=requires_response,
        support="leads_created",
    ),
    Metric(
        id="lead_response_minutes_p90", label="Lead response time (90th percentile)",
        short_label="Lead response p90",
        unit="minutes", direction="lower",
        needs=needs((LEADS, ["created_at"])),
        parts=RESPONSE_P90,
        compute=_response(RESPONSE_P90), period_date="created_at (of the lead)",
        notes=_RESPONSE_NOTE,
        null_reason="no answered lead in the period", requires=requires_response,
        support="leads_created",
        reference="Harvard Business Review, The Short Life of Online Sales Leads (2011); the 90th"
        " percentile shows the slow tail a median hides",
    ),
    Metric(
        id="lead_response_sla_rate", label="Leads answered within SLA",
        unit="ratio", direction="higher",
        needs=needs((LEADS, ["created_at"])),
        parts=ratio(words("leads answered within the SLA"), words("leads created in the period")),
        compute=_sla_rate, period_date="created_at (of the lead)",
        notes="SLA from [leads] response_sla_minutes (default 60). Leads never answered count "
        "as missed.", null_reason="no lead created in the period", requires=requires_response,
        support="leads_created",
        reference="Salesforce and HubSpot lead-response SLA: share of leads first contacted "
        "within the agreed time",
    ),
    Metric(
        id="lead_response_business_minutes_median", label="Lead response, business time (median)",
        short_label="Response, business hours",
        unit="minutes", direction="lower", needs=needs((LEADS, ["created_at"])),
        parts=BUSINESS_MEDIAN,
        compute=_business_median, period_date="created_at (of the lead)",
        notes="Counts only minutes inside [leads.working_hours] (days, hours, time zone, public "
        "holidays of the configured country from the `holidays` package). " + _RESPONSE_NOTE,
        null_reason="no answered lead in the period", requires=_requires_hours,
        support="leads_created",
        reference="HubSpot response time counted in working hours; HBR, The Short Life of Online "
        "Sales Leads (2011)",
    ),
    Metric(
        id="lead_conversion_rate", label="Lead conversion rate", unit="ratio", direction="higher",
        needs=needs((LEADS, [])),
        parts=ratio(words("converted leads"), words("leads created in the period (cohort)")),
        compute=_conversion, period_date="created_at (of the lead)",
        notes="Converted: the `converted` flag, else a filled converted_at. A cohort rate: "
        "recent leads have had less time to convert; it is never alerted on.",
        null_reason="no lead created in the period", requires=requires_conversion, cohort=True,
        reference="Salesforce lead conversion rate: converted leads / leads created",
    ),
]
# fmt: on


def _qualification(ctx: Context) -> pl.LazyFrame:
    converted = converted_expr(ctx)
    band = pl.col("qualification").fill_null("(none)")
    by = list(ctx.grain.by)
    leads = pl.col("leads").sum().over(by) if by else pl.col("leads").sum()
    return (
        ctx.window(ctx.table(LEADS), "created_at")
        .group_by(*by, band)
        .agg(
            pl.len().alias("leads"),
            converted.sum().cast(pl.Int64).alias("converted"),
            converted.mean().alias("conversion_rate"),
        )
        .with_columns((pl.col("leads") / leads).alias("share_of_leads"))
        .sort(
            [*by, "conversion_rate", "qualification"],
            descending=[False] * len(by) + [True, False],
            nulls_last=True,
        )
    )


def _sources(ctx: Context) -> pl.LazyFrame:
    """Per source: leads and conversion (leads), deals won and revenue (deals), spend (spend).

    Counts are per source; without a base currency, money columns come per (source, currency)
    and the counts repeat on each currency's row, so cost per lead and CAC are in that row's
    currency.
    """
    source = pl.col("source").fill_null("(none)").alias("source")
    aggs = [pl.len().alias("leads")]
    if requires_conversion(ctx.ds, None) is None:
        aggs.append(converted_expr(ctx).mean().alias("conversion_rate"))
    counts = ctx.window(ctx.table(LEADS), "created_at").group_by(source).agg(aggs)
    money: list[pl.LazyFrame] = []
    if ctx.has("deals", "source", "status", "closed_at"):
        won = ctx.window(ctx.table("deals").filter(WON), "closed_at")
        per_source = won.group_by(source).agg(pl.len().alias("deals_won"))
        counts = counts.join(per_source, on="source", how="full", coalesce=True)
        firsts = ctx.window(first_wins(ctx), "closed_at")
        new = firsts.group_by(source).agg(pl.len().alias("new_customers"))
        counts = counts.join(new, on="source", how="full", coalesce=True)
        if ctx.has("deals", "amount"):
            won = ctx.window(ctx.money(ctx.table("deals").filter(WON), "deals"), "closed_at")
            money.append(
                won.group_by(source, *ctx.currency_keys("deals")).agg(
                    pl.col("amount").sum().alias("revenue")
                )
            )
    if ctx.has("spend", "source", "date", "amount"):
        spend = _source_spend(ctx, source)
        money.append(
            spend.group_by(source, *ctx.currency_keys("spend")).agg(
                pl.col("amount").sum().alias("spend")
            )
        )
    table = counts
    if money:
        amounts = money[0]
        if len(money) == 2:
            on = [c for c in money[0].collect_schema().names() if c in ("source", CURRENCY)]
            on = [c for c in on if c in money[1].collect_schema().names()]
            amounts = money[0].join(money[1], on=on, how="full", coalesce=True, nulls_equal=True)
        table = counts.join(amounts, on="source", how="full", coalesce=True)
    names = table.collect_schema().names()
    if "spend" in names:
        table = table.with_columns(
            safe_div(pl.col("spend"), pl.col("leads")).alias("cost_per_lead")
        )
        if "new_customers" in names:
            cac = safe_div(pl.col("spend"), pl.col("new_customers"))
            table = table.with_columns(cac.alias("cac"))
    tie = [c for c in ("source", CURRENCY) if c in table.collect_schema().names()]
    return table.sort(["leads", *tie], descending=[True, *(False for _ in tie)], nulls_last=True)


def _source_spend(ctx: Context, source: pl.Expr) -> pl.LazyFrame:
    """Spend rows of the window that belong to a lead source: every marketing channel (one
    that brought no lead still shows its cost), and a sales channel only when leads or deals
    name it as their source (Outbound); sales payroll ("Sales team") is not a source."""
    spend = ctx.window(ctx.money(ctx.table("spend"), "spend"), "date")
    spend = spend.with_columns(source, spend_category(ctx).alias("_category"))
    named = [ctx.table(LEADS).select(source)]
    if ctx.has("deals", "source"):
        named.append(ctx.table("deals").select(source))
    sources = pl.concat(named).unique()
    marketing = spend.filter(pl.col("_category") != "sales")
    sales = spend.filter(pl.col("_category") == "sales").join(sources, on="source", how="semi")
    return pl.concat([marketing, sales]).drop("_category")


TABLES = [
    TableSpec(
        "lead_qualification",
        "Lead qualification",
        needs((LEADS, ["qualification"])),
        _qualification,
        doc="Per qualification band (score band, rating, tier): leads created in the window, "
        "converted leads and the conversion rate; best converting first.",
        units={
            "leads": "count",
            "converted": "count",
            "conversion_rate": "ratio",
            "share_of_leads": "ratio",
        },  # fmt: skip
        requires=requires_conversion,
        supports_by=True,
        reference="HubSpot lead scoring and Salesforce lead rating: conversion per band",
    ),
    TableSpec(
        "sources",
        "Sources",
        needs((LEADS, ["source"])),
        _sources,
        doc="Per source: leads created, lead conversion rate, deals won and revenue (deals "
        "closed in the window), spend (spend dated in the window: every marketing channel, and "
        "a sales channel only when leads or deals name it as their source, so sales payroll is "
        "not a source), cost per lead = spend / "
        "leads and CAC = spend / new customers whose first won deal came from that source (see "
        "new_customers). Without a base currency, money "
        "columns are given per currency.",
        units={
            "leads": "count",
            "conversion_rate": "ratio",
            "deals_won": "count",
            "new_customers": "count",
            "revenue": "currency",
            "spend": "currency",
            "cost_per_lead": "currency",
            "cac": "currency",
        },  # fmt: skip
        reference="HubSpot original source attribution: leads, conversion, spend, cost per lead "
        "and CAC per channel",
        layout=ColumnLayout(
            essential=("source", "leads", "revenue", "spend", "cost_per_lead", "cac")
        ),
    ),
]
