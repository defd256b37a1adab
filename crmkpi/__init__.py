"""crmkpi: sales KPIs from any CRM's exports.

The public Python API is the same core the command line uses:

    import crmkpi
    ds = crmkpi.load("exports/")
    crmkpi.metric(ds, "win_rate", by="owner", period="month")

Names load lazily (module `__getattr__`), so `import crmkpi` and `crmkpi --help` stay instant:
Polars is imported only when data is touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from crmkpi.api import convert, explain, load, metric, query, report, table, tables
    from crmkpi.dataset import Dataset
    from crmkpi.errors import ConfigError, CrmkpiError, InputError, UsageError
    from crmkpi.metrics.kpi_rows import explain_rows

_PUBLIC = {
    "load": "crmkpi.api",
    "metric": "crmkpi.api",
    "table": "crmkpi.api",
    "report": "crmkpi.api",
    "query": "crmkpi.api",
    "tables": "crmkpi.api",
    "convert": "crmkpi.api",
    "explain": "crmkpi.api",
    "explain_rows": "crmkpi.metrics.kpi_rows",
    "Dataset": "crmkpi.dataset",
    "CrmkpiError": "crmkpi.errors",
    "InputError": "crmkpi.errors",
    "ConfigError": "crmkpi.errors",
    "UsageError": "crmkpi.errors",
}

__all__ = [
    "ConfigError",
    "CrmkpiError",
    "Dataset",
    "InputError",
    "UsageError",
    "__version__",
    "convert",
    "explain",
    "explain_rows",
    "load",
    "metric",
    "query",
    "report",
    "table",
    "tables",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'crmkpi' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
