"""The forecast a manager can defend: won so far plus the open pipeline, weighted by the team's
own history, against the quota of the period.

forecast = revenue won in the period + sum, over open deals expected to close in it, of
amount x probability x ageing factor.

- Probability: the historic win rate of the deal's stage, won / closed among the closed deals
  that reached the stage (skipped stages count as reached, as in the funnel). Open deals are
  left out of the denominator: they have no outcome yet, and counting them as not won would
  pull every rate down by however much of the pipeline is young. A stage's rate is used once
  `[forecast] min_closed_deals` closed deals (20 by default) reached it; until then the
  stage's `[stages] probability`, else the deal's own CRM probability, stands in (and the
  table and `explain` say so). A deal with none of them adds nothing and is counted apart.
- Expected close: `expected_close_at`, else the stage's median days to a win (stage history),
  else the median sales cycle from creation. An overdue deal (expected close before the
  as-of moment) is moved to the period holding the as-of moment, and flagged.
- Ageing: an overdue deal, or one in its stage longer than the 90th percentile of the team's
  ended stays in that stage, counts at `[forecast] aged_factor` (0.5 by default) of its
  probability: the longer a deal sits, the less its stage's rate describes it.
- Forecast categories: when the export carries them (Salesforce ForecastCategoryName, HubSpot
  forecast category, read as the deals' `qualification`), the table adds the manager's own
  roll-ups: commit = won + open Commit deals, best case = commit + open Best Case deals.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from crmkpi.metrics.base import DAY_US, Context, Grain, Metric, TableSpec, needs, period_start
from crmkpi.metrics.kinds import Kind, median, safe_div
from crmkpi.metrics.quota import (
    OWNER,
    QUOTA_SOURCE,
    WON_SO_FAR,
    add_months,
    as_of_moment,
    elapsed_share,
    one_currency,
    period_name,
    quota_book,
    quota_period,
    requires_quota,
    split_by,
    with_quota,
    won_in_periods,
)
from crmkpi.metrics.stages import (
    OPEN,
    WON,
    has_history,
    open_deals_entered,
    requires_order,
    stage_days,
    stage_win_rates,
)
from crmkpi.schema import days_between

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.dataset import Dataset

AMOUNT = pl.col("amount")
FROM_HISTORY = "history"
FROM_CONFIG = "[stages] probability"
FROM_CRM = "CRM probability"
TEAM_ROW = "(team)"
START = "__start"


def _probability(ctx: Context, deals: pl.LazyFrame) -> pl.LazyFrame:
    """Deals plus `__p` and `__p_source`: history when its sample allows, else the fallbacks."""
    settings = ctx.config.forecast if ctx.config else None
    least = settings.min_closed_deals if settings else 20
    if requires_order(ctx.ds, ctx.config) is None and ctx.has("deals", "id", "stage"):
        deals = deals.join(stage_win_rates(ctx), on="stage", how="left")
        trusted = pl.col("__closed_n") >= least
        history = pl.when(trusted).then(pl.col("__rate"))
    else:
        history = pl.lit(None, dtype=pl.Float64)
    configured = dict(ctx.config.stages.probability) if ctx.config else {}
    by_config = (
        pl.col("stage").cast(pl.String).replace_strict(configured, default=None,
                                                       return_dtype=pl.Float64)
        if configured and ctx.has("deals", "stage")
        else pl.lit(None, dtype=pl.Float64)
    )  # fmt: skip
    own = (
        pl.col("probability").clip(0, 1)
        if ctx.has("deals", "probability")
        else pl.lit(None, dtype=pl.Float64)
    )
    source = (
        pl.when(history.is_not_null())
        .then(pl.lit(FROM_HISTORY))
        .when(by_config.is_not_null())
        .then(pl.lit(FROM_CONFIG))
        .when(own.is_not_null())
        .then(pl.lit(FROM_CRM))
    )
    return deals.with_columns(
        pl.coalesce(history, by_config, own).alias("__p"),
        source.alias("__p_source"),
        own.alias("__crm_p"),
    )


def _days(days: pl.Expr) -> pl.Expr:
    return pl.duration(microseconds=(days * DAY_US).cast(pl.Int64))


def forecast_deals(ctx: Context) -> pl.LazyFrame:
    """Every open deal with `__close` (expected close, an overdue one moved to now),
    `__overdue`, `__aged`, `__p`, `__p_source` and `__weight` (amount x p x ageing factor)."""
    moment = as_of_moment(ctx)
    key = f"forecast_deals:{moment}"  # the cache is the dataset's: one entry per moment
    if key in ctx.cache:
        return ctx.cache[key]
    now = pl.lit(moment, dtype=pl.Datetime("us"))
    deals = _probability(ctx, ctx.money(open_deals_entered(ctx), "deals").filter(OPEN))
    won = ctx.table("deals").filter(WON)
    cycle = won.select(median(days_between(pl.col("created_at"), pl.col("closed_at")))
                       .alias("__cycle"))  # fmt: skip
    deals = deals.join(cycle, how="cross")
    projected = pl.col("created_at") + _days(pl.col("__cycle"))
    stuck = pl.lit(False)
    if has_history(ctx) and ctx.has("deals", "id"):
        timing = stage_days(ctx).select("stage", "__to_close", "__p90")
        deals = deals.join(timing, on="stage", how="left")
        # A stage that never led to a win has no timing of its own: fall back to the cycle.
        projected = pl.coalesce(pl.col("__entered") + _days(pl.col("__to_close")), projected)
        stay = (now - pl.col("__entered")).dt.total_microseconds() / DAY_US
        stuck = (stay > pl.col("__p90")).fill_null(False)
    expected = pl.col("expected_close_at") if ctx.has("deals", "expected_close_at") else None
    close = pl.coalesce(expected, projected) if expected is not None else projected
    overdue = (close < now).fill_null(False)
    factor = ctx.config.forecast.aged_factor if ctx.config else 0.5
    aged = overdue | stuck
    # The moment is where a window ends (exclusive): an overdue deal moved to it would fall
    # out of the window's last period, so it moves to the last instant before it.
    last_instant = now - pl.duration(microseconds=1)
    out = deals.with_columns(
        pl.max_horizontal(close, last_instant).alias("__close"),
        overdue.alias("__overdue"),
        aged.alias("__aged"),
        (AMOUNT * pl.col("__p") * pl.when(aged).then(factor).otherwise(1.0)).alias("__weight"),
    )
    ctx.cache[key] = out
    return out


def _open_expected(ctx: Context, keys: list[str]) -> pl.LazyFrame:
    """Weighted open pipeline per quota key and period (`__open`)."""
    deals = forecast_deals(ctx)
    if ctx.grain.period:
        deals = ctx.window(deals, "__close")
    else:
        _, start, end = quota_period(ctx)
        deals = deals.filter((pl.col("__close") >= start) & (pl.col("__close") < end))
    value = pl.col("__weight").sum().alias("__open")
    return deals.group_by(keys).agg(value) if keys else deals.select(value)


def _forecast_attainment(ctx: Context) -> pl.LazyFrame:
    won, keys = won_in_periods(ctx)
    expected = _open_expected(ctx, keys)
    joined = (
        won.join(expected, on=keys, how="full", coalesce=True, nulls_equal=True)
        if keys
        else won.join(expected, how="cross")
    )
    joined = joined.with_columns(
        (pl.col(WON_SO_FAR).fill_null(0.0) + pl.col("__open").fill_null(0.0)).alias(WON_SO_FAR)
    )
    frame = with_quota(ctx, joined)
    return frame.select(*keys, safe_div(pl.col(WON_SO_FAR), pl.col("__quota")).alias("value"))


def requires_forecast(ds: Dataset, config: Config | None) -> str | None:
    return requires_quota(ds, config) or (
        None if ds.data_as_of() is not None else "no dated rows: no as-of moment"
    )


def forecast_account(ctx: Context) -> tuple[tuple[str, str], ...]:
    """The forecast of the current quota period in words and numbers, for `explain`."""
    label, start, end = quota_period(ctx)
    moment = as_of_moment(ctx)
    assert moment is not None
    who = split_by(ctx)
    book = quota_book(ctx.config)
    quota = book.amount(None, start, end)
    headline = Context(
        ctx.ds,
        Grain(until=ctx.grain.until, fiscal_year_start_month=ctx.grain.fiscal_year_start_month),
        ctx.config,
    )
    won, _ = won_in_periods(headline)
    deals = forecast_deals(ctx).filter((pl.col("__close") >= start) & (pl.col("__close") < end))
    facts = deals.select(
        pl.len().alias("deals"),
        AMOUNT.sum().alias("pipeline"),
        pl.col("__weight").sum().alias("weighted"),
        (AMOUNT * pl.col("__crm_p")).sum().alias("crm"),
        pl.col("__overdue").sum().alias("overdue"),
        pl.col("__aged").sum().alias("aged"),
        pl.col("__p").is_null().sum().alias("unweighted"),
    )
    sources = deals.group_by("__p_source").agg(pl.len().alias("n")).sort("__p_source")
    every = forecast_deals(ctx)
    sample = ["__closed_n"] if "__closed_n" in every.collect_schema().names() else []
    rates = every.group_by("stage", "__p_source").agg(pl.col("__p", *sample).first()).sort("stage")
    won_frame, fact, source_rows, rate_rows = pl.collect_all([won, facts, sources, rates])
    f = fact.row(0, named=True)
    won_amount = float(won_frame[WON_SO_FAR].sum() or 0.0)
    forecast = won_amount + float(f["weighted"] or 0.0)
    factor = ctx.config.forecast.aged_factor if ctx.config else 0.5
    lines = [
        ("period", f"{label} ({start:%Y-%m-%d} to {end:%Y-%m-%d}, end exclusive), as of "
                   f"{moment:%Y-%m-%d %H:%M}: {elapsed_share(start, end, moment):.1%} gone"),
        ("won so far", f"{won_amount:,.0f}"),
        ("open deals expected in the period",
         f"{f['deals']:,} deals, pipeline {f['pipeline'] or 0:,.0f}, weighted "
         f"{f['weighted'] or 0:,.0f}"),
        ("probabilities", "; ".join(
            f"{r['stage']}: {r['__p']:.1%} from {r['__p_source']}"
            + (f" ({r['__closed_n']:,} closed deals reached it)"
               if r["__p_source"] == FROM_HISTORY and r.get("__closed_n") else "")
            for r in rate_rows.iter_rows(named=True) if r["__p"] is not None)),
        ("probability sources", ", ".join(
            f"{r['n']:,} deals {r['__p_source'] or 'without any probability (not counted)'}"
            for r in source_rows.iter_rows(named=True))),
        ("ageing", f"{f['aged']:,} deals at x{factor:g} of their probability "
                   f"({f['overdue']:,} overdue, moved to {label}; the rest past the 90th "
                   "percentile of their stage's stays)"),
        ("with the CRM's probabilities", f"{won_amount + float(f['crm'] or 0):,.0f}"),
        ("forecast", f"{won_amount:,.0f} won + {f['weighted'] or 0:,.0f} weighted = "
                     f"{forecast:,.0f}"),
        ("quota", f"{quota:,.0f}" if quota is not None else f"no quota for {label}"),
    ]  # fmt: skip
    if who:
        lines.append(("per " + who, f"`crmkpi metric forecast_attainment --by {who}`"))
    return tuple(lines)


def _table_periods(ctx: Context) -> list[tuple[str, datetime, datetime]]:
    """The current quota period and the next."""
    label, start, end = quota_period(ctx)
    kind = quota_book(ctx.config).period
    fiscal = ctx.grain.fiscal_year_start_month
    after = add_months(start, 2 * _months(kind))
    return [(label, start, end), (period_name(end, kind, fiscal), end, after)]


def _months(kind: str) -> int:
    return {"month": 1, "quarter": 3, "year": 12}[kind]


# Forecast category names as Salesforce (ForecastCategoryName) and HubSpot (forecast
# category) export them, to the category they roll up as. The importers read such a column as
# the deals' `qualification`; it counts as forecast categories only when every value is one.
FORECAST_CATEGORIES = {
    "pipeline": "pipeline", "best case": "best_case", "bestcase": "best_case",
    "commit": "commit", "closed": "closed", "closed won": "closed", "omitted": "omitted",
    "not forecasted": "omitted",
}  # fmt: skip
CATEGORY = "qualification"


def has_forecast_categories(ctx: Context) -> bool:
    if not ctx.has("deals", CATEGORY):
        return False
    values = ctx.ds.frames["deals"][CATEGORY].cast(pl.String).drop_nulls().unique()
    words = {str(v).strip().lower() for v in values.to_list()}
    return bool(words) and words <= set(FORECAST_CATEGORIES)


def _category_sums() -> list[pl.Expr]:
    """Open amounts in Commit and in Best Case: the manager's own call beside the weighting."""
    category = pl.col(CATEGORY).cast(pl.String).str.strip_chars().str.to_lowercase()
    rolled = category.replace_strict(FORECAST_CATEGORIES, default=None)
    return [
        AMOUNT.filter(rolled == "commit").sum().alias("__commit"),
        AMOUNT.filter(rolled == "best_case").sum().alias("__best_case"),
    ]


def _forecast_table(ctx: Context) -> pl.LazyFrame:
    """Per quota period (current, next) and owner, with the team first."""
    one_currency(ctx)
    spans = _table_periods(ctx)
    kind = quota_book(ctx.config).period
    grain = Grain(period=kind, fiscal_year_start_month=ctx.grain.fiscal_year_start_month)
    first, last = spans[0][1], spans[-1][2]
    moment = as_of_moment(ctx)
    by_owner = ctx.has("deals", OWNER)
    deals = forecast_deals(ctx).filter((pl.col("__close") >= first) & (pl.col("__close") < last))
    deals = deals.with_columns(_start_of("__close", grain).alias(START))
    won = ctx.money(ctx.table("deals").filter(WON), "deals")
    won = won.filter((pl.col("closed_at") >= first) & (pl.col("closed_at") < last))
    won = won.with_columns(_start_of("closed_at", grain).alias(START))
    open_aggs = [
        pl.len().alias("open_deals"),
        AMOUNT.sum().alias("open_pipeline"),
        pl.col("__weight").sum().alias("weighted_open"),
        pl.col("__overdue").sum().cast(pl.Int64).alias("overdue_deals"),
        pl.col("__aged").sum().cast(pl.Int64).alias("aged_deals"),
        (AMOUNT * pl.col("__crm_p")).sum().alias("crm_weighted_open"),
    ]
    categories = has_forecast_categories(ctx)
    if categories:
        open_aggs += _category_sums()
    won_agg = [AMOUNT.sum().alias("won")]
    levels = [([], TEAM_ROW)] + ([([OWNER], None)] if by_owner else [])
    frames = []
    listed = pl.LazyFrame({START: [s for _, s, _ in spans]}, schema={START: pl.Datetime("us")})
    for extra, name in levels:
        keys = [*extra, START]
        part = won.group_by(keys).agg(won_agg).join(
            deals.group_by(keys).agg(open_aggs), on=keys, how="full", coalesce=True,
            nulls_equal=True,
        )  # fmt: skip
        if name is not None:
            part = listed.join(part, on=START, how="left").with_columns(pl.lit(name).alias(OWNER))
        else:
            part = part.with_columns(pl.col(OWNER).cast(pl.String))
        frames.append(part.select(OWNER, START, *(a.meta.output_name() for a in won_agg),
                                  *(a.meta.output_name() for a in open_aggs)))  # fmt: skip
    table = pl.concat(frames, how="vertical_relaxed")
    book = quota_book(ctx.config)
    labels = {s: label for label, s, _ in spans}
    ends = {s: e for _, s, e in spans}

    def quota_of(row: dict[str, object]) -> float | None:
        owner, start = row[OWNER], row[START]
        if owner is None:
            return None  # deals without an owner have no quota of their own
        amount = book.amount(None if owner == TEAM_ROW else str(owner), start, ends[start])  # type: ignore[arg-type,index]
        return None if amount is None else float(amount)

    def elapsed_of(start: datetime) -> float:
        return elapsed_share(start, ends[start], moment or ends[start])

    counts = ["open_deals", "overdue_deals", "aged_deals"]
    sums = ["won", "open_pipeline", "weighted_open"] + (
        ["__commit", "__best_case"] if categories else []
    )
    table = table.with_columns(
        pl.col(counts).fill_null(0), pl.col(sums).fill_null(0.0),
        pl.struct(OWNER, START).map_elements(quota_of, return_dtype=pl.Float64).alias("quota"),
        pl.col(START).map_elements(elapsed_of, return_dtype=pl.Float64).alias("__elapsed"),
        pl.col(START).replace_strict(labels, return_dtype=pl.String).alias("__label"),
    )  # fmt: skip
    forecast = pl.col("won") + pl.col("weighted_open")
    attainment = safe_div(pl.col("won"), pl.col("quota"))
    return (
        table.with_columns(forecast.alias("forecast"))
        .select(
            # Named by its kind (quarter), not `period`: a table with a period column is a time
            # series, which the terminal shows from its end.
            pl.col("__label").alias(kind),
            OWNER,
            "quota",
            attainment.alias("attainment"),
            safe_div(attainment, pl.col("__elapsed")).alias("pacing"),
            safe_div(pl.col("forecast"), pl.col("quota")).alias("forecast_attainment"),
            "won",
            "forecast",
            "open_deals",
            "weighted_open",
            "overdue_deals",
            "aged_deals",
            "open_pipeline",
            "crm_weighted_open",
            *(
                [
                    (pl.col("won") + pl.col("__commit")).alias("commit"),
                    (pl.col("won") + pl.col("__commit") + pl.col("__best_case")).alias("best_case"),
                ]
                if categories
                else []
            ),
            (pl.col(OWNER) == TEAM_ROW).alias("__team"),
            START,
        )
        .sort([START, "__team", "forecast"], descending=[False, True, True], nulls_last=True)
        .drop("__team", START)
    )


def _start_of(column: str, grain: Grain) -> pl.Expr:
    return period_start(pl.col(column), grain)


def _table_note(ctx: Context) -> str:
    settings = ctx.config.forecast if ctx.config else None
    least = settings.min_closed_deals if settings else 20
    factor = settings.aged_factor if settings else 0.5
    return (
        "forecast = won + open deals expected in the period x probability; probability: the "
        f"stage's historic win rate among closed deals that reached it (from {least} closed "
        "deals; else [stages] probability, else the CRM's); overdue deals moved to the current "
        f"period; overdue deals and deals past the 90th percentile of their stage's stays at "
        f"x{factor:g}; crm_weighted_open: the same deals at the CRM's own probabilities"
    )


METRICS = [
    Metric(
        id="forecast_attainment",
        label="Forecast attainment",
        unit="ratio",
        direction="higher",
        needs=needs(("deals", ["status", "amount", "closed_at", "created_at"])),
        kind=Kind.DERIVED,
        formula="(revenue won in the quota period + open deals expected to close in it x "
        "historic stage win rate x ageing factor) / quota of the period",
        compute=_forecast_attainment,
        period_date="closed_at (won) and expected close (open deals)",
        notes="Without a period: the quota period holding the as-of moment. The open pipeline "
        "is today's: a past period's forecast is what it closed at (overdue deals fall in the "
        "current period). The probability, expected close and ageing rules are those of this "
        "section; `crmkpi explain forecast_attainment` gives them with their numbers.",
        reference=QUOTA_SOURCE + "; Salesforce expected revenue (amount x probability), with "
        "the team's own stage win rates in place of the CRM's default stage probabilities",
        null_reason="no quota for the period",
        requires=requires_forecast,
        support="deals_open",
        headline_window="current quota period",
        account=forecast_account,
    ),
]

UNITS = {
    "quota": "currency", "won": "currency", "attainment": "ratio", "pacing": "ratio",
    "open_deals": "count", "open_pipeline": "currency", "weighted_open": "currency",
    "overdue_deals": "count", "aged_deals": "count", "forecast": "currency",
    "forecast_attainment": "ratio", "crm_weighted_open": "currency", "commit": "currency",
    "best_case": "currency",
}  # fmt: skip

TABLES = [
    TableSpec(
        "forecast_quota",
        "Forecast against quota",
        needs(("deals", ["status", "amount", "closed_at", "created_at"])),
        _forecast_table,
        doc="Per quota period (the current one and the next, in a column named by the "
        "period kind: quarter) for the team and each owner: "
        "quota, won so far, attainment and pacing, open deals expected to close in the period "
        "(overdue and aged among them), the forecast and forecast / quota, and the same open "
        "deals weighted by the CRM's probabilities for comparison. When the export has "
        "forecast categories (Salesforce ForecastCategoryName, HubSpot forecast category): "
        "commit = won + open Commit deals expected in the period, best_case = commit + open "
        "Best Case deals, as Salesforce rolls them up.",
        units=UNITS,
        note=_table_note,
        requires=requires_forecast,
        reference="Salesforce Collaborative Forecasts: quota, closed, forecast per rep and "
        "team per period",
    )
]
