"""The KPI catalog: every Metric and TableSpec declared in this package's modules.

Adding a KPI means adding one declaration to the METRICS (or TABLES) list of one module below;
docs/metrics.md and `crmkpi metrics` read the catalog.
"""

from __future__ import annotations

from crmkpi.metrics.base import Context, Grain, Metric, TableSpec
from crmkpi.metrics.catalog import CATALOG, MODULES, TABLE_CATALOG, lookup_kpi, unknown_id
from crmkpi.metrics.evaluate import evaluate, evaluate_tables, metric_plans, table_plans

__all__ = [
    "CATALOG",
    "MODULES",
    "TABLE_CATALOG",
    "Context",
    "Grain",
    "Metric",
    "TableSpec",
    "evaluate",
    "evaluate_tables",
    "lookup_kpi",
    "metric_plans",
    "table_plans",
    "unknown_id",
]
