"""The KPI catalog: every Metric and TableSpec declared in this package's modules.

Adding a KPI means adding one declaration to the METRICS list of one module below.
"""

from __future__ import annotations

from crmkpi.metrics import pipeline
from crmkpi.metrics.base import Context, Grain, Metric, TableSpec

MODULES = (pipeline,)

CATALOG: dict[str, Metric] = {m.id: m for mod in MODULES for m in getattr(mod, "METRICS", ())}
TABLE_CATALOG: dict[str, TableSpec] = {
    t.id: t for mod in MODULES for t in getattr(mod, "TABLES", ())
}

__all__ = ["CATALOG", "TABLE_CATALOG", "Context", "Grain", "Metric", "TableSpec"]
