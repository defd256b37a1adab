"""Where each KPI and table goes in the report: the section order every renderer follows.

KPIs are placed by the table they are computed from (deals -> Pipeline, subscriptions -> SaaS),
so a KPI added to the catalog appears in the report without touching this file; a table the
layout does not know yet lands in the last section, "More tables".
"""

from __future__ import annotations

from dataclasses import dataclass

from crmkpi.errors import UsageError

# Canonical table a KPI reads first -> the KPI table's group heading.
KPI_GROUPS = {
    "deals": "Pipeline",
    "stage_history": "Pipeline",
    "leads": "Leads",
    "activities": "Activities",
    "spend": "Marketing",
    "subscriptions": "SaaS",
    "nps": "NPS",
}
GROUP_ORDER = ("Pipeline", "Leads", "Activities", "Marketing", "SaaS", "NPS", "Other")


@dataclass(frozen=True)
class SectionSpec:
    id: str
    title: str
    kpi_groups: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    doc: str = ""


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "kpis",
        "Key figures",
        ("Pipeline", "Leads", "Activities", "Marketing", "Other"),
        doc="Every KPI the data allows, with target, status, change and trend.",
    ),
    SectionSpec("breakdown", "Breakdown", doc="KPIs by the --by columns and by --period."),
    SectionSpec("funnel", "Funnel", tables=("funnel", "stage_conversion_by_owner")),
    SectionSpec("owners", "Owners", tables=("owners",)),
    SectionSpec("sources", "Sources", tables=("sources",)),
    SectionSpec("lost_reasons", "Lost reasons", tables=("lost_reasons",)),
    SectionSpec("stuck_deals", "Stuck deals", tables=("stuck_deals",)),
    SectionSpec("deal_risk", "Deal risk", tables=("deal_risk",)),
    SectionSpec("forecast", "Forecast", tables=("forecast_quota", "forecast")),
    SectionSpec("saas", "SaaS", ("SaaS",), ("mrr_movements", "churn_reasons")),
    SectionSpec("nps", "NPS", ("NPS",)),
    SectionSpec(
        "leads", "Leads", tables=("lead_chain", "lead_qualification", "leads_never_contacted")
    ),
    SectionSpec("activities", "Activities", tables=("activities",)),
    SectionSpec("outliers", "Deal size outliers", tables=("deal_size_outliers",)),
    SectionSpec("more", "More tables", doc="Catalog tables not placed in a section above."),
)
SECTION_IDS = tuple(s.id for s in SECTIONS)
ALERTS_SECTION = "alerts"  # not a model section: alerts are Report.alerts, shown last
KNOWN_TABLES = {t for s in SECTIONS for t in s.tables}


def kpi_group(needs: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    return KPI_GROUPS.get(needs[0][0], "Other") if needs else "Other"


def check_sections(chosen: tuple[str, ...]) -> tuple[str, ...]:
    """The chosen section ids, validated; an empty choice means all of them."""
    known = (*SECTION_IDS, ALERTS_SECTION)
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise UsageError(f"unknown section {unknown[0]!r}", hint=f"use one of {', '.join(known)}")
    return chosen


def wants(chosen: tuple[str, ...], section_id: str) -> bool:
    return not chosen or section_id in chosen
