"""Plan many metrics and tables at once and collect them in one `pl.collect_all`.

Aggregates over the same rows (same table, date, filter and currency handling) are fused into
one group-by, so asking for ten deal KPIs reads the deals once; the other plans share their scans
through Polars' common-subplan elimination.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import polars as pl

from crmkpi.errors import UsageError
from crmkpi.metrics.base import (
    Aggregate,
    Context,
    Grain,
    Metric,
    fused_key,
    fused_value,
    labels_as_text,
)
from crmkpi.metrics.breakdown import finish
from crmkpi.metrics.catalog import CATALOG, TABLE_CATALOG

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.dataset import Dataset


def _lookup(catalog: dict, ids: Iterable[str], kind: str) -> list:
    out = []
    for item in ids:
        if item not in catalog:
            close = difflib.get_close_matches(item, list(catalog), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"see `crmkpi {kind}s`"
            raise UsageError(f"unknown {kind} {item!r}", hint=hint)
        out.append(catalog[item])
    return out


def metric_plans(
    ctx: Context, metrics: Iterable[Metric], skipped: dict[str, str] | None = None
) -> dict[str, pl.LazyFrame]:
    """A finished lazy plan per computable metric; the reason for each other one in `skipped`."""
    fused: dict[tuple[object, ...], list[Metric]] = {}
    plans: dict[str, pl.LazyFrame] = {}
    computable: list[Metric] = []
    for metric in metrics:
        reason = metric.missing(ctx.ds, ctx.grain.by, ctx.config)
        if reason is not None:
            if skipped is None:
                raise UsageError(f"cannot compute {metric.id}: {reason}")
            skipped[metric.id] = reason
            continue
        computable.append(metric)
        if isinstance(metric.compute, Aggregate):
            fused.setdefault(metric.compute.fusion_key(ctx), []).append(metric)
    shared_by_key = {key: _fused_pass(ctx, group) for key, group in fused.items()}
    for metric in computable:
        if isinstance(metric.compute, Aggregate):
            continue
        try:
            plans[metric.id] = plan(metric, ctx)
        except UsageError as exc:  # a compute that found its inputs lacking
            if skipped is None:
                raise UsageError(f"cannot compute {metric.id}: {exc.message}") from exc
            skipped[metric.id] = exc.message
    for key, group in fused.items():
        for metric in group:
            one = fused_value(ctx, shared_by_key[key], metric)
            plans[metric.id] = finish(metric, ctx, one)
    return plans


def _fused_pass(ctx: Context, group: list[Metric]) -> pl.LazyFrame:
    """One group-by for every aggregate of `group` (same rows), a column per metric id.

    Registered in the shared cache under the grain, so a metric combined from some of them
    (pipeline velocity from win rate, deal size...) reads the same pass."""
    first = group[0].compute
    assert isinstance(first, Aggregate)
    keys = [*ctx.grain.keys, *first.extra_keys(ctx)]
    values = [m.compute.value.expr().alias(m.id) for m in group]  # type: ignore[union-attr]
    rows = first.rows(ctx)
    # Each metric keeps one column of the group-by; without the cache node projection
    # pushdown gives every metric its own group-by and the passes are no longer shared.
    shared = (rows.group_by(keys).agg(values) if keys else rows.select(values)).cache()
    for metric in group:
        ctx.cache[fused_key(ctx, metric)] = shared
    return shared


def plan(metric: Metric, ctx: Context) -> pl.LazyFrame:
    """`metric`'s compute finished by the shared machinery: empty periods filled, change added."""
    return finish(metric, ctx, metric.compute(ctx))


def table_plans(
    ctx: Context, specs: Iterable, skipped: dict[str, str] | None = None
) -> dict[str, pl.LazyFrame]:
    plans: dict[str, pl.LazyFrame] = {}
    for spec in specs:
        reason = spec.missing(ctx.ds, ctx.grain.by, ctx.config)
        if reason is not None:
            if skipped is None:
                raise UsageError(f"cannot compute table {spec.id}: {reason}")
            skipped[spec.id] = reason
            continue
        try:
            plans[spec.id] = spec.compute(ctx)
        except UsageError as exc:
            if skipped is None:
                raise UsageError(f"cannot compute table {spec.id}: {exc.message}") from exc
            skipped[spec.id] = exc.message
    return plans


# Shared intermediates (see crmkpi.metrics.stages) worth keeping once computed: a later call on
# the same data (the tables after the KPIs, another grain) starts from them.
_KEEP = ("deal_reach:", "history_", "stage_days")
_KEPT = "__kept"


def collect(ctx: Context, plans: dict[str, pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    """Collect `plans` in one `pl.collect_all`, keeping the shared intermediates they built.

    With no plans there is nothing to share the intermediates with: they are left unbuilt
    (a report asks for no extra KPI most of the time, and building them costs seconds)."""
    if not plans:
        return {}
    kept: set[str] = ctx.cache.setdefault(_KEPT, set())
    extra = {
        key: plan
        for key, plan in ctx.cache.items()
        if isinstance(plan, pl.LazyFrame) and key.startswith(_KEEP) and key not in kept
    }
    frames = pl.collect_all([*map(labels_as_text, plans.values()), *extra.values()])
    for key, frame in zip(extra, frames[len(plans) :], strict=True):
        ctx.cache[key] = frame.lazy()
        kept.add(key)
    return dict(zip(plans, frames[: len(plans)], strict=True))


def _context(ds: Dataset, grain: Grain | None, config: Config | None) -> Context:
    config = config if config is not None else ds.config
    grain = grain or Grain()
    calendar_unset = (
        grain.week_start == "monday"
        and grain.fiscal_year_start_month == 1
        and grain.calendar == "gregorian"
    )
    if config is not None and calendar_unset:
        grain = grain.with_(
            week_start=config.week_start,
            fiscal_year_start_month=config.fiscal_year_start_month,
            calendar=config.calendar,
        )
    return Context(ds, grain, config)


def evaluate(
    ds: Dataset,
    ids: Iterable[str],
    grain: Grain | None = None,
    config: Config | None = None,
    *,
    skipped: dict[str, str] | None = None,
) -> dict[str, pl.DataFrame]:
    """Compute the metrics `ids` at `grain`, all collected together.

    Each frame holds the grain's keys (`currency` too for monetary metrics without a base
    currency), `value`, and per period `previous` and `change`. A metric the data cannot give
    raises UsageError naming why, unless a `skipped` dict is passed to receive the reasons.
    """
    ctx = _context(ds, grain, config)
    return collect(ctx, metric_plans(ctx, _lookup(CATALOG, ids, "metric"), skipped))


def evaluate_tables(
    ds: Dataset,
    ids: Iterable[str],
    grain: Grain | None = None,
    config: Config | None = None,
    *,
    skipped: dict[str, str] | None = None,
) -> dict[str, pl.DataFrame]:
    """Compute the tables `ids` (funnel, owners, sources...), all collected together."""
    ctx = _context(ds, grain, config)
    return collect(ctx, table_plans(ctx, _lookup(TABLE_CATALOG, ids, "table"), skipped))
