"""The report model with its own words in the reader's language: the one place where KPI
labels, groups, section and table titles and the notes the tool writes are translated.

Data (names, stages, ids) stays as exported; KPI ids, units and values are untouched, so
every format reads the same numbers in any language.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any, TypeVar

from crmkpi.reporting.i18n.active import number_format, t, use_language
from crmkpi.reporting.i18n.catalog import SOURCE_LANGUAGE
from crmkpi.reporting.model import Alert, Comparison, KpiValue, Report, Section, TableResult

Rendered = TypeVar("Rendered")
# Window texts the builder writes (crmkpi.reporting.values), as message templates.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = re.compile(rf"\b({'|'.join(MONTHS)}) (\d{{4}})\b")
_BY = re.compile(r"^KPIs by (.+)$")
PERIODS = ("day", "week", "month", "quarter", "year")
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


def comparison_words(text: str) -> str:
    """ "2026-Q3 vs 2026-Q2" with the reader's word for "vs" and its digits."""
    words = re.sub(r"(^| )vs ", lambda m: f"{m.group(1)}{t('vs')} ", text)
    return month_words(words)


def month_words(text: str) -> str:
    """Months the builder names in English ("May 2025", crmkpi.reporting.periods) as the
    reader's locale names them, and the reader's digits."""
    numbers = number_format()
    if numbers is None:
        return text
    text = _MONTH.sub(
        lambda m: numbers.month(date(int(m.group(2)), MONTHS.index(m.group(1)) + 1, 1)), text
    )
    return numbers.native(text)


def _kpi(kpi: KpiValue) -> KpiValue:
    target = kpi.target_words() if kpi.target_words else kpi.target
    return replace(
        kpi,
        label=kpi_label(kpi.id, kpi.label),
        short_label=t(kpi.short_label, f"{kpi.id}.short") if kpi.short_label else "",
        group=t(kpi.group),
        window=window_text(kpi.window),
        target=digits(target) if target else target,
        trend=[(digits(period), value) for period, value in kpi.trend],
    )


def _table(table: TableResult) -> TableResult:
    return replace(
        table, title=table_title(table.title), note=t(table.note) if table.note else None
    )


def table_title(title: str) -> str:
    """A catalog table's title, or a breakdown's ("KPIs by owner, source", "KPIs by month")
    with its columns or period in the reader's words."""
    found = _BY.match(title)
    if not found:
        return t(title)
    names = [
        t(name, "period") if name in PERIODS else by_column(name) for name in found[1].split(", ")
    ]
    return t("KPIs by {columns}", columns=", ".join(names))


def by_column(name: str) -> str:
    words = name.replace("_", " ")
    return t(words[:1].upper() + words[1:], "column")


def _section(section: Section) -> Section:
    skipped = t(section.skipped) if section.skipped else section.skipped
    return replace(section, title=t(section.title), skipped=skipped)


def _comparison(comparison: Comparison | None) -> Comparison | None:
    if comparison is None:
        return None
    return replace(
        comparison,
        label=comparison_words(comparison.label),
        current_name=month_words(comparison.current_name),
        previous_name=month_words(comparison.previous_name),
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
        alerts=[_alert(alert) for alert in report.alerts],
    )


def _alert(alert: Alert) -> Alert:
    """An alert said in the reader's words when it was written as a message template; other
    alerts (data conflicts, empty periods) keep their English text."""
    return replace(alert, message=alert.text.text()) if alert.text else alert


def in_report_language(
    render: Callable[..., Rendered],
) -> Callable[..., Rendered]:
    """A format's `render(report, ...)` that draws the report in its own language: the model's
    text translated first, the renderer's own words and numbers through `t` and the locale."""

    @functools.wraps(render)
    def rendered(report: Report, *args: Any, **options: Any) -> Rendered:
        language = getattr(report, "language", SOURCE_LANGUAGE)
        if language == SOURCE_LANGUAGE:
            return render(report, *args, **options)
        with use_language(language, report.digits):
            return render(localized(report), *args, **options)

    return rendered
