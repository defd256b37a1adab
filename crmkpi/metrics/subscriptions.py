"""Subscriptions: MRR and its movements, churn, retention, renewals.

Movements are classified per customer and period from the customer's total MRR before and after
the period (ChartMogul's rules): new (from 0, never paid before), reactivation (from 0, paid
before), expansion (up), contraction (down, not to 0), churn (to 0: only when the customer has no
active subscription left). So net new MRR of a period always equals the change of MRR.

"Now" for subscriptions is the window's end (--until), else the end of the data: the latest
start or end date that is not after today (an end date in the future means the subscription is
still active). A row that ends at most one day before the customer's next row
starts is continuous with it (a plan change or a renewal, not churn and return).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import polars as pl

from crmkpi.metrics.base import (
    PERIOD,
    VALUE,
    Context,
    Metric,
    TableSpec,
    needs,
    period_start,
)
from crmkpi.metrics.breakdown import complete_periods, stock
from crmkpi.metrics.kinds import Kind, ratio, safe_div, words
from crmkpi.metrics.snapshot import (
    SUBS,
    is_snapshot,
    requires_churn_flag,
    snapshot_churn_rate,
    snapshot_churned_mrr,
    snapshot_mrr,
)

EPS = 1e-9
MOVES = ("new", "expansion", "contraction", "churned", "reactivation")
CHARTMOGUL = "ChartMogul, SaaS metrics: MRR movements"


def data_now(ctx: Context) -> datetime:
    """Just after the latest start or end date that is not after today (see the module doc)."""
    if "subscriptions_now" not in ctx.cache:
        tomorrow = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        tomorrow += timedelta(days=1)
        frame = ctx.ds.frames[SUBS]
        dates = [c for c in ("start_at", "end_at") if c in frame.columns]
        latest = frame.select(
            pl.max_horizontal(pl.col(c).filter(pl.col(c) < tomorrow).max() for c in dates)
        ).item()
        now = tomorrow if latest is None else latest + timedelta(microseconds=1)
        ctx.cache["subscriptions_now"] = now
    return ctx.cache["subscriptions_now"]


def sub_context(ctx: Context) -> Context:
    """`ctx` with `until` set to now when the window is open (subscriptions are read as of it)."""
    if ctx.grain.until is not None:
        return ctx
    return replace(ctx, grain=ctx.grain.with_(until=data_now(ctx)))


def _next_start() -> pl.Expr:
    return pl.col("start_at").shift(-1).over("customer_id", order_by="start_at")


def _continues() -> pl.Expr:
    gap = pl.col("__next") - pl.col("end_at")
    return pl.col("__next").is_not_null() & (gap <= pl.duration(days=1))


def subscription_rows(ctx: Context) -> pl.LazyFrame:
    """Rows with MRR in the base currency and `end_at` bridged to a continuing next row."""
    rows = ctx.money(ctx.table(SUBS), SUBS, amount="mrr").filter(pl.col("start_at").is_not_null())
    if "end_at" not in rows.collect_schema().names():
        return rows.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias("end_at"))
    bridged = pl.when(_continues() & (pl.col("__next") >= pl.col("end_at")))
    return (
        rows.with_columns(_next_start().alias("__next"))
        .with_columns(bridged.then(pl.col("__next")).otherwise(pl.col("end_at")).alias("end_at"))
        .drop("__next")
    )


def _mrr(ctx: Context) -> pl.LazyFrame:
    if is_snapshot(ctx.ds):
        return snapshot_mrr(ctx)
    ctx = sub_context(ctx)
    rows = subscription_rows(ctx)
    now = pl.lit(ctx.grain.until, dtype=pl.Datetime("us"))
    alive = pl.col("end_at").is_null() | (pl.col("end_at") >= now)
    return stock(ctx, rows, "start_at", pl.col("end_at"), pl.col("mrr"), alive,
                 ctx.currency_keys(SUBS))  # fmt: skip


def customer_moves(ctx: Context) -> pl.LazyFrame:
    """Per (by, currency, customer, period with a change): MRR before/after and the movements."""
    grain = ctx.grain
    keys = [*grain.by, *ctx.currency_keys(SUBS), "customer_id"]
    rows = subscription_rows(ctx)
    stop = pl.max_horizontal("end_at", "start_at")
    events = pl.concat(
        [
            rows.select(*keys, period_start(pl.col("start_at"), grain).alias(PERIOD),
                        pl.col("mrr").fill_null(0.0).alias("__d")),
            rows.filter(pl.col("end_at").is_not_null()).select(
                *keys, period_start(stop, grain).alias(PERIOD),
                (-pl.col("mrr").fill_null(0.0)).alias("__d")),
        ]
    ).group_by([*keys, PERIOD]).agg(pl.col("__d").sum())  # fmt: skip
    after = pl.col("__d").cum_sum().over(keys, order_by=PERIOD)
    active = pl.col("after") > EPS
    was_active = active.cast(pl.Int8).cum_max().shift(1).over(keys, order_by=PERIOD).fill_null(0)
    moved = events.with_columns(after.alias("after")).with_columns(
        (pl.col("after") - pl.col("__d")).alias("before"), (was_active > 0).alias("__ever")
    )
    up_from_zero = (pl.col("before") <= EPS) & active
    was = pl.col("before") > EPS
    zero = pl.lit(0.0)
    return moved.with_columns(
        pl.when(up_from_zero & ~pl.col("__ever")).then("after").otherwise(zero).alias("new"),
        pl.when(up_from_zero & pl.col("__ever")).then("after").otherwise(zero)
        .alias("reactivation"),
        pl.when(was & ~active).then(-pl.col("before")).otherwise(zero).alias("churned"),
        pl.when(was & (pl.col("after") > pl.col("before") + EPS))
        .then(pl.col("after") - pl.col("before")).otherwise(zero).alias("expansion"),
        pl.when(was & active & (pl.col("after") < pl.col("before") - EPS))
        .then(pl.col("after") - pl.col("before")).otherwise(zero).alias("contraction"),
        (up_from_zero & ~pl.col("__ever")).alias("__new_c"),
        (up_from_zero & pl.col("__ever")).alias("__react_c"),
        (was & ~active).alias("__churn_c"),
    )  # fmt: skip


def movements(ctx: Context) -> pl.LazyFrame:
    """Per (by, currency, period) in the window: movements, MRR and customers at start and end."""
    ctx = sub_context(ctx)
    if ctx.grain.period is None:
        ctx = replace(ctx, grain=ctx.grain.with_(period="month"))
    grain = ctx.grain
    others = [*grain.by, *ctx.currency_keys(SUBS)]
    last = period_start(pl.lit(grain.until, dtype=pl.Datetime("us")) - pl.duration(microseconds=1),
                        grain)  # fmt: skip
    per = (
        customer_moves(ctx)
        .group_by([*others, PERIOD])
        .agg(
            *(pl.col(m).sum() for m in MOVES),
            pl.col("__new_c").sum().cast(pl.Int64).alias("new_customers"),
            pl.col("__react_c").sum().cast(pl.Int64).alias("reactivated_customers"),
            pl.col("__churn_c").sum().cast(pl.Int64).alias("churned_customers"),
        )
        .filter(pl.col(PERIOD) <= last)
    )
    full = complete_periods(
        per.with_columns(pl.lit(0.0).alias(VALUE)), grain.with_(since=None), others, None
    ).drop(VALUE)
    counts = ("new_customers", "reactivated_customers", "churned_customers")
    full = full.with_columns(pl.col(c).fill_null(0) for c in (*MOVES, *counts))
    net = pl.sum_horizontal(*MOVES)
    customers_delta = (
        pl.col("new_customers") + pl.col("reactivated_customers") - pl.col("churned_customers")
    )

    def run(e: pl.Expr) -> pl.Expr:
        e = e.cum_sum()
        return e.over(others, order_by=PERIOD) if others else e

    out = full.sort([*others, PERIOD]).with_columns(
        net.alias("net_new_mrr"), run(net).alias("mrr_end"),
        run(customers_delta).alias("customers_end"),
    ).with_columns(
        (pl.col("mrr_end") - pl.col("net_new_mrr")).alias("mrr_start"),
        (pl.col("customers_end") - customers_delta).alias("customers_start"),
    )  # fmt: skip
    if grain.since is not None:
        first = period_start(pl.lit(grain.since, dtype=pl.Datetime("us")), grain)
        out = out.filter(pl.col(PERIOD) >= first)
    return out


def _from_movements(formula: pl.Expr, snapshot: object = None) -> object:
    """A rate per period from the movements; without a period, for the latest month. With
    `snapshot`, what a subscriptions file without dates gives instead (as of the export)."""

    def compute(ctx: Context) -> pl.LazyFrame:
        if snapshot is not None and is_snapshot(ctx.ds):
            return snapshot(ctx)  # type: ignore[operator]
        frame = movements(ctx)
        others = [*ctx.grain.by, *ctx.currency_keys(SUBS)]
        keys = [*others, PERIOD] if ctx.grain.period else others
        frame = frame.with_columns(formula.alias(VALUE))
        if not ctx.grain.period:
            latest = pl.col(PERIOD) == pl.col(PERIOD).max()
            frame = frame.filter(latest.over(others) if others else latest)
        return frame.select(*keys, VALUE).sort(keys) if keys else frame.select(VALUE)

    return compute


C = pl.col
QUICK = safe_div(C("new") + C("expansion") + C("reactivation"), -(C("churned") + C("contraction")))
CUSTOMER_CHURN = safe_div(C("churned_customers"), C("customers_start"))
REVENUE_CHURN = safe_div(0.0 - (C("churned") + C("contraction")), C("mrr_start"))
NRR = safe_div(C("mrr_start") + C("expansion") + C("contraction") + C("churned"), C("mrr_start"))
RETENTION = safe_div(
    C("customers_end") - C("new_customers") - C("reactivated_customers"), C("customers_start")
)


def _renewal(ctx: Context) -> pl.LazyFrame:
    rows = ctx.table(SUBS).filter(pl.col("start_at").is_not_null()).with_columns(
        _next_start().alias("__next")
    ).filter(pl.col("end_at").is_not_null())  # fmt: skip
    ctx_now = sub_context(ctx)
    due = rows.filter(pl.col("end_at") < pl.lit(ctx_now.grain.until, dtype=pl.Datetime("us")))
    return ctx.group(ctx.window(due, "end_at"), _continues().mean())


def _churn_reasons(ctx: Context) -> pl.LazyFrame:
    rows = subscription_rows(ctx).with_columns(_next_start().alias("__next"))
    ended = rows.filter(pl.col("end_at").is_not_null() & ~_continues())
    ctx_now = sub_context(ctx)
    ended = ended.filter(pl.col("end_at") < pl.lit(ctx_now.grain.until, dtype=pl.Datetime("us")))
    currency = ctx.currency_keys(SUBS)
    reason = pl.col("churn_reason").fill_null("(no reason given)").alias("churn_reason")
    return (
        ctx.window(ended, "end_at")
        .group_by(reason, *currency)
        .agg(pl.col("customer_id").n_unique().alias("customers"),
             pl.col("mrr").sum().alias("mrr_lost"))
        .with_columns((pl.col("customers") / pl.col("customers").sum()).alias("share"))
        .sort(["customers", "churn_reason"], descending=[True, False])
    )  # fmt: skip


def _movements_table(ctx: Context) -> pl.LazyFrame:
    return movements(ctx).select(
        *ctx.grain.by, *ctx.currency_keys(SUBS), PERIOD, "mrr_start", *MOVES, "net_new_mrr",
        "mrr_end", "customers_start", "new_customers", "reactivated_customers",
        "churned_customers", "customers_end",
    )  # fmt: skip


_LATEST = "Without a period: the latest month of the window (possibly partial)."
NEED = needs((SUBS, ["customer_id", "start_at", "mrr"]))
# MRR, churn rate and churned MRR are given by a snapshot without dates too (metrics.snapshot)
NEED_OR_SNAPSHOT = needs((SUBS, ["customer_id", "mrr"]))
_SNAPSHOT_NOTE = (
    " A subscriptions file without start dates is a snapshot (a row per customer, a churn "
    "flag): the figure is as of the export, over rows whose churn flag is filled, and in no "
    "period or window."
)
NEED_END = needs((SUBS, ["customer_id", "start_at", "end_at", "mrr"]))
mrr = Metric(
    id="mrr", label="MRR", unit="currency", direction="higher", needs=NEED_OR_SNAPSHOT,
    kind=Kind.STOCK, formula="sum of mrr of subscriptions active at the moment",
    compute=_mrr, period_date="start_at and end_at (active between them)",
    notes="At each period's end; without a period now (or at the window's end). " + __doc__
    .split("\n\n")[2].replace("\n", " ") + _SNAPSHOT_NOTE,
    reference=CHARTMOGUL, point_in_time=True, additive=True, monetary=True,
)  # fmt: skip

# fmt: off
METRICS = [
    mrr,
    Metric(
        id="arr", label="ARR", unit="currency", direction="higher", needs=NEED_OR_SNAPSHOT,
        kind=Kind.DERIVED, inputs=(mrr,), formula="12 x mrr",
        compute=lambda ctx: mrr.compute(ctx).with_columns(pl.col(VALUE) * 12),
        period_date="start_at and end_at (active between them)",
        point_in_time=True, additive=True, monetary=True, reference=CHARTMOGUL,
    ),
    Metric(
        id="quick_ratio", label="SaaS quick ratio", unit="multiple", direction="higher", needs=NEED,
        parts=ratio(words("(new + expansion + reactivation MRR)", Kind.SUM),
                    words("(churned + contraction MRR)", Kind.SUM)),
        compute=_from_movements(QUICK), period_date="movement dates", notes=_LATEST, monetary=True,
        reference="Mamoon Hamid (Social Capital), SaaS quick ratio",
        null_reason="no churned or contracted MRR in the period",
    ),
    Metric(
        id="customer_churn_rate", label="Customer churn rate", unit="ratio", direction="lower",
        needs=NEED_OR_SNAPSHOT,
        parts=ratio(words("customers churned in the period"),
                    words("customers active at its start")),
        compute=_from_movements(CUSTOMER_CHURN, snapshot_churn_rate), period_date="end_at",
        notes=_LATEST + _SNAPSHOT_NOTE + " Snapshot: churned customers / customers in it.",
        monetary=True, reference=CHARTMOGUL, requires=requires_churn_flag,
        null_reason="no active customer at the period's start",
    ),
    Metric(
        id="churned_mrr", label="Churned MRR", unit="currency", direction="lower",
        needs=NEED_OR_SNAPSHOT,
        parts=words("MRR of the customers who left in the period (as it was before they left)",
                    Kind.SUM),
        compute=_from_movements(-C("churned"), snapshot_churned_mrr), period_date="end_at",
        notes=_LATEST + _SNAPSHOT_NOTE + " Snapshot: the mrr of the churned rows.",
        monetary=True, reference=CHARTMOGUL, requires=requires_churn_flag,
    ),
    Metric(
        id="revenue_churn_rate", label="Revenue churn rate (gross MRR churn)",
        unit="ratio", direction="lower", needs=NEED,
        parts=ratio(words("(churned + contraction MRR)", Kind.SUM),
                    words("MRR at the period's start", Kind.SUM)),
        compute=_from_movements(REVENUE_CHURN), period_date="movement dates", notes=_LATEST,
        monetary=True, reference=CHARTMOGUL, null_reason="no MRR at the period's start",
    ),
    Metric(
        id="net_revenue_retention", label="Net revenue retention", unit="ratio", direction="higher",
        needs=NEED,
        parts=ratio(words("(MRR at start + expansion - contraction - churned MRR)", Kind.SUM),
                    words("MRR at start", Kind.SUM)),
        compute=_from_movements(NRR), period_date="movement dates",
        notes=_LATEST + " New and reactivated customers are left out.", monetary=True,
        reference=CHARTMOGUL, null_reason="no MRR at the period's start",
    ),
    Metric(
        id="customer_retention_rate", label="Customer retention rate",
        unit="ratio", direction="higher", needs=NEED,
        parts=ratio(words("(customers at end - new customers)"),
                    words("customers at start")),
        compute=_from_movements(RETENTION), period_date="movement dates",
        notes=_LATEST + " Reactivated customers count as new.", monetary=True,
        reference="Standard CRR formula ((E - N) / S)",
        null_reason="no active customer at the period's start",
    ),
    Metric(
        id="renewal_rate", label="Renewal rate", unit="ratio", direction="higher", needs=NEED_END,
        parts=ratio(words("renewed"), words(
            "up for renewal: subscription rows ending in the period, followed by a row of the "
            "same customer starting at most one day later")),
        compute=_renewal, period_date="end_at",
        notes="Rows ending after now are not yet up for renewal.",
        null_reason="no subscription row ended in the period",
    ),
]
# fmt: on

TABLES = [
    TableSpec(
        "mrr_movements",
        "MRR movements",
        NEED,
        _movements_table,
        doc="Per period (month when none is given): MRR at start, new, expansion, contraction, "
        "churned, reactivation, net new MRR, MRR at end, and customers. net_new_mrr = sum of "
        "the movements = mrr_end - mrr_start. With a breakdown (e.g. --by plan) a customer is "
        "followed within each group, so a move between groups is churn in one and new or "
        "reactivation in the other. " + __doc__.split("\n\n")[1].replace("\n", " "),
        units={
            **{m: "currency" for m in (*MOVES, "mrr_start", "net_new_mrr", "mrr_end")},
            **{
                c: "count"
                for c in (
                    "customers_start",
                    "new_customers",
                    "reactivated_customers",
                    "churned_customers",
                    "customers_end",
                )
            },
        },
        supports_by=True,
    ),  # fmt: skip
    TableSpec(
        "churn_reasons",
        "Churn reasons",
        needs((SUBS, ["customer_id", "start_at", "end_at", "mrr", "churn_reason"])),
        _churn_reasons,
        doc="Subscription rows that ended in the window without a continuing row, per churn "
        "reason: customers, share and MRR lost.",
        units={"customers": "count", "share": "ratio", "mrr_lost": "currency"},
    ),  # fmt: skip
]
