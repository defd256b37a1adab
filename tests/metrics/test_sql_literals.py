"""Decimal literals in query SQL read as floats; text in strings, names and comments untouched."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crmkpi
from crmkpi.dataset import Dataset
from crmkpi.metrics.sql_literals import float_literals
from crmkpi.schema import conform


@pytest.mark.parametrize(
    ("sql", "rewritten"),
    [
        ("SELECT 1.0 * a / b", "SELECT 1.0e0 * a / b"),
        ("SELECT .5, 2., 1.5e3", "SELECT .5e0, 2.e0, 1.5e3"),  # an exponent is kept
        ("SELECT 7 / 2", "SELECT 7 / 2"),  # integers stay integers
        ("SELECT '1.5', \"col 1.5\", `x 2.5` -- 3.5", "SELECT '1.5', \"col 1.5\", `x 2.5` -- 3.5"),
        ("SELECT /* 3.5 */ x1.5, t.a", "SELECT /* 3.5 */ x1.5, t.a"),
        ("SELECT 'it''s 1.5', 2.5", "SELECT 'it''s 1.5', 2.5e0"),
    ],
)
def test_rewrites_number_tokens_only(sql: str, rewritten: str) -> None:
    assert float_literals(sql) == rewritten


@given(st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False))
def test_a_rewritten_literal_is_the_same_number_as_a_float(value) -> None:  # noqa: ANN001
    literal = f"{value:f}"
    result = pl.SQLContext().execute(float_literals(f"SELECT {literal} AS v"), eager=True)
    assert result.schema["v"] == pl.Float64
    assert result["v"][0] == float(literal)


def test_query_ratio_with_a_float_literal_is_a_float() -> None:
    deals = pl.DataFrame({"id": ["D1", "D2", "D3"], "status": ["won", "won", "lost"]})
    ds = Dataset(frames={"deals": conform("deals", deals.lazy()).collect()})
    sql = (
        "SELECT 1.0 * SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) / COUNT(*) AS win_rate "
        "FROM deals"
    )
    frame = crmkpi.query(ds, sql)
    assert frame.schema["win_rate"] == pl.Float64
    assert frame["win_rate"][0] == 2 / 3  # 2 won of 3, to the float's last digit, not 0.6666667
