"""Every English message a report can show, from the catalogs (KPI labels by id, table,
section and group titles, column headings) and from the strings the code marks with `t`.

The completeness test checks each shipped language against this list; `python -m
crmkpi.reporting.i18n.msgids` prints it as a .po template to translate a new language from.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from crmkpi.io.quality import FACTS
from crmkpi.metrics import CATALOG, TABLE_CATALOG
from crmkpi.reporting.alerts import ROW_NOUNS
from crmkpi.reporting.format import COLUMN_LABELS, english_column_label
from crmkpi.reporting.i18n.localize import PERIODS
from crmkpi.reporting.i18n.values import UNIT_TEMPLATES
from crmkpi.reporting.layout import GROUP_ORDER, SECTIONS
from crmkpi.reporting.model import STATUSES

Msgid = tuple[str | None, str]  # (context, English text)
REPORTING = Path(__file__).resolve().parents[1]
DIRECTIONS = ("higher", "lower", "neutral")
MARKERS = ("t", "message")  # the functions whose first argument is a message id
# Texts the code passes to `t` through a variable, listed here since no scan can see them.
FIXED = (
    "KPIs by {columns}",
    "Sales KPIs",
    "all data",
    "latest month",
    "as of {date}",
    "{month} (latest month)",
    "vs",
    "a wider terminal or --format md shows them",
)


def catalog_msgids() -> Iterator[Msgid]:
    for kpi_id, metric in CATALOG.items():
        yield kpi_id, metric.label
        if metric.short_label:
            yield f"{kpi_id}.short", metric.short_label
        if metric.headline_window:
            yield None, metric.headline_window
    for spec in TABLE_CATALOG.values():
        yield None, spec.title
        for column in spec.units:
            yield "column", english_column_label(column)
    for section in SECTIONS:
        yield None, section.title
    yield from ((None, group) for group in GROUP_ORDER)
    yield from (("column", label) for label in COLUMN_LABELS.values())
    yield from (("unit", template) for template, _ in UNIT_TEMPLATES.values())
    yield "unit", "{amount}/d"
    yield from (("status", status) for status in STATUSES)
    yield from (("period", period) for period in PERIODS)
    yield from (("direction", direction) for direction in DIRECTIONS)
    yield from (("rows", noun) for noun in (*ROW_NOUNS.values(), "rows"))
    yield from (("fact", words) for fact, words in FACTS.items() if fact != "mixed_currencies")
    yield from ((None, text) for text in FIXED)


def marked_msgids(folder: Path = REPORTING) -> Iterator[Msgid]:
    """The literal first arguments of `t(...)` and `message(...)` calls (and a literal
    context after it)."""
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in MARKERS):
                continue
            args = node.args
            if not args or not isinstance(args[0], ast.Constant):
                continue
            context = args[1].value if len(args) > 1 and isinstance(args[1], ast.Constant) else None
            yield context, args[0].value


def english_msgids(columns: tuple[str, ...] = ()) -> list[Msgid]:
    """Every message to translate; `columns` adds headings of table columns seen in a report."""
    found = [*catalog_msgids(), *marked_msgids()]
    found += [("column", english_column_label(c)) for c in columns]
    return list(dict.fromkeys(found))


def _po_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


if __name__ == "__main__":
    for context, msgid in english_msgids():
        if context:
            print(f"msgctxt {_po_text(context)}")
        print(f'msgid {_po_text(msgid)}\nmsgstr ""\n')
