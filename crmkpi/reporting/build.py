"""Dataset + config -> Report: every KPI and table computed in one collect per table, then
arranged.

This is the only place that collects metric plans; renderers only read the Report. Each KPI is
planned at several grains (the window, the previous window, the last periods for the trend, per
currency when currencies are mixed, per --by value, per --period) and the plans of each table run
in one `pl.collect_all`, so Polars shares the scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

import crmkpi
from crmkpi.errors import CrmkpiError, UsageError
from crmkpi.metrics import CATALOG, TABLE_CATALOG
from crmkpi.metrics.base import CURRENCY, PERIOD, PERIODS, Context, Grain, Metric, labels_as_text
from crmkpi.metrics.evaluate import metric_plans, plan
from crmkpi.metrics.quota import quota_book
from crmkpi.reporting import alerts, periods
from crmkpi.reporting.layout import (
    GROUP_ORDER,
    KNOWN_TABLES,
    SECTIONS,
    check_sections,
    kpi_group,
    wants,
)
from crmkpi.reporting.model import Comparison, KpiValue, Report, Section, TableResult
from crmkpi.reporting.values import (
    CURRENCY_UNITS,
    kpi_value,
    mixed_currencies,
    same_values,
    wide_table,
)

if TYPE_CHECKING:
    from crmkpi.config import Config
    from crmkpi.dataset import Dataset


@dataclass(frozen=True)
class ReportOptions:
    since: datetime | None = None
    until: datetime | None = None
    period: str | None = None
    by: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    title: str | None = None
    trend_periods: int = periods.TREND_PERIODS


def _version() -> str:
    return crmkpi.__version__


def _table_of(key: tuple[str, str]) -> str:
    """The table a KPI or table plan reads first: plans of one table share its scans."""
    spec = CATALOG.get(key[0]) or TABLE_CATALOG.get(key[0])
    return spec.needs[0][0] if spec is not None and spec.needs else ""


def _collect(plans: dict[Any, pl.LazyFrame]) -> tuple[dict[Any, pl.DataFrame], dict[Any, str]]:
    """The plans of each table in one collect (see `_collect_together`)."""
    by_table: dict[str, dict[Any, pl.LazyFrame]] = {}
    for key, lazy in plans.items():
        by_table.setdefault(_table_of(key), {})[key] = lazy
    results: dict[Any, pl.DataFrame] = {}
    failures: dict[Any, str] = {}
    for group in by_table.values():
        done, failed = _collect_together(group)
        results.update(done)
        failures.update(failed)
    return results, failures


def _collect_together(
    plans: dict[Any, pl.LazyFrame],
) -> tuple[dict[Any, pl.DataFrame], dict[Any, str]]:
    """Plans in one collect, so Polars shares their scans and passes; when one fails, each is
    collected alone so the rest survive and the failure is reported for its own KPI or table.

    Polars' search for shared subplans grows faster than the plans: over all ~110 plans of the
    sample report it cost 2.9 s CPU, over each table's plans 1.5 s in all, with the same
    results; at a million deals, where the rows dominate, both take the same time."""
    if not plans:
        return {}, {}
    plans = {key: labels_as_text(plan) for key, plan in plans.items()}
    try:
        return dict(zip(plans, pl.collect_all(list(plans.values())), strict=True)), {}
    except Exception:  # noqa: BLE001 - isolated below, every failure is reported by key
        results: dict[Any, pl.DataFrame] = {}
        failures: dict[Any, str] = {}
        for key, plan in plans.items():
            try:
                results[key] = plan.collect()
            except Exception as exc:  # noqa: BLE001
                failures[key] = f"could not compute: {type(exc).__name__}: {exc}".splitlines()[0]
        return results, failures


def _plans_at(
    ctx: Context, metrics: list[Metric], reasons: dict[str, str]
) -> dict[str, pl.LazyFrame]:
    """Plans of `metrics` at one grain, aggregates over the same rows fused into one group-by.

    A metric whose plan cannot be built at this grain (e.g. no date column to place it in
    periods) gets its reason in `reasons` and no plan; the others are planned regardless."""
    try:
        return metric_plans(ctx, metrics, reasons)
    except (CrmkpiError, LookupError, pl.exceptions.PolarsError):
        plans: dict[str, pl.LazyFrame] = {}
        for metric in metrics:
            try:
                plans.update(metric_plans(ctx, [metric], reasons))
            except (CrmkpiError, LookupError, pl.exceptions.PolarsError) as exc:
                reasons[metric.id] = str(exc)
        return plans


def build_report(
    ds: Dataset, config: Config | None = None, options: ReportOptions | None = None
) -> Report:
    """Compute every KPI and table the data allows, one collect per table, and arrange them."""
    options = options or ReportOptions()
    chosen = check_sections(options.sections)
    if options.period is not None and options.period not in PERIODS:
        raise UsageError(
            f"unknown period {options.period!r}", hint=f"use one of {', '.join(PERIODS)}"
        )
    periods.check_reportable(options.since, "--since")
    periods.check_reportable(options.until, "--until")
    if options.since and options.until and options.since >= options.until:
        raise UsageError("--since must be before --until")
    quota_book(config)  # a quota sheet that cannot be read stops the run, with its row
    base = Grain(
        since=options.since,
        until=options.until,
        week_start=config.week_start if config else "monday",
        fiscal_year_start_month=config.fiscal_year_start_month if config else 1,
        calendar=config.calendar if config else "gregorian",
    )
    spans = periods.table_spans(ds)
    span = periods.data_span(ds, spans)
    periods.check_within_span(options.since, options.until, span)
    first = options.since or span[0]
    end = options.until or (periods.end_of_data(span[1]) if span[1] else None)
    period = options.period or periods.default_period(first, end)
    period_grain = base.with_(period=period)
    starts = periods.trend_starts(end, period_grain, options.trend_periods) if end else []
    comparison: Comparison | None = None
    if first is not None and end is not None and (options.since or options.until):
        comparison = periods.window_comparison(first, end)
    elif starts and span[1] is not None:
        comparison = periods.period_comparison(starts, span[1], period_grain)

    # The breakdown section breaks down the key figures, so it needs them computed too.
    wanted_groups = {
        g
        for s in SECTIONS
        if wants(chosen, s.id) or (s.id == "kpis" and wants(chosen, "breakdown"))
        for g in s.kpi_groups
    }
    metrics = [m for m in CATALOG.values() if kpi_group(m.needs) in wanted_groups]
    metrics.sort(key=lambda m: GROUP_ORDER.index(kpi_group(m.needs)))
    mixed = mixed_currencies(ds, config)
    by = tuple(options.by)

    skipped: list[dict[str, str]] = []
    plans: dict[tuple[str, str], pl.LazyFrame] = {}
    ctx = Context(ds, base, config)
    reasons: dict[str, str] = {}
    grains: dict[str, Grain] = {"value": base}
    if starts:
        grains["trend"] = period_grain.with_(since=starts[0], until=end)
    if comparison and comparison.basis == "window" and comparison.previous:
        grains["previous"] = base.with_(since=comparison.previous[0], until=comparison.previous[1])
    if by:
        grains["by"] = base.with_(by=by)
    if options.period:
        grains["by_period"] = period_grain
    computable = metrics
    by_reasons: dict[str, str] = {}
    for kind, grain in grains.items():
        found = _plans_at(
            Context(ds, grain, config),
            computable,
            {"value": reasons, "by": by_reasons}.get(kind, {}),
        )
        plans.update({(kpi_id, kind): plan for kpi_id, plan in found.items()})
        if kind == "value":
            computable = [m for m in metrics if m.id in found]
    skipped += [{"kpi": m.id, "reason": reasons[m.id]} for m in metrics if m.id in reasons]
    skipped += [
        {"file": path, "reason": "files not used (crmkpi inspect FILE says why)", "detail": why}
        for path, why in ds.unused
    ]
    for metric in computable:
        table = metric.needs[0][0] if metric.needs else ""
        summed_across = metric.unit in CURRENCY_UNITS and table in mixed and not metric.monetary
        if summed_across and metric.missing(ds, (CURRENCY,), config) is None:
            plans[(metric.id, "by_currency")] = plan(
                metric, Context(ds, base.with_(by=(CURRENCY,)), config)
            )

    table_ids = [
        t
        for s in SECTIONS
        if wants(chosen, s.id)
        for t in (s.tables if s.id != "more" else sorted(set(TABLE_CATALOG) - KNOWN_TABLES))
        if t in TABLE_CATALOG
    ]
    notes: dict[str, str | None] = {}
    for table_id in table_ids:
        reason = TABLE_CATALOG[table_id].missing(ds, config=config)
        if reason and not TABLE_CATALOG[table_id].listed_when_missing:
            continue
        if reason:
            skipped.append(
                {"table": table_id, "reason": reason, "title": TABLE_CATALOG[table_id].title}
            )
        else:
            spec = TABLE_CATALOG[table_id]
            plans[(table_id, "table")] = spec.compute(ctx)
            if spec.note is not None:
                notes[table_id] = spec.note(ctx)

    results, failures = _collect(plans)
    for (name, kind), reason in failures.items():
        if kind == "value":
            skipped.append({"kpi": name, "reason": reason})
        elif kind == "table":
            skipped.append({"table": name, "reason": reason, "title": TABLE_CATALOG[name].title})

    kpis = {
        m.id: kpi_value(m, results, mixed, ds, comparison, starts, period_grain, end, config)
        for m in metrics
    }
    for entry in skipped:
        if "kpi" in entry:
            kpis[entry["kpi"]].reason = entry["reason"]
            kpis[entry["kpi"]].value = None
    tables: dict[str, TableResult] = {}
    if by:
        frame = wide_table(
            {m.id: results[(m.id, "by")] for m in metrics if (m.id, "by") in results}, list(by)
        )
        if frame is None and computable:
            raise UsageError(
                f"no KPI can be broken down by {', '.join(by)}",
                hint=next(iter(by_reasons.values()), None),
            )
        if frame is not None:
            name = "by_" + "_".join(by)
            left_out = sorted({reason for reason in by_reasons.values()})
            tables[name] = TableResult(
                name, f"KPIs by {', '.join(by)}", frame, units={m.id: m.unit for m in metrics},
                note=f"not broken down: {'; '.join(left_out)}" if left_out else None,
            )  # fmt: skip
    if options.period:
        frame = wide_table(
            {m.id: results[(m.id, "by_period")] for m in metrics if (m.id, "by_period") in results},
            [PERIOD],
        )
        if frame is not None:
            tables["by_period"] = TableResult(
                "by_period", f"KPIs by {period}", frame, units={m.id: m.unit for m in metrics}
            )
    for table_id in table_ids:
        if (table_id, "table") in results:
            spec = TABLE_CATALOG[table_id]
            frame, note = results[(table_id, "table")], notes.get(table_id)
            if spec.report_rows is not None and frame.height > spec.report_rows:
                kept = f"the first {spec.report_rows:,} of {frame.height:,} rows"
                note = f"{kept}; `crmkpi metric {table_id}` lists them all" + (
                    f"; {note}" if note else ""
                )
                frame = frame.head(spec.report_rows)
            tables[table_id] = TableResult(
                table_id, spec.title, frame, units=dict(spec.units), doc=spec.doc, note=note,
                layout=spec.layout,
            )  # fmt: skip
    report = Report(
        title=options.title or (config.title if config and config.title else "Sales KPIs"),
        generated_at=datetime.now().astimezone(),
        window=(options.since, options.until),
        period=period,
        calendar=period_grain.calendar,
        inputs=list(ds.inputs),
        kpis=kpis,
        tables=tables,
        sections=_sections(chosen, kpis, tables, skipped, repeated(metrics, kpis)),
        skipped=skipped,
        version=_version(),
        data_span=span,
        comparison=comparison,
        by=by,
        trend_partial=periods.last_period_partial(starts, period_grain, end),
        as_of=ds.data_as_of(),
        table_spans=spans,
    )
    return finish_report(report, ds, config)


def repeated(metrics: list[Metric], kpis: dict[str, KpiValue]) -> set[str]:
    """KPIs that repeat another on this data (deals = deals created when every deal is
    dated): still in the JSON and the workbook, but not a second row in the sections."""
    return {m.id for m in metrics if m.repeats in kpis and same_values(kpis[m.id], kpis[m.repeats])}


def _sections(
    chosen: tuple[str, ...],
    kpis: dict[str, KpiValue],
    tables: dict[str, TableResult],
    skipped: list[dict[str, str]],
    hidden: frozenset[str] | set[str] = frozenset(),
) -> list[Section]:
    """The layout filled with what was computed; a section with nothing says why."""
    out: list[Section] = []
    for spec in SECTIONS:
        if not wants(chosen, spec.id):
            continue
        kpi_ids = [k for k, v in kpis.items() if v.group in spec.kpi_groups]
        if spec.id == "breakdown":
            table_ids = [t for t in tables if t.startswith("by_")]
        elif spec.id == "more":
            table_ids = sorted(set(TABLE_CATALOG) - KNOWN_TABLES)
        else:
            table_ids = [t for t in spec.tables if t in TABLE_CATALOG]
        if not kpi_ids and not table_ids:
            continue  # nothing in the catalog for it: not a gap in the data
        shown_kpis = [
            k
            for k in kpi_ids
            if (kpis[k].reason is None or kpis[k].by_currency) and k not in hidden
        ]
        shown_tables = [t for t in table_ids if t in tables]
        section = Section(spec.id, spec.title, shown_kpis, shown_tables)
        if not shown_kpis and not shown_tables and spec.id == "more":
            continue  # the catch-all section: nothing placed in it is not a gap
        if not shown_kpis and not shown_tables:
            reasons = [
                s["reason"]
                for s in skipped
                if s.get("kpi") in kpi_ids or s.get("table") in table_ids
            ]
            section.skipped = reasons[0] if reasons else "no data"
        out.append(section)
    return out


def finish_report(report: Report, ds: Dataset, config: Config | None) -> Report:
    """The one place that adds what is judged rather than computed: targets and status,
    alerts, and deltas against the history of past runs. Each step reads the finished KPI
    values and writes KpiValue.target/status/history_previous or Report.alerts."""
    alerts.check_report(report, ds, config)
    return report
