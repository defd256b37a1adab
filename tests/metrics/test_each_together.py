"""`each_together`: every key's rows in one run, in order within it, none lost or added."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkpi.metrics.base import each_together


@given(
    st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=3)), st.integers(-5, 5)), max_size=60)
)
def test_rows_of_a_key_come_together_in_order(rows: list[tuple[str | None, int]]) -> None:
    _check_grouped(rows)


def test_keys_of_one_hash_are_still_parted(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every key given the same hash: only the key itself, sorted after it, keeps them apart.
    monkeypatch.setattr(pl.Expr, "hash", lambda self, *args, **kwargs: pl.lit(0, pl.UInt64))
    rows = [("b", 2), ("a", 1), ("b", 1), (None, 3), ("a", 0), (None, 1), ("c", 5), ("b", 0)]
    _check_grouped(rows)


def _check_grouped(rows: list[tuple[str | None, int]]) -> None:
    frame = pl.DataFrame(rows, schema={"key": pl.String, "at": pl.Int64}, orient="row")
    out = each_together(frame.lazy(), "key", "at").collect()
    assert sorted(out.rows(), key=repr) == sorted(frame.rows(), key=repr)
    keys = out["key"].to_list()
    runs = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
    assert len(runs) == len(set(runs))  # no key shows up in two runs
    for key in set(keys):
        within = out.filter(pl.col("key").eq_missing(key))["at"].to_list()
        assert within == sorted(within)
