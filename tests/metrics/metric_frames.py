"""Small hand-built canonical frames shared by the metric tests."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from crmkpi.dataset import Dataset, StageModel


def dt(*parts: int) -> datetime:
    return datetime(*parts)  # type: ignore[arg-type]


STAGES = StageModel(
    order=("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"),
    won=frozenset({"Won"}),
    lost=frozenset({"Lost"}),
    origin="config",
)


def deals_frame() -> pl.DataFrame:
    """Six deals, one currency. Cycles of the won ones: a 10 d, d 30 d (2024 is leap), e 1 d
    (created at noon, closed on a date without a time: whole days between the dates)."""
    return pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "owner": ["x", "x", "y", "y", "y", "x"],
            "Industry": ["retail", "retail", "bank", "bank", "retail", "bank"],
            "status": ["won", "lost", "open", "won", "won", "open"],
            "amount": [100.0, 50.0, 30.0, 200.0, 60.0, None],
            "created_at": [
                dt(2024, 1, 1), dt(2024, 1, 5), dt(2024, 2, 1),
                dt(2024, 2, 3), dt(2024, 3, 1, 12), dt(2024, 3, 10),
            ],
            "closed_at": [
                dt(2024, 1, 11), dt(2024, 2, 5), None, dt(2024, 3, 4), dt(2024, 3, 2), None,
            ],
        }
    )  # fmt: skip


def deals_ds() -> Dataset:
    return Dataset(frames={"deals": deals_frame()}, stages=STAGES)


def one(frames: dict[str, pl.DataFrame], kpi: str) -> float | None:
    """The single value of an ungrouped result."""
    frame = frames[kpi]
    assert frame.height == 1, frame
    return frame["value"][0]


def by_key(frame: pl.DataFrame, key: str) -> dict[object, object]:
    return dict(zip(frame[key].to_list(), frame["value"].to_list(), strict=True))
