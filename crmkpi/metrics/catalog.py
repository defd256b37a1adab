"""The KPI catalog: every Metric and TableSpec declared in this package's modules, by id."""

from __future__ import annotations

from crmkpi.metrics import (
    acquisition,
    activities,
    deal_tables,
    funnel,
    leads,
    money,
    outlook,
    pipeline,
    satisfaction,
    subscriptions,
    team,
)
from crmkpi.metrics.base import Metric, TableSpec

MODULES = (
    pipeline,
    outlook,
    funnel,
    deal_tables,
    leads,
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
