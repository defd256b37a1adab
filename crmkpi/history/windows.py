"""Saved runs grouped by the kind of window they covered, one trend line per kind.

A value over all the data and a value over one month are not points of one line: drawn as one
sparkline they make a fall out of a change of window. Runs whose windows have the same kind
(all data, open-ended, or bounded with about the same length: a scheduled monthly report moves
its dates every run) belong to one series.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crmkpi.history.store import Point

# bounded windows by length in days -> the name of their kind (calendar periods vary a little)
_LENGTHS = ((1, 1, "a day"), (7, 7, "a week"), (28, 31, "a month"), (89, 92, "a quarter"),
            (365, 366, "a year"))  # fmt: skip


def window_kind(since: str, until: str) -> str:
    """'all data', 'from a date', 'up to a date', or a bounded window by its length."""
    if not since and not until:
        return "all data"
    if not until:
        return "from a date"
    if not since:
        return "up to a date"
    days = (datetime.fromisoformat(until) - datetime.fromisoformat(since)).days
    name = next((n for low, high, n in _LENGTHS if low <= days <= high), f"{days} days")
    return f"windows of {name}"


def by_window_kind(points: Sequence[Point]) -> list[tuple[str, list[Point]]]:
    """The points split by window kind, each in run order; kinds in order of their latest run
    (the kind of the latest run last)."""
    groups: dict[str, list[Point]] = {}
    for point in points:
        groups.setdefault(window_kind(point.since, point.until), []).append(point)
    return sorted(groups.items(), key=lambda kv: kv[1][-1].run_at)
