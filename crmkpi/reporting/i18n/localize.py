"""The report model with its own words in the reader's language: the one place where KPI
labels, groups, section and table titles and the notes the tool writes are translated.

Data (names, stages, ids) stays as exported; KPI ids, units and values are untouched, so
every format reads the same numbers in any language.
"""

from __future__ import annotations

import re
from dataclasses import replace

from crmkpi.reporting.i18n.active import number_format, t
from crmkpi.reporting.model import Comparison, KpiValue, Report, Section, TableResult

# Window texts the builder writes (crmkpi.reporting.values), as message templates.
_AS_OF = re.compile(r"^as of (\d{4}-\d{2}-\d{2})$")
_LATEST_MONTH = re.compile(r"^(\d{4}-\d{2}) \(latest month\)$")


def kpi_label(kpi_id: str, english: str) -> str:
    """A KPI's label, looked up by its id (the catalog entry's context)."""
    return t(english, kpi_id)


def digits(text: str) -> str:
    numbers = number_format()
    return text if numbers is None else numbers.native(text)


def window_text(window: str) -> str:
    if not window:
        return window
    found = _AS_OF.match(window)
    if found:
        return t("as of {date}", date=digits(found.group(1)))
    found = _LATEST_MONTH.match(window)
    if found:
        return t("{month} (latest month)", month=digits(found.group(1)))
    return digits(t(window))


def _kpi(kpi: KpiValue) -> KpiValue:
    return replace(
        kpi,
        label=kpi_label(kpi.id, kpi.label),
        group=t(kpi.group),
        window=window_text(kpi.window),
        target=digits(kpi.target) if kpi.target else kpi.target,
        trend=[(digits(period), value) for period, value in kpi.trend],
    )


def _table(table: TableResult) -> TableResult:
    return replace(table, title=t(table.title), note=t(table.note) if table.note else None)


def _section(section: Section) -> Section:
    skipped = t(section.skipped) if section.skipped else section.skipped
    return replace(section, title=t(section.title), skipped=skipped)


def _comparison(comparison: Comparison | None) -> Comparison | None:
    if comparison is None:
        return None
    return replace(
        comparison,
        label=digits(comparison.label.replace(" vs ", f" {t('vs')} ")),
        current_name=digits(comparison.current_name),
        previous_name=digits(comparison.previous_name),
    )


def localized(report: Report) -> Report:
    """A copy of `report` whose own words are in the active language."""
    skipped = [
        {
            **entry,
            "reason": t(entry["reason"]),
            **({"title": t(entry["title"])} if "title" in entry else {}),
        }
        for entry in report.skipped
    ]
    return replace(
        report,
        title=t(report.title),
        kpis={kpi_id: _kpi(kpi) for kpi_id, kpi in report.kpis.items()},
        tables={table_id: _table(table) for table_id, table in report.tables.items()},
        sections=[_section(section) for section in report.sections],
        skipped=skipped,
        comparison=_comparison(report.comparison),
    )
