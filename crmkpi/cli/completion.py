"""Shell completion callbacks: KPI ids, table ids, columns and periods.

Typer runs these only when the shell asks for completions, so the catalog (and Polars with it)
is imported inside them, never when the CLI starts.
"""

from __future__ import annotations

PERIODS = ("day", "week", "month", "quarter", "year")


def _kpis() -> list[tuple[str, str]]:
    from crmkpi.metrics import CATALOG, TABLE_CATALOG

    items = [(m.id, m.label) for m in CATALOG.values()]
    items += [(t.id, f"table: {t.title}") for t in TABLE_CATALOG.values()]
    return items


def _paths(incomplete: str) -> list[str]:
    """Files and folders starting with `incomplete` (folders end in /, to keep descending)."""
    import glob
    import os

    found = sorted(glob.glob(glob.escape(os.path.expanduser(incomplete)) + "*"))
    return [p + "/" if os.path.isdir(p) else p for p in found][:200]


def complete_kpi_ids(incomplete: str) -> list[tuple[str, str]]:
    """KPI and table ids for `crmkpi explain ID`."""
    return [(name, label) for name, label in _kpis() if name.startswith(incomplete)]


def complete_kpi_ids_or_paths(incomplete: str) -> list[tuple[str, str] | str]:
    """KPI and table ids first; once none matches, the files and folders to read."""
    ids: list[tuple[str, str] | str] = list(complete_kpi_ids(incomplete))
    if ids and not incomplete.startswith((".", "/", "~")):
        return ids
    return [*ids, *_paths(incomplete)]


def complete_paths(incomplete: str) -> list[str]:
    return _paths(incomplete)


def complete_columns(incomplete: str) -> list[tuple[str, str]]:
    """Canonical column names (for --by), after the last comma of a list."""
    from crmkpi.schema import TABLES

    head, _, last = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    seen: dict[str, str] = {}
    for table in TABLES.values():
        for column in table.columns:
            seen.setdefault(column.name, f"{table.name}: {column.doc}")
    return [(prefix + name, doc) for name, doc in sorted(seen.items()) if name.startswith(last)]


def complete_periods(incomplete: str) -> list[str]:
    return [p for p in PERIODS if p.startswith(incomplete)]


def complete_table_names(incomplete: str) -> list[tuple[str, str]]:
    """Canonical table names (for SQL in `crmkpi query`, after the last space)."""
    from crmkpi.schema import TABLES

    head, _, last = incomplete.rpartition(" ")
    prefix = head + " " if head else ""
    names = [(t.name, t.doc) for t in TABLES.values()] + [("rejects", "rows set aside")]
    return [(prefix + name, doc) for name, doc in names if name.startswith(last)]
