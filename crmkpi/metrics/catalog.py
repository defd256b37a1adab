"""The KPI catalog: every Metric and TableSpec declared in this package's modules, by id."""

from __future__ import annotations

import difflib

from crmkpi.errors import UsageError
from crmkpi.metrics import (
    acquisition,
    activities,
    deal_tables,
    forecast,
    funnel,
    lead_chain,
    leads,
    money,
    outlook,
    pipeline,
    quota,
    risk,
    satisfaction,
    subscriptions,
    team,
)
from crmkpi.metrics.base import Metric, TableSpec

MODULES = (
    pipeline,
    quota,
    forecast,
    outlook,
    funnel,
    deal_tables,
    risk,
    leads,
    lead_chain,
    activities,
    acquisition,
    subscriptions,
    satisfaction,
    team,
    money,
)

CATALOG: dict[str, Metric] = {m.id: m for mod in MODULES for m in getattr(mod, "METRICS", ())}
TABLE_CATALOG: dict[str, TableSpec] = {
    t.id: t for mod in MODULES for t in getattr(mod, "TABLES", ())
}


def lookup_kpi(kpi: str) -> Metric:
    """The Metric declaration of `kpi`, or a UsageError naming the nearest ids."""
    metric = CATALOG.get(kpi)
    if metric is None:
        if kpi in TABLE_CATALOG:
            raise UsageError(f"{kpi} is a report table, not a KPI", hint="explain takes a KPI id")
        raise unknown_id(kpi)
    return metric


def unknown_id(name: str) -> UsageError:
    """An unknown KPI or table id, with the nearest known ids as a hint."""
    known = [*CATALOG, *TABLE_CATALOG]
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else "see `crmkpi metrics`"
    return UsageError(f"unknown KPI or table id {name!r}", hint=hint)
