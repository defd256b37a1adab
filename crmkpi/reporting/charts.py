"""Which column of a report table each chart plots, and the title that says so.

HTML and Excel draw the same charts from this one choice, so a chart's title can be checked
against its data: the owners chart plots what the owners are ranked by, never the rank.
"""

from __future__ import annotations

from dataclasses import dataclass

from crmkpi.reporting.format import column_label
from crmkpi.reporting.model import TableResult

# table id -> (measures in order of preference, what the categories are, chart kind)
MEASURES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "funnel": (("reached",), "stage", "bar"),
    "owners": (("revenue_won", "deals"), "owner", "bar"),  # what team.py ranks by
    "sources": (("leads", "deals_won"), "source", "bar"),
    "lost_reasons": (("deals",), "lost reason", "bar"),
    "churn_reasons": (("customers",), "churn reason", "bar"),
}
MRR_MOVEMENTS = ("new", "expansion", "reactivation", "contraction", "churned")
TITLES = {"reached": "Deals reaching each stage", "deals": "Deals"}


@dataclass(frozen=True)
class Chart:
    """A chart of one table: categories from `category`, one series per measure column."""

    title: str
    category: str
    measures: tuple[str, ...]
    kind: str  # "bar" (horizontal, one measure) or "col" (stacked columns, several)


def chart_for(result: TableResult) -> Chart | None:
    """The chart of a table, or None when the table has no chart or nothing it can plot
    honestly (amounts in several currencies are not put on one axis)."""
    frame = result.frame
    if frame.height == 0:
        return None
    if result.id == "mrr_movements":
        measures = tuple(c for c in MRR_MOVEMENTS if c in frame.columns)
        if not measures or _currencies(result) > 1:
            return None
        return Chart("MRR movements by period", "period", measures, "col")
    if result.id not in MEASURES:
        return None
    wanted, what, kind = MEASURES[result.id]
    measure = next((c for c in wanted if c in frame.columns), None)
    category = frame.columns[0]
    if measure is None or frame[category].dtype.is_numeric():
        return None
    if result.units.get(measure) == "currency" and _currencies(result) > 1:
        return None
    if measure == "reached":
        title = TITLES[measure]
    else:
        title = f"{TITLES.get(measure, column_label(measure))} by {what}"
    return Chart(title, category, (measure,), kind)


def _currencies(result: TableResult) -> int:
    if "currency" not in result.frame.columns:
        return 1
    return result.frame["currency"].drop_nulls().n_unique()
