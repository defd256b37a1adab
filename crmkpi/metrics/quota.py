"""Quotas per period, for the team, per owner and per team, and won revenue against them.

Where a quota comes from, first match wins:
- the quota sheet (`[quota] file`: owner, period, amount) when its rows for that owner cover the
  whole period (months of a quarter add up; a quarter's row gives a month a third of it);
- `[quota]` amounts per period kind (`quarter = 1350000`, `[quota.owners."Ann Lee"]`,
  `[quota.teams.Enterprise]`), prorated by months to another period (a quarter is 3 months);
- for the team only: the sum of the owners' quotas of that period, when no team quota is set.
A period without a quota has no attainment, with the reason "no quota for 2026-Q3".

Without a period the KPIs are read for the quota period (`[quota] period`, quarter by default)
holding the as-of moment (the window's end, else the data's as-of): attainment to date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from crmkpi.errors import UsageError
from crmkpi.io.quotas import QuotaRow, add_months, read_quota_sheet
from crmkpi.metrics.base import PERIOD, Context, Metric, needs, period_end
from crmkpi.metrics.kinds import Kind, safe_div
from crmkpi.metrics.pipeline import WON

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.dataset import Dataset

KIND_MONTHS = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "quarter": 3.0, "year": 12.0}
QUOTA_SOURCE = "Salesforce Collaborative Forecasts quota attainment; HubSpot goals"
OWNER = "owner"
TEAM = "team"
WON_SO_FAR = "__won"


def months_between(start: datetime, end: datetime) -> float:
    """Calendar months from start to end, a part of a month by its share of days."""
    total, cursor = 0.0, start
    while cursor < end:
        month_start = cursor.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        next_month = add_months(month_start, 1)
        stop = min(end, next_month)
        days_in_month = calendar.monthrange(month_start.year, month_start.month)[1]
        total += (stop - cursor) / timedelta(days=days_in_month)
        cursor = stop
    return total


def _overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> float:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return months_between(start, end) if start < end else 0.0


@dataclass(frozen=True)
class QuotaBook:
    """Every quota of a project, asked by who (team, an owner, a team of owners) and when."""

    period: str
    team_every: dict[str, float]
    owners_every: dict[str, dict[str, float]]
    teams_every: dict[str, dict[str, float]]
    sheet: tuple[QuotaRow, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.team_every or self.owners_every or self.teams_every or self.sheet)

    def owners(self) -> list[str]:
        named = set(self.owners_every) | {r.owner for r in self.sheet if r.owner is not None}
        return sorted(named)

    def amount(
        self, who: str | None, start: datetime, end: datetime, by: str = OWNER
    ) -> float | None:
        """The quota of `who` (None: the whole team) for [start, end), or None when unknown."""
        if by == TEAM:
            return _every(self.teams_every.get(who or "", {}), start, end)
        wanted = months_between(start, end)
        rows = [r for r in self.sheet if r.owner == who]
        covered = sum(_overlap((r.start, r.end), (start, end)) for r in rows)
        if rows and abs(covered - wanted) < 1e-9:
            return sum(
                r.amount * _overlap((r.start, r.end), (start, end)) / months_between(r.start, r.end)
                for r in rows
            )
        every = self.team_every if who is None else self.owners_every.get(who, {})
        amount = _every(every, start, end)
        if amount is None and who is None:
            parts = [self.amount(owner, start, end) for owner in self.owners()]
            known = [p for p in parts if p is not None]
            return sum(known) if known else None
        return amount


def _every(amounts: dict[str, float], start: datetime, end: datetime) -> float | None:
    """A per-kind amount (quarter = 360000) for [start, end): the kind of the same length when
    set, else the first set kind prorated by months."""
    if not amounts:
        return None
    wanted = months_between(start, end)
    for kind, amount in amounts.items():
        if abs(KIND_MONTHS[kind] - wanted) < 1e-9:
            return amount
    kind = next(k for k in ("month", "quarter", "year", "week", "day") if k in amounts)
    return amounts[kind] / KIND_MONTHS[kind] * wanted


def quota_book(config: Config | None) -> QuotaBook:
    """The project's quotas; the quota sheet is read once per config (a ConfigError names the
    row and column of a sheet that cannot be read)."""
    if config is None:
        return QuotaBook("quarter", {}, {}, {})
    cached = config.__dict__.get("_quota_book")
    if cached is not None:
        return cached
    plan = config.quota_plan
    sheet = (
        read_quota_sheet(config.resolve(plan.file), config.fiscal_year_start_month)
        if plan.file
        else ()
    )
    book = QuotaBook(plan.period, dict(config.quota), plan.owners, plan.teams, sheet)
    config.__dict__["_quota_book"] = book  # a frozen Config: cached beside its fields
    return book


def requires_quota(ds: Dataset, config: Config | None) -> str | None:
    if not quota_book(config if config is not None else ds.config):
        return "no quota configured ([quota] quarter = ..., [quota.owners] or a quota file)"
    return None


def as_of_moment(ctx: Context) -> datetime | None:
    """The moment quota periods are read at: the window's end (exclusive), else the data's
    as-of moment."""
    if ctx.grain.until is not None:
        return ctx.grain.until
    return ctx.ds.data_as_of()


def quota_period(ctx: Context) -> tuple[str, datetime, datetime]:
    """(label, start, end) of the quota period holding the as-of moment."""
    moment = as_of_moment(ctx)
    if moment is None:
        raise UsageError("no dated rows: the current quota period is unknown")
    kind = quota_book(ctx.config).period
    fiscal = ctx.grain.fiscal_year_start_month
    start = period_holding(moment - timedelta(microseconds=1), kind, fiscal)
    end = add_months(start, round(KIND_MONTHS[kind]))
    return period_name(start, kind, fiscal), start, end


def period_holding(moment: datetime, kind: str, fiscal_year_start_month: int = 1) -> datetime:
    """The first moment of the month, quarter or year (fiscal when it starts later) holding
    `moment`."""
    month = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if kind == "month":
        return month
    span = 3 if kind == "quarter" else 12
    since_fiscal_start = (month.month - fiscal_year_start_month) % 12
    return add_months(month, -(since_fiscal_start % span))


def period_name(start: datetime, kind: str, fiscal_year_start_month: int = 1) -> str:
    """2026-Q3, 2026-07 or 2026: a period as quota sheets name it (fiscal years by the year
    they begin in)."""
    if kind == "month":
        return f"{start:%Y-%m}"
    months = (start.month - fiscal_year_start_month) % 12
    year = start.year if start.month >= fiscal_year_start_month else start.year - 1
    if kind == "quarter":
        return f"{year}-Q{months // 3 + 1}"
    if kind == "year":
        return f"{year}"
    return f"{start:%Y-%m-%d}"


def split_by(ctx: Context) -> str | None:
    """The one breakdown a quota knows (owner or team), None for the team as a whole."""
    by = ctx.grain.by
    if not by:
        return None
    if by in ((OWNER,), (TEAM,)):
        return by[0]
    raise UsageError(f"quotas are set for the team, per owner and per team: not by {', '.join(by)}")


def one_currency(ctx: Context) -> None:
    """A quota is one amount: revenue in several currencies is compared only once converted."""
    if ctx.currency_keys("deals") and ctx.ds.frames["deals"]["currency"].n_unique() > 1:
        raise UsageError(
            "deals are in several currencies: a quota is one amount",
            hint='set [currency] base = "EUR" in crmkpi.toml',
        )


def elapsed_share(start: datetime, end: datetime, moment: datetime) -> float:
    """How much of [start, end) lies before `moment`, in calendar days (0..1)."""
    share = (moment - start) / (end - start)
    return min(1.0, max(0.0, share))


def won_in_periods(ctx: Context) -> tuple[pl.LazyFrame, list[str]]:
    """Won revenue per quota key and period: (frame with `__won`, its keys). Without a period,
    over the quota period holding the as-of moment (up to that moment)."""
    who = split_by(ctx)
    keys = [who] if who else []
    one_currency(ctx)
    won = ctx.money(ctx.table("deals").filter(WON), "deals")
    if ctx.grain.period:
        won = ctx.window(won, "closed_at")
        keys.append(PERIOD)
    else:
        _, start, end = quota_period(ctx)
        stop = min(end, as_of_moment(ctx) or end)
        won = won.filter((pl.col("closed_at") >= start) & (pl.col("closed_at") < stop))
    amount = pl.col("amount").sum().alias(WON_SO_FAR)
    frame = won.group_by(keys).agg(amount) if keys else won.select(amount)
    if who and not ctx.grain.period:
        # A rep with a quota and nothing won yet is at 0%, not unknown.
        named = (
            quota_book(ctx.config).owners()
            if who == OWNER
            else list(quota_book(ctx.config).teams_every)
        )
        if named:
            listed = pl.LazyFrame({who: named}).with_columns(
                pl.col(who).cast(ctx.ds.frames["deals"].schema[who])
            )
            frame = listed.join(frame, on=who, how="full", coalesce=True)
            frame = frame.with_columns(pl.col(WON_SO_FAR).fill_null(0.0))
    return frame, keys


def with_quota(ctx: Context, frame: pl.LazyFrame) -> pl.LazyFrame:
    """`frame` plus `__quota`, `__start`, `__end` and `__elapsed` of each row's period."""
    book = quota_book(ctx.config)
    who = split_by(ctx)
    moment = as_of_moment(ctx)
    if ctx.grain.period:
        ends = period_end(pl.col(PERIOD), ctx.grain)
        frame = frame.with_columns(pl.col(PERIOD).alias("__start"), ends.alias("__end"))
    else:
        label, start, end = quota_period(ctx)
        if who is None and book.amount(None, start, end) is None:
            raise UsageError(f"no quota for {label}")
        frame = frame.with_columns(
            pl.lit(start, dtype=pl.Datetime("us")).alias("__start"),
            pl.lit(end, dtype=pl.Datetime("us")).alias("__end"),
        )
    fields = ["__start", "__end", *([who] if who else [])]

    def quota_of(row: dict[str, object]) -> float | None:
        owner = row.get(who) if who else None
        amount = book.amount(owner, row["__start"], row["__end"], by=who or OWNER)  # type: ignore[arg-type]
        return None if amount is None else float(amount)

    def elapsed_of(row: dict[str, object]) -> float:
        return elapsed_share(row["__start"], row["__end"], moment or row["__end"])  # type: ignore[arg-type]

    as_struct = pl.struct([pl.col(f).cast(pl.String) if f == who else pl.col(f) for f in fields])
    return frame.with_columns(
        as_struct.map_elements(quota_of, return_dtype=pl.Float64).alias("__quota"),
        as_struct.map_elements(elapsed_of, return_dtype=pl.Float64).alias("__elapsed"),
    )


def _attainment(ctx: Context) -> pl.LazyFrame:
    frame, keys = won_in_periods(ctx)
    frame = with_quota(ctx, frame)
    return frame.select(*keys, safe_div(pl.col(WON_SO_FAR), pl.col("__quota")).alias("value"))


def _pacing(ctx: Context) -> pl.LazyFrame:
    frame, keys = won_in_periods(ctx)
    frame = with_quota(ctx, frame)
    attained = safe_div(pl.col(WON_SO_FAR), pl.col("__quota"))
    return frame.select(*keys, safe_div(attained, pl.col("__elapsed")).alias("value"))


_READ_AT = (
    "Without a period: the quota period holding the as-of moment ([quota] period, quarter by "
    "default), to date; with --by owner or --by team, each one's own quota. "
)

METRICS = [
    Metric(
        id="quota_attainment",
        label="Quota attainment",
        unit="ratio",
        direction="higher",
        needs=needs(("deals", ["status", "amount", "closed_at"])),
        kind=Kind.DERIVED,
        formula="revenue won in the quota period / quota of that period",
        compute=_attainment,
        period_date="closed_at",
        notes=_READ_AT + "Quotas: the quota sheet, else [quota] amounts per period kind "
        "prorated by months, else (team) the sum of the owners' quotas. The quota is taken to "
        "be in the base currency (or the deals' one currency).",
        reference=QUOTA_SOURCE + "; Gartner: closed-won revenue / quota of the period",
        null_reason="no quota for the period",
        requires=requires_quota,
        support="deals_won",
        headline_window="current quota period, to date",
    ),
    Metric(
        id="quota_pacing",
        label="Quota pacing",
        unit="ratio",
        direction="higher",
        needs=needs(("deals", ["status", "amount", "closed_at"])),
        kind=Kind.DERIVED,
        formula="quota_attainment to date / share of the period elapsed (calendar days)",
        compute=_pacing,
        period_date="closed_at",
        notes=_READ_AT + "The attainment the period ends at if revenue keeps coming at the "
        "pace so far: 30% won a third of the way through paces at 90%. A closed period paces "
        "at its attainment; a period not begun has no pace.",
        reference="Salesforce and HubSpot goal pacing: attainment to date against the share of "
        "the period gone",
        null_reason="no quota for the period, or the period has not begun",
        requires=requires_quota,
        support="deals_won",
        headline_window="current quota period, to date",
    ),
]
