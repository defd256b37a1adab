"""The median and quantile helpers of crmkpi.metrics.base against a plain-Python reading, over
a whole frame held in many pieces (as the streaming engine hands it) and per group."""

from __future__ import annotations

import math
import statistics

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.metrics.kinds import median, quantile

VALUES = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
    ),
    max_size=40,
)
QUANTILES = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])


def _linear(values: list[float], q: float) -> float | None:
    """The q quantile, interpolating linearly between the two nearest ranks (as NumPy's
    default and Polars' "linear" do); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _close(got: float | None, expected: float | None) -> bool:
    if got is None or expected is None:
        return got is None and expected is None
    return math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-9)


def _in_pieces(rows: list[tuple[str, float | None]]) -> pl.LazyFrame:
    """The rows as a frame of several chunks, three rows each."""
    schema = {"group": pl.String, "x": pl.Float64}
    starts = range(0, len(rows), 3)
    pieces = [pl.DataFrame(rows[i : i + 3], schema=schema, orient="row") for i in starts]
    frame = pl.concat(pieces, rechunk=False) if pieces else pl.DataFrame(schema=schema)
    return frame.lazy()


@settings(max_examples=150, deadline=None)
@given(VALUES, QUANTILES)
def test_over_the_whole_frame(rows: list[tuple[str, float | None]], q: float) -> None:
    got = (
        _in_pieces(rows)
        .select(median(pl.col("x")).alias("median"), quantile(pl.col("x"), q).alias("q"))
        .collect()
    )
    values = [x for _, x in rows if x is not None]
    assert _close(got["median"][0], statistics.median(values) if values else None)
    assert _close(got["q"][0], _linear(values, q))


@settings(max_examples=150, deadline=None)
@given(VALUES, QUANTILES)
def test_per_group(rows: list[tuple[str, float | None]], q: float) -> None:
    got = (
        _in_pieces(rows)
        .group_by("group")
        .agg(median(pl.col("x")).alias("median"), quantile(pl.col("x"), q).alias("q"))
        .collect()
    )
    assert sorted(got["group"]) == sorted({g for g, _ in rows})
    for group, got_median, got_q in got.rows():
        values = [x for g, x in rows if g == group and x is not None]
        assert _close(got_median, statistics.median(values) if values else None)
        assert _close(got_q, _linear(values, q))


def test_by_hand() -> None:
    frame = pl.LazyFrame({"x": [4.0, None, 1.0, 3.0, 2.0]})
    got = frame.select(median(pl.col("x")), quantile(pl.col("x"), 0.9).alias("p90")).collect()
    # 1 2 3 4: median (2 + 3) / 2 = 2.5; p90 at position 0.9 x 3 = 2.7: 3 + 0.7 x (4 - 3) = 3.7
    assert got.row(0) == (2.5, 3.7)
