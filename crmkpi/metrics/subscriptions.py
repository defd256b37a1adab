"""Subscriptions: MRR and its movements, churn, retention, renewals.

Movements are classified per customer and period from the customer's total MRR before and after
the period (ChartMogul's rules): new (from 0, never paid before), reactivation (from 0, paid
before), expansion (up), contraction (down, not to 0), churn (to 0: only when the customer has no
active subscription left). So net new MRR of a period always equals the change of MRR.

"Now" for subscriptions is the window's end (--until), else the data's as-of moment (the
latest recorded event of the exports, or --as-of): an end date after it means the subscription
is still active. A row that ends at most one day before the customer's next row
starts is continuous with it (a plan change or a renewal, not churn and return).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import polars as pl

from crmkpi.dataset import Dataset
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
from crmkpi.metrics.customers import SUBS, deal_customers, first_wins
from crmkpi.metrics.kinds import Kind, ratio, safe_div, words
from crmkpi.metrics.snapshot import (
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
    """Just after the data's as-of moment (crmkpi.dataset.Dataset.data_as_of): an end date
    after it is a scheduled end, the subscription is still active."""
    now = ctx.ds.data_as_of()
    return now + timedelta(microseconds=1) if now is not None else datetime(9999, 1, 1)


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
    ).group_by([*keys, PERIOD]).agg(
        pl.col("__d").sum(), pl.col("__d").clip(lower_bound=0).sum().alias("__up")
    )  # fmt: skip
    after = pl.col("__d").cum_sum().over(keys, order_by=PERIOD)
    active = pl.col("after") > EPS
    was_active = active.cast(pl.Int8).cum_max().shift(1).over(keys, order_by=PERIOD).fill_null(0)
    moved = events.with_columns(after.alias("after")).with_columns(
        (pl.col("after") - pl.col("__d")).alias("before"), (was_active > 0).alias("__ever")
    )
    # A customer who starts and leaves within one period ends it where it began: still new
    # (or reactivated) and churned, with the MRR it paid in between.
    in_and_out = (pl.col("before") <= EPS) & ~active & (pl.col("__up") > EPS)
    up_from_zero = (pl.col("before") <= EPS) & (active | in_and_out)
    arrived = pl.when(active).then("after").otherwise("__up")
    was = pl.col("before") > EPS
    zero = pl.lit(0.0)
    return moved.with_columns(
        pl.when(up_from_zero & ~pl.col("__ever")).then(arrived).otherwise(zero).alias("new"),
        pl.when(up_from_zero & pl.col("__ever")).then(arrived).otherwise(zero)
        .alias("reactivation"),
        pl.when(was & ~active).then(-pl.col("before"))
        .when(in_and_out).then(-pl.col("__up")).otherwise(zero).alias("churned"),
        pl.when(was & (pl.col("after") > pl.col("before") + EPS))
        .then(pl.col("after") - pl.col("before")).otherwise(zero).alias("expansion"),
        pl.when(was & active & (pl.col("after") < pl.col("before") - EPS))
        .then(pl.col("after") - pl.col("before")).otherwise(zero).alias("contraction"),
        (up_from_zero & ~pl.col("__ever")).alias("__new_c"),
        (up_from_zero & pl.col("__ever")).alias("__react_c"),
        ((was & ~active) | in_and_out).alias("__churn_c"),
        # churn rates divide by the period's start: only who was a customer then counts
        (was & ~active).alias("__churn_start_c"),
        pl.when(was & ~active).then(-pl.col("before")).otherwise(zero).alias("__churned_start"),
    )  # fmt: skip


def _new_when_won(ctx: Context, moves: pl.LazyFrame) -> pl.LazyFrame:
    """`moves` plus `__new_p`: the period a new customer is counted in. A customer becomes one
    when its first deal is won (see crmkpi.metrics.customers), which may be a period before
    its billing starts; without won deals naming customers (or cut by a subscription column,
    where a customer is new within each group) it is the period its first subscription
    starts."""
    if ctx.grain.by or not deal_customers(ctx):
        return moves.with_columns(pl.col(PERIOD).alias("__new_p"))
    won = first_wins(ctx).select(
        "customer_id", period_start(pl.col("closed_at"), ctx.grain).alias("__won_p")
    )
    joined = moves.join(won, on="customer_id", how="left")
    return joined.with_columns(pl.min_horizontal("__won_p", PERIOD).alias("__new_p")).drop(
        "__won_p"
    )


def movements(ctx: Context) -> pl.LazyFrame:
    """Per (by, currency, period) in the window: movements, MRR and customers at start and end."""
    ctx = sub_context(ctx)
    if ctx.grain.period is None:
        ctx = replace(ctx, grain=ctx.grain.with_(period="month"))
    grain = ctx.grain
    others = [*grain.by, *ctx.currency_keys(SUBS)]
    last = period_start(pl.lit(grain.until, dtype=pl.Datetime("us")) - pl.duration(microseconds=1),
                        grain)  # fmt: skip
    moves = _new_when_won(ctx, customer_moves(ctx))
    per = (
        moves.group_by([*others, PERIOD])
        .agg(
            *(pl.col(m).sum() for m in MOVES),
            pl.col("__react_c").sum().cast(pl.Int64).alias("reactivated_customers"),
            pl.col("__churn_c").sum().cast(pl.Int64).alias("churned_customers"),
            pl.col("__churn_start_c").sum().cast(pl.Int64).alias("__churned_from_start"),
            pl.col("__churned_start").sum(),
        )
        .join(
            moves.filter(pl.col("__new_c"))
            .group_by([*others, pl.col("__new_p").alias(PERIOD)])
            .agg(pl.len().cast(pl.Int64).alias("new_customers")),
            on=[*others, PERIOD], how="full", coalesce=True, nulls_equal=True,
        )
        .filter(pl.col(PERIOD) <= last)
    )  # fmt: skip
    full = complete_periods(
        per.with_columns(pl.lit(0.0).alias(VALUE)), grain.with_(since=None), others, None
    ).drop(VALUE)
    counts = ("new_customers", "reactivated_customers", "churned_customers")
    started = ("__churned_from_start", "__churned_start")
    full = full.with_columns(pl.col(c).fill_null(0) for c in (*MOVES, *counts, *started))
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
# Churn rates count who was a customer at the period's start (a customer who starts and
# leaves within it is churned in the movements, but was not among those it could lose).
CUSTOMER_CHURN = safe_div(C("__churned_from_start"), C("customers_start"))
REVENUE_CHURN = safe_div(0.0 - (C("__churned_start") + C("contraction")), C("mrr_start"))
NRR = safe_div(C("mrr_start") + C("expansion") + C("contraction") + C("churned"), C("mrr_start"))
RETENTION = safe_div(
    C("customers_end") - C("new_customers") - C("reactivated_customers"), C("customers_start")
)


def contracts(ctx: Context) -> pl.LazyFrame:
    """One row per contract: a customer's rows chained while one ends at the moment the next
    starts without a churn reason (a plan change), with its start, end (null while active)
    and term. A cancellation followed by a new subscription, even a minute later, starts a
    new contract: the first one did not renew."""
    rows = ctx.table(SUBS).filter(pl.col("start_at").is_not_null())
    reason = ctx.column(SUBS, "churn_reason")
    prev_end = pl.col("end_at").shift(1).over("customer_id", order_by="start_at")
    prev_reason = reason.shift(1).over("customer_id", order_by="start_at")
    same_moment = prev_end.is_not_null() & (prev_end == pl.col("start_at"))
    chained = same_moment & prev_reason.is_null() & ctx.has(SUBS, "churn_reason")
    return (
        rows.with_columns((~chained).cast(pl.Int32).alias("__new"))
        .with_columns(pl.col("__new").cum_sum().over("customer_id", order_by="start_at")
                      .alias("__contract"))
        .group_by("customer_id", "__contract")
        .agg(
            pl.col("start_at").min(),
            pl.col("end_at").sort_by("start_at").last(),
            pl.col("term_months").sort_by("start_at").first().round().cast(pl.Int32),
        )
        .filter(pl.col("term_months") > 0)
    )  # fmt: skip


def _renewal(ctx: Context) -> pl.LazyFrame:
    """Each term end of a contract reached by now (or of the term a cancellation cut short)
    is up for renewal; renewed when the contract runs on past it."""
    now = pl.lit(sub_context(ctx).grain.until, dtype=pl.Datetime("us"))
    frame = contracts(ctx)
    stop = pl.coalesce(pl.col("end_at"), now)
    # Terms begun before the contract stopped: term k ends at start + k x term.
    months = (stop.dt.year() - pl.col("start_at").dt.year()) * 12 + (
        stop.dt.month() - pl.col("start_at").dt.month()
    )
    terms = (months // pl.col("term_months") + 2).clip(1)
    due = (
        frame.with_columns(pl.int_ranges(1, terms).alias("__k"))
        .explode("__k")
        .with_columns(
            pl.col("start_at")
            .dt.offset_by(pl.format("{}mo", pl.col("__k") * pl.col("term_months")))
            .alias("renews_at")
        )
        .with_columns(
            pl.col("start_at")
            .dt.offset_by(pl.format("{}mo", (pl.col("__k") - 1) * pl.col("term_months")))
            .alias("__term_start")
        )
        .filter(
            (pl.col("renews_at") < now)
            & (pl.col("end_at").is_null() | (pl.col("__term_start") < pl.col("end_at")))
        )
    )
    renewed = pl.col("end_at").is_null() | (pl.col("end_at") > pl.col("renews_at"))
    return ctx.group(ctx.window(due, "renews_at"), renewed.mean())


def _requires_terms(ds: Dataset, config: object | None) -> str | None:
    if not ds.has(SUBS, "term_months"):
        return (
            "subscriptions have no term_months column: the data does not say when a "
            "subscription comes up for renewal"
        )
    return None


def _churn_reasons(ctx: Context) -> pl.LazyFrame:
    rows = subscription_rows(ctx).with_columns(_next_start().alias("__next"))
    ended = rows.filter(pl.col("end_at").is_not_null() & ~_continues())
    ctx_now = sub_context(ctx)
    ended = ended.filter(pl.col("end_at") < pl.lit(ctx_now.grain.until, dtype=pl.Datetime("us")))
    currency = ctx.currency_keys(SUBS)
    reason = pl.col("churn_reason").fill_null("(no reason given)").alias("churn_reason")
    by = list(ctx.grain.by)
    churned = pl.col("customers").sum().over(by) if by else pl.col("customers").sum()
    return (
        ctx.window(ended, "end_at")
        .group_by(*by, reason, *currency)
        .agg(pl.col("customer_id").n_unique().alias("customers"),
             pl.col("mrr").sum().alias("mrr_lost"))
        .with_columns((pl.col("customers") / churned).alias("share"))
        .sort([*by, "customers", "churn_reason"], descending=[False] * len(by) + [True, False],
              nulls_last=True)
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
NEED_START = needs((SUBS, ["customer_id", "start_at"]))
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
        id="arr", label="ARR", unit="currency", direction="higher",
        needs=NEED_OR_SNAPSHOT, kind=Kind.DERIVED, inputs=(mrr,), formula="12 x mrr",
        compute=lambda ctx: mrr.compute(ctx).with_columns(pl.col(VALUE) * 12),
        period_date="start_at and end_at (active between them)",
        point_in_time=True, additive=True, monetary=True, reference=CHARTMOGUL,
    ),
    Metric(
        id="quick_ratio", label="SaaS quick ratio", unit="multiple", direction="higher", needs=NEED,
        parts=ratio(words("(new + expansion + reactivation MRR)", Kind.SUM),
        words("(churned + contraction MRR)", Kind.SUM)),
        compute=_from_movements(QUICK), period_date="movement dates", notes=_LATEST,
        headline_window="latest month", monetary=True,
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
        headline_window="latest month",
        monetary=True, reference=CHARTMOGUL, requires=requires_churn_flag,
        null_reason="no active customer at the period's start",
    ),
    Metric(
        id="churned_mrr", label="Churned MRR", unit="currency", direction="lower",
        needs=NEED_OR_SNAPSHOT,
        parts=words(
            "MRR of the customers who left in the period (as it was before they left)", Kind.SUM
        ),
        compute=_from_movements(-C("churned"), snapshot_churned_mrr), period_date="end_at",
        notes=_LATEST + _SNAPSHOT_NOTE + " Snapshot: the mrr of the churned rows.",
        headline_window="latest month",
        monetary=True, reference=CHARTMOGUL, requires=requires_churn_flag,
    ),
    Metric(
        id="revenue_churn_rate", label="Revenue churn rate (gross MRR churn)",
        short_label="Gross MRR churn rate",
        unit="ratio", direction="lower", needs=NEED,
        parts=ratio(words("(churned + contraction MRR)", Kind.SUM),
        words("MRR at the period's start", Kind.SUM)),
        compute=_from_movements(REVENUE_CHURN), period_date="movement dates", notes=_LATEST,
        headline_window="latest month",
        monetary=True, reference=CHARTMOGUL, null_reason="no MRR at the period's start",
    ),
    Metric(
        id="net_revenue_retention", label="Net revenue retention",
        unit="ratio", direction="higher", needs=NEED,
        parts=ratio(words("(MRR at start + expansion - contraction - churned MRR)", Kind.SUM),
        words("MRR at start", Kind.SUM)),
        compute=_from_movements(NRR), period_date="movement dates",
        notes=_LATEST + " New and reactivated customers are left out.",
        headline_window="latest month", monetary=True,
        reference=CHARTMOGUL, null_reason="no MRR at the period's start",
    ),
    Metric(
        id="customer_retention_rate", label="Customer retention rate",
        unit="ratio", direction="higher", needs=NEED,
        parts=ratio(words("(customers at end - new customers)"), words("customers at start")),
        compute=_from_movements(RETENTION), period_date="movement dates",
        notes=_LATEST + " Reactivated customers count as new.",
        headline_window="latest month", monetary=True,
        reference="Standard CRR formula ((E - N) / S)",
        null_reason="no active customer at the period's start",
    ),
    Metric(
        id="renewal_rate", label="Renewal rate", unit="ratio", direction="higher",
        needs=NEED_START,
        parts=ratio(words("contracts renewed"),
        words("contracts up for renewal, at the term ends in the period")),
        compute=_renewal, period_date="term end (start + k x term_months)",
        notes="A contract is a customer's subscription rows chained by plan changes (one row "
        "ends the moment the next starts, without a churn reason). Each end of a term "
        "(start + k x term_months) that the contract reached, or whose term a cancellation cut "
        "short, is up for renewal; it renewed when the contract runs on past it. A cancelled "
        "contract followed by a new subscription did not renew: the new one is a new "
        "contract. Term ends after now are not yet due. Without term_months the data does not "
        "say what came up for renewal, and the rate is not given.",
        reference="Gainsight / SaaS Capital: renewal rate = renewed contracts / contracts up "
        "for renewal",
        null_reason="no contract came up for renewal in the period", requires=_requires_terms,
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
        supports_period=True,
        reference="ChartMogul MRR movements (new, expansion, contraction, churn, reactivation); "
        "Baremetrics MRR breakdown",
    ),  # fmt: skip
    TableSpec(
        "churn_reasons",
        "Churn reasons",
        needs((SUBS, ["customer_id", "start_at", "end_at", "mrr", "churn_reason"])),
        _churn_reasons,
        doc="Subscription rows that ended in the window without a continuing row, per churn "
        "reason: customers, share and MRR lost. With --by owner (the owner of the customer's "
        "latest deal when the subscriptions have none) the share is of each owner's churn.",
        units={"customers": "count", "share": "ratio", "mrr_lost": "currency"},
        supports_by=True,
        reference="ChartMogul and Baremetrics cancellation insights: churned customers per reason",
    ),  # fmt: skip
]
