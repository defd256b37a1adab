"""A deal closed before it was created has no sales cycle; it must not pull the median down."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from crmkpi.dataset import Dataset
from crmkpi.metrics import evaluate


def test_negative_cycles_are_left_out() -> None:
    deals = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "status": ["won", "won", "won", "won"],
            "created_at": [
                datetime(2025, 1, 1),
                datetime(2025, 1, 1),
                datetime(2025, 1, 1),
                datetime(2025, 6, 1),  # created after it closed: a migrated record
            ],
            "closed_at": [
                datetime(2025, 1, 11),
                datetime(2025, 1, 21),
                datetime(2025, 2, 10),
                datetime(2025, 3, 1),
            ],
        }
    )
    got = evaluate(
        Dataset(frames={"deals": deals}), ["sales_cycle_days_median", "sales_cycle_days_mean"]
    )
    # Cycles of a, b, c: 10, 20 and 40 days; d (-92 days) is left out.
    # median(10, 20, 40) = 20; mean = 70 / 3.
    assert got["sales_cycle_days_median"]["value"][0] == 20.0
    assert abs(got["sales_cycle_days_mean"]["value"][0] - 70 / 3) < 1e-9


def test_a_date_only_close_is_a_day_not_midnight() -> None:
    """Created 19:51 and closed on the same date (no time): a 0-day cycle. Read as midnight
    it would be closed 19.85 hours before it was created and left out of the cycle."""
    deals = pl.DataFrame(
        {
            "status": ["won", "won", "won"],
            "created_at": [datetime(2024, 3, 1, 19, 51), datetime(2024, 3, 1, 8),
                           datetime(2024, 3, 1, 8)],
            "closed_at": [datetime(2024, 3, 1), datetime(2024, 3, 4), datetime(2024, 3, 2, 20)],
        }
    )  # fmt: skip
    got = evaluate(Dataset(frames={"deals": deals}), ["sales_cycle_days_mean"])
    # Date-only closes count whole days: 0 and 3 (Mar 1 -> Mar 4); two real times 1.5 days.
    assert got["sales_cycle_days_mean"]["value"][0] == pytest.approx((0 + 3 + 1.5) / 3)
