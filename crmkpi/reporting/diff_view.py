"""What every format shows of a diff between exports: the summary's labels, the columns' units.

`crmkpi diff` returns a DealDiff (a summary, one frame per kind of change, notes); each format
module's `render_diff` lays it out from these, so the labels are written once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmkpi.diff.compare import TABLES
from crmkpi.reporting.format import format_value

if TYPE_CHECKING:
    import polars as pl

    from crmkpi.diff.compare import DealDiff

UNITS = {
    "amount": "currency",
    "old_amount": "currency",
    "change": "currency",
    "days_pushed": "days",
    "created_amount": "currency",
    "won_amount": "currency",
    "lost_amount": "currency",
    "amount_change_net": "currency",
    "amounts_set_total": "currency",
    "amounts_cleared_total": "currency",
    "open_pipeline_before": "currency",
    "open_pipeline_after": "currency",
    "slipped_days_total": "days",
    "slipped_days_median": "days",
}
SUMMARY_LABELS = {
    "deals_before": "Deals in the old export",
    "deals_after": "Deals in the new export",
    "created": "Created",
    "created_amount": "Created, amount",
    "won": "Won",
    "won_amount": "Won, amount",
    "lost": "Lost",
    "lost_amount": "Lost, amount",
    "moved_forward": "Moved forward",
    "moved_back": "Moved back",
    "reopened": "Reopened",
    "moved_unordered": "Moved, stage not in the order",
    "slipped": "Close date pushed out",
    "slipped_days_total": "Days pushed, total",
    "slipped_days_median": "Days pushed, median",
    "amount_changes": "Amount changed",
    "amount_change_net": "Amount change, net",
    "amounts_set": "Amount set (was blank)",
    "amounts_set_total": "Amount set, total",
    "amounts_cleared": "Amount cleared (now blank)",
    "amounts_cleared_total": "Amount cleared, total",
    "owner_changes": "Owner changed",
    "removed": "No longer in the export",
    "open_pipeline_before": "Open pipeline before",
    "open_pipeline_after": "Open pipeline after",
    "currency": "Currency",
}


# Shown only when something was set or cleared: most diffs have neither.
SHOWN_WHEN_NOT_ZERO = {
    "amounts_set",
    "amounts_set_total",
    "amounts_cleared",
    "amounts_cleared_total",
}


def diff_cell(column: str, value: Any) -> str:
    return format_value(value, UNITS.get(column, ""))


def summary_rows(diff: DealDiff) -> list[tuple[str, str]]:
    """(label, shown value) for each summary figure the diff has, in a fixed order."""
    return [
        (label, diff_cell(key, diff.summary.get(key)))
        for key, label in SUMMARY_LABELS.items()
        if diff.summary.get(key) is not None
        and not (key in SHOWN_WHEN_NOT_ZERO and diff.summary[key] == 0)
    ]


def changed_tables(diff: DealDiff) -> list[tuple[str, str, pl.DataFrame]]:
    """(id, title, frame) of each kind of change with at least one deal, in a fixed order."""
    return [
        (table_id, title, diff.tables[table_id])
        for table_id, title in TABLES
        if diff.tables[table_id].height
    ]
