"""The KPI catalog: every Metric and TableSpec declared in this package's modules.

Adding a KPI means adding one declaration to the METRICS (or TABLES) list of one module below;
docs/metrics.md and `crmkpi metrics` read the catalog.
"""

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
from crmkpi.metrics.base import Context, Grain, Metric, TableSpec
from crmkpi.metrics.evaluate import evaluate, evaluate_tables, metric_plans, table_plans

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

__all__ = [
    "CATALOG",
    "TABLE_CATALOG",
    "Context",
    "Grain",
    "Metric",
    "TableSpec",
    "evaluate",
    "evaluate_tables",
    "metric_plans",
    "table_plans",
]
