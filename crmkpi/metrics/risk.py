"""Deal risk: open deals a manager should look at, each with the reasons it was flagged.

Every threshold comes from the team's own data (settable in `[risk]`), and a reason whose
threshold rests on fewer than `min_sample` rows is not checked: a fence over five deals says
nothing about the sixth. The note under the table says which reasons were checked and why the
others were not.
"""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import DAY_US, REPORT_LIST_ROWS, Context, TableSpec, each_together, needs
from crmkpi.metrics.kinds import ordinal
from crmkpi.metrics.pipeline import cycle_days
from crmkpi.metrics.stages import (
    OPEN,
    WON,
    data_end,
    has_history,
    open_deals_entered,
    stage_dtype,
    stays,
)

DEFAULTS = {
    "amount_fence": 1.5,  # Tukey's fences: Q1 - 1.5 IQR, Q3 + 1.5 IQR
    "cycle_quantile": 0.9,
    "stage_quantile": 0.9,
    "min_sample": 20,
}
SHOWN = ("name", "owner", "pipeline", "stage", "amount", "currency", "id")
NOW = pl.col("__now")


def setting(ctx: Context, key: str) -> float | None:
    """A `[risk]` setting, else its default (None: taken from the data)."""
    risk = ctx.config.risk if ctx.config is not None else {}
    return risk.get(key, DEFAULTS.get(key))


def _min_sample(ctx: Context) -> int:
    return int(setting(ctx, "min_sample") or 1)


def _whole(value: pl.Expr) -> pl.Expr:
    """A number as text without decimals, thousands apart with commas (as the report shows)."""
    rounded = value.round(0).cast(pl.Int64)
    return rounded.map_batches(_thousands, return_dtype=pl.String, is_elementwise=True)


def _thousands(numbers: pl.Series) -> pl.Series:
    """Each distinct whole number written once in Python (a column of day counts holds a few
    hundred distinct ones over a hundred thousand rows)."""
    distinct = numbers.unique().drop_nulls().to_list()
    written = {n: f"{n:,}" for n in distinct}
    return numbers.replace_strict(written, default=None, return_dtype=pl.String)


def _day_count(days: pl.Expr) -> pl.Expr:
    """Days as text: one decimal under ten days (7.6 d is not 8 d), whole days above."""
    return pl.when(days < 10).then(days.round(1).cast(pl.String)).otherwise(_whole(days))


def _days(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    return (end - start).dt.total_microseconds() / DAY_US


# --- Amount: outside the fences of won and open amounts in the deal's pipeline ----------------


def _amount_keys(ctx: Context) -> list[str]:
    return [c for c in ("pipeline",) if ctx.has("deals", c)] + ctx.currency_keys("deals")


def amount_fences(ctx: Context) -> pl.LazyFrame:
    """Per pipeline (and currency): Q1, Q3, n and the fences, over won and open deals with an
    amount. Lost deals are left out: a lost deal's amount is often a first guess."""
    fence = setting(ctx, "amount_fence")
    keys = _amount_keys(ctx)
    deals = ctx.money(ctx.table("deals"), "deals")
    deals = deals.filter((OPEN | WON) & pl.col("amount").is_not_null())
    aggs = [
        pl.col("amount").quantile(0.25, "linear").alias("__q1"),
        pl.col("amount").quantile(0.75, "linear").alias("__q3"),
        pl.len().alias("__n"),
    ]
    stats = deals.group_by(keys).agg(aggs) if keys else deals.select(aggs)
    iqr = pl.col("__q3") - pl.col("__q1")
    enough = pl.col("__n") >= _min_sample(ctx)
    return stats.with_columns(
        pl.when(enough).then(pl.col("__q1") - fence * iqr).alias("__low"),
        pl.when(enough).then(pl.col("__q3") + fence * iqr).alias("__high"),
    )


def _amount_reason(ctx: Context, deals: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.Expr, pl.Expr]:
    keys = _amount_keys(ctx)
    fences = amount_fences(ctx).select(*keys, "__low", "__high")
    if keys:
        deals = deals.join(fences, on=keys, how="left", nulls_equal=True)
    else:
        deals = deals.join(fences, how="cross")
    amount = pl.col("amount")
    above = amount > pl.col("__high")
    text = (
        pl.when(above)
        .then(pl.format("amount > {}", _whole(pl.col("__high"))))
        .otherwise(pl.format("amount < {}", _whole(pl.col("__low"))))
    )
    return deals, above | (amount < pl.col("__low")), text


# --- Age: older than the team's usual cycle ----------------------------------------------------


def cycle_limit(ctx: Context) -> pl.LazyFrame:
    """One row, `__age_limit`: [risk] age_days, else the cycle_quantile of won deals' cycles
    (null when fewer than min_sample won deals have one)."""
    fixed = setting(ctx, "age_days")
    if fixed is not None:
        return pl.LazyFrame({"__age_limit": [float(fixed)]})
    q = setting(ctx, "cycle_quantile")
    cycles = ctx.table("deals").filter(WON).select(cycle_days().alias("__c")).drop_nulls()
    return cycles.select(
        pl.when(pl.len() >= _min_sample(ctx))
        .then(pl.col("__c").quantile(q, "linear"))
        .alias("__age_limit")
    )


def _age_reason(ctx: Context, deals: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.Expr, pl.Expr]:
    deals = deals.join(cycle_limit(ctx), how="cross")
    age = pl.col("age_days")
    text = pl.format("age {} d > {} d", _day_count(age), _day_count(pl.col("__age_limit")))
    return deals, age > pl.col("__age_limit"), text


# --- Stage: in its stage longer than the usual stay --------------------------------------------


def stage_limits(ctx: Context) -> pl.LazyFrame:
    """(stage, __stage_limit): [stages] stuck_days, else the stage_quantile of ended stays in
    the stage (null when it has fewer than min_sample)."""
    q = setting(ctx, "stage_quantile")
    days = pl.col("days")
    limits = (
        stays(ctx)
        .filter(days.is_not_null())
        .group_by("stage")
        .agg(pl.when(pl.len() >= _min_sample(ctx)).then(days.quantile(q, "linear")).alias("__p"))
    )
    configured = dict(ctx.config.stages.stuck_days) if ctx.config else {}
    if configured:
        conf = pl.LazyFrame({"stage": list(configured), "__conf": list(configured.values())})
        conf = conf.with_columns(pl.col("stage").cast(stage_dtype(ctx)))
        limits = limits.join(conf, on="stage", how="full", coalesce=True)
    else:
        limits = limits.with_columns(pl.lit(None, dtype=pl.Float64).alias("__conf"))
    return limits.select("stage", pl.coalesce("__conf", "__p").alias("__stage_limit"))


def _stage_reason(ctx: Context, deals: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.Expr, pl.Expr]:
    deals = deals.join(stage_limits(ctx), on="stage", how="left")
    in_stage = _days(pl.col("__entered"), NOW)
    text = pl.format(
        "{} {} d > {} d", pl.col("stage"), _day_count(in_stage), _day_count(pl.col("__stage_limit"))
    )
    return deals, in_stage > pl.col("__stage_limit"), text


# --- Close date: the expected close has passed -------------------------------------------------


def _slipped_reason(ctx: Context, deals: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.Expr, pl.Expr]:
    # By calendar day: a deal expected to close today has not slipped yet.
    expected = pl.col("expected_close_at")
    late = expected.dt.date() < NOW.dt.date()
    return deals, late, pl.format("close date {} passed", expected.dt.date())


# --- Activity: no activity logged on the deal for too long ---------------------------------------


def _deal_activities(ctx: Context) -> pl.LazyFrame:
    """Activities linked to a deal and dated at or before the as-of moment (later ones are
    scheduled next steps, not contact), sorted by deal and date: the gaps and each deal's
    last activity are read from neighbouring rows of this one sort."""
    return (
        ctx.table("activities")
        .filter(pl.col("deal_id").is_not_null() & pl.col("at").is_not_null())
        .join(data_end(ctx), how="cross")
        .filter(pl.col("at") <= NOW)
        .select("deal_id", "at")
        .pipe(each_together, "deal_id", "at")
    )


def silence_limit(ctx: Context, activities: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """One row, `__silence_limit`: [risk] no_activity_days, else the 90th percentile of the
    gaps between one activity and the next on the same deal (null below min_sample gaps)."""
    fixed = setting(ctx, "no_activity_days")
    if fixed is not None:
        return pl.LazyFrame({"__silence_limit": [float(fixed)]})
    activities = _deal_activities(ctx) if activities is None else activities
    # Sorted by deal, each activity's gap is to the row above when that row is the same
    # deal's: a comparison of neighbours (a window over 600,000 deals cost twice as much).
    same_deal = pl.col("deal_id") == pl.col("deal_id").shift(1)
    gap = pl.when(same_deal).then(_days(pl.col("at").shift(1), pl.col("at")))
    gaps = activities.select(gap.alias("__gap")).drop_nulls()
    return gaps.select(
        pl.when(pl.len() >= _min_sample(ctx))
        .then(pl.col("__gap").quantile(0.9, "linear"))
        .alias("__silence_limit")
    )


def _silence_reason(ctx: Context, deals: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.Expr, pl.Expr]:
    activities = _deal_activities(ctx)
    last_of_deal = pl.col("deal_id").ne_missing(pl.col("deal_id").shift(-1))
    last = activities.filter(last_of_deal).select("deal_id", pl.col("at").alias("__last"))
    deals = deals.join(last, left_on="id", right_on="deal_id", how="left")
    deals = deals.join(silence_limit(ctx, activities), how="cross")
    quiet = _days(pl.coalesce("__last", "created_at"), NOW)
    since = pl.when(pl.col("__last").is_null()).then(pl.lit(" (none ever)"))
    text = pl.format(
        "no activity {} d > {} d{}",
        _day_count(quiet),
        _day_count(pl.col("__silence_limit")),
        since.otherwise(pl.lit("")),
    )
    return deals, quiet > pl.col("__silence_limit"), text


# --- The table -----------------------------------------------------------------------------------

RULES = {
    "amount": (("amount",), _amount_reason),
    "age": (("created_at",), _age_reason),
    "stage": ((), _stage_reason),
    "close date": (("expected_close_at",), _slipped_reason),
    "no activity": (("id", "created_at"), _silence_reason),
}


def why_not(ctx: Context, rule: str) -> str | None:
    """Why a reason cannot be checked on this data (None when it can)."""
    columns, _ = RULES[rule]
    absent = [c for c in columns if not ctx.has("deals", c)]
    if absent:
        return f"deals have no {', '.join(absent)}"
    if rule == "age" and not ctx.has("deals", "closed_at") and setting(ctx, "age_days") is None:
        return "deals have no closed_at to learn the usual cycle from"
    if rule == "stage" and not (has_history(ctx) and ctx.has("deals", "id", "stage")):
        return "no stage history to tell when a deal entered its stage"
    if rule == "no activity" and not ctx.has("activities", "deal_id", "at"):
        return "activities are not linked to deals"
    return None


def _deal_risk(ctx: Context) -> pl.LazyFrame:
    shown = [c for c in SHOWN if ctx.has("deals", c)]
    base = open_deals_entered(ctx)
    deals = ctx.money(base, "deals") if ctx.has("deals", "amount") else base
    deals = deals.join(data_end(ctx), how="cross")
    age = (
        [_days(pl.col("created_at"), NOW).alias("age_days")]
        if ctx.has("deals", "created_at")
        else []
    )
    deals = deals.with_columns(age)
    # Flags first, text last: the reasons are written for the flagged deals only, and the
    # per-row numbers in them once per distinct value (`_thousands`).
    flags: list[str] = []
    texts: list[pl.Expr] = []
    for rule, (_, reason_of) in RULES.items():
        if why_not(ctx, rule) is None:
            deals, flagged, text = reason_of(ctx, deals)
            flags.append(f"__flag_{len(flags)}")
            deals = deals.with_columns(flagged.fill_null(False).alias(flags[-1]))
            texts.append(text)
    count = pl.sum_horizontal(flags) if flags else pl.lit(0)
    listed = pl.concat_list(pl.when(pl.col(f)).then(t) for f, t in zip(flags, texts, strict=True))
    reasons = listed.list.drop_nulls().list.join("; ") if flags else pl.lit("")
    age_col = ["age_days"] if age else []
    # Largest amount first; every other column breaks ties, so the same data lists the same
    # deals in the same order (a deals file without ids has many equal amounts).
    sort = [c for c in ("amount", "id") if c in shown]
    sort += [c for c in (*shown, *age_col, *flags) if c not in sort]
    return (
        deals.with_columns(count.cast(pl.Int64).alias("reason_count"))
        .filter(pl.col("reason_count") > 0)
        .sort(sort, descending=[c == "amount" for c in sort], nulls_last=True)
        .with_columns(reasons.alias("reasons"))
        .select(*shown[:1], "reasons", *shown[1:], *age_col, "reason_count")
    )


def _note(ctx: Context) -> str:
    checked, skipped = [], []
    for rule in RULES:
        reason = why_not(ctx, rule)
        (skipped.append(f"{rule} ({reason})") if reason else checked.append(rule))
    fence = setting(ctx, "amount_fence")
    age = setting(ctx, "age_days")
    age_rule = f"{age:g} d" if age is not None else (
        f"{ordinal(setting(ctx, 'cycle_quantile'))} percentile of won deals' cycles"
    )  # fmt: skip
    silence = setting(ctx, "no_activity_days")
    silence_rule = f"{silence:g} d" if silence is not None else (
        "90th percentile of gaps between a deal's activities"
    )  # fmt: skip
    rules = (
        f"amount outside Q1 - {fence:g} IQR .. Q3 + {fence:g} IQR of won and open amounts in its "
        f"pipeline; age over the {age_rule}; days in stage over [stages] stuck_days, else the "
        f"{ordinal(setting(ctx, 'stage_quantile'))} percentile of past stays in it; expected "
        f"close before the as-of day; no activity for longer than {silence_rule}; a pipeline, "
        f"stage or statistic with fewer than {_min_sample(ctx)} rows behind it is not checked"
    )
    text = f"checked: {', '.join(checked)}" if checked else "no reason can be checked"
    if skipped:
        text += f"; not checked: {', '.join(skipped)}"
    return f"{text}; {rules}; largest amount first"


TABLES = [
    TableSpec(
        "deal_risk",
        "Deal risk",
        needs(("deals", ["status"])),
        _deal_risk,
        doc="Open deals at risk, each with its reasons: amount outside Tukey's fences "
        "(Q1 - 1.5 IQR, Q3 + 1.5 IQR) of won and open amounts in its pipeline (and currency); "
        "open longer than the 90th percentile of won deals' sales cycles; in its stage longer "
        "than [stages] stuck_days, else the 90th percentile of past stays in that stage (stage "
        "history); expected close date before the as-of day; no activity linked to the deal for "
        "longer than the 90th percentile of gaps between a deal's activities (counted from "
        "creation when it has none). Thresholds come from all the data, settable in [risk]; "
        "one resting on fewer than 20 rows (min_sample) is not used. Largest amount first.",
        units={"amount": "currency", "age_days": "days", "reason_count": "count"},
        note=_note,
        report_rows=REPORT_LIST_ROWS,
        reference="Tukey's fences for outliers (Exploratory Data Analysis, 1977); Salesforce "
        "and HubSpot deal inspection: stalled, pushed and inactive deals",
    )
]
