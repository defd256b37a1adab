"""Dataset + config -> Report: every KPI and table computed in one collect, then arranged.

This is the only place that collects metric plans; renderers only read the Report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from crmkpi.metrics import CATALOG, TABLE_CATALOG
from crmkpi.metrics.base import VALUE, Context, Grain
from crmkpi.report.model import KpiValue, Report, Section, TableResult

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


# Sections in the order the report shows them: (id, title, KPI ids, table ids).
SECTIONS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "headline",
        "Headline",
        (
            "deals_total",
            "deals_open",
            "deals_won",
            "deals_lost",
            "win_rate",
            "avg_deal_size",
            "revenue_won",
            "sales_cycle_days_median",
        ),
        (),
    ),
    ("owners", "Owners", (), ("owners",)),
)


def _version() -> str:
    from crmkpi import __version__

    return __version__


def build_report(
    ds: Dataset, config: Config | None = None, options: ReportOptions | None = None
) -> Report:
    """Compute every KPI and table the data allows, in one collect, and arrange the sections."""
    options = options or ReportOptions()
    grain = Grain(
        since=options.since,
        until=options.until,
        week_start=config.week_start if config else "monday",
        fiscal_year_start_month=config.fiscal_year_start_month if config else 1,
    )
    ctx = Context(ds, grain, config)
    skipped: list[dict[str, str]] = []
    plans: dict[str, pl.LazyFrame] = {}
    wanted_kpis = [k for _, _, kpis, _ in SECTIONS for k in kpis]
    wanted_tables = [t for _, _, _, tables in SECTIONS for t in tables]
    for kpi_id in wanted_kpis:
        reason = CATALOG[kpi_id].missing(ds)
        if reason:
            skipped.append({"kpi": kpi_id, "reason": reason})
        else:
            plans[f"kpi:{kpi_id}"] = CATALOG[kpi_id].compute(ctx)
    for table_id in wanted_tables:
        reason = TABLE_CATALOG[table_id].missing(ds)
        if reason:
            skipped.append({"table": table_id, "reason": reason})
        else:
            plans[f"table:{table_id}"] = TABLE_CATALOG[table_id].compute(ctx)
    results = dict(zip(plans, pl.collect_all(list(plans.values())), strict=True))

    kpis: dict[str, KpiValue] = {}
    for kpi_id in wanted_kpis:
        metric = CATALOG[kpi_id]
        frame = results.get(f"kpi:{kpi_id}")
        value = None if frame is None or frame.height == 0 else frame[VALUE][0]
        kpis[kpi_id] = KpiValue(
            kpi_id,
            metric.label,
            metric.unit,
            None if value is None else float(value),
            direction=metric.direction,
            reason=next((s["reason"] for s in skipped if s.get("kpi") == kpi_id), None),
        )
    tables = {
        table_id: TableResult(
            table_id, spec.title, results[f"table:{table_id}"], units=dict(spec.units)
        )
        for table_id, spec in TABLE_CATALOG.items()
        if f"table:{table_id}" in results
    }
    sections = [
        Section(sid, title, [k for k in kids if k in kpis], [t for t in tids if t in tables])
        for sid, title, kids, tids in SECTIONS
    ]
    for section in sections:
        if not section.kpis and not section.tables:
            section.skipped = next(
                (s["reason"] for s in skipped if s.get("table") in SECTIONS_TABLES(section.id)),
                "no data",
            )
    return Report(
        title=options.title or (config.title if config and config.title else "Sales KPIs"),
        generated_at=datetime.now().astimezone(),
        window=(options.since, options.until),
        period=options.period,
        inputs=list(ds.inputs),
        kpis=kpis,
        tables=tables,
        sections=sections,
        skipped=skipped,
        version=_version(),
    )


def SECTIONS_TABLES(section_id: str) -> tuple[str, ...]:  # noqa: N802
    return next(t for sid, _, _, t in SECTIONS if sid == section_id)
