"""The satisfaction KPIs (crmkpi/metrics/satisfaction.py). NPS below zero: more detractors than
promoters must give a negative score, not a wrap-around."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.dataset import Dataset
from crmkpi.metrics import evaluate


def _nps(scores: list[int]) -> float | None:
    ds = Dataset(frames={"nps": pl.DataFrame({"score": scores}, schema={"score": pl.Int64})})
    return evaluate(ds, ["nps"])["nps"]["value"][0]


def test_more_detractors_than_promoters_is_negative() -> None:
    # 1 promoter (10), 3 detractors (0, 3, 6) of 4 answers: (1 - 3) / 4 * 100 = -50.
    assert _nps([10, 0, 3, 6]) == -50.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=40))
def test_nps_matches_plain_python_and_stays_in_range(scores: list[int]) -> None:
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    expected = (promoters - detractors) * 100.0 / len(scores)
    got = _nps(scores)
    assert got is not None and abs(got - expected) < 1e-9
    assert -100.0 <= got <= 100.0
