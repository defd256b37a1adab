"""The report JSON's table rows are written by Polars: each row must read back as the value
Python's encoder would have written from the same frame (`frame_records`, the reference)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from crmkpi.reporting.json import (
    SIGNIFICANT_DIGITS,
    _significant_expr,
    frame_records,
    rows_text,
    significant,
)


def _read_back(frame: pl.DataFrame) -> list[dict]:
    return [json.loads(line) for line in rows_text(frame).split("\n") if line]


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_significant_in_python_equals_significant_in_polars(value: float) -> None:
    # The KPI values (Python) and the table rows (Polars) are rounded by one rule.
    polars = pl.DataFrame({"f": [value]}).select(_significant_expr(pl.col("f")))[0, 0]
    assert significant(value) == polars


@given(
    st.floats(min_value=1e-10, max_value=9.99e33, allow_nan=False, allow_infinity=False),
    st.booleans(),
)
def test_significant_is_decimal_rounding_to_12_digits(magnitude: float, negative: bool) -> None:
    # The reference is Python's own decimal rounding of the exact binary value (`.12g`).
    # Only a value within a millionth of a unit of the 12th digit from a tie may round the
    # other way (scaling it by a power of ten rounds it once before the digit is chosen).
    value = -magnitude if negative else magnitude
    expected = float(f"{value:.12g}")
    exact = Decimal(value)
    digits = exact.scaleb(SIGNIFICANT_DIGITS - 1 - exact.adjusted())
    near_tie = abs(abs(digits) % 1 - Decimal("0.5")) < Decimal("1e-6")
    if near_tie:  # either neighbour of the tie
        shift = SIGNIFICANT_DIGITS - 1 - exact.adjusted()
        floor = digits.to_integral_value(rounding="ROUND_FLOOR")
        neighbours = {float((floor + k).scaleb(-shift)) for k in (0, 1)}
        assert significant(value) in neighbours
    else:
        assert significant(value) == expected


def test_significant_drops_the_wandering_bits() -> None:
    # Two orders of one sum: 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ in the 16th digit.
    assert 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1
    assert significant(0.1 + 0.2 + 0.3) == significant(0.3 + 0.2 + 0.1) == 0.6
    assert significant(1234567.891234567) == 1234567.89123  # 12 digits, by hand
    assert significant(-0.000123456789012345) == -0.000123456789012
    # large amounts (rials, rupiah) keep 12 exact digits: scaled down by an exact power of ten
    assert significant(1.2345678901234568e16) == 1.23456789012e16
    assert significant(12345678901.25) == 12345678901.2  # an exact tie: half to even
    assert significant(1e-11) == 1e-11  # below any exact scale: as it is


def test_rows_read_back_as_python_writes_them() -> None:
    madrid = timezone(timedelta(hours=2))
    frame = pl.DataFrame(
        {
            "f": [1.0, 0.1 + 0.2, float("nan"), float("inf"), None, -2.5e-7],
            "i": pl.Series([1, None, 3, 4, 5, 6], dtype=pl.UInt32),
            "s": ['a"b\n\x1b[31m', "é\u2028", None, "=1+1", "<b>x</b>", "\\"],
            "c": pl.Series(["won", "lost", None, "open", "won", "won"], dtype=pl.Categorical),
            "t": [
                datetime(2026, 10, 31, 22, 26),
                datetime(2026, 1, 2, 3, 4, 5, 600),
                None,
                datetime(1999, 12, 31, 23, 59, 59, 999999),
                datetime(2026, 1, 1),
                datetime(2026, 1, 1, 0, 0, 1),
            ],
            "z": pl.Series(
                [datetime(2026, 5, 1, 12, tzinfo=madrid)] * 5 + [None],
                dtype=pl.Datetime("us", "Europe/Madrid"),
            ),
            "d": [date(2026, 1, 1), None, date(2024, 2, 29), date(2026, 12, 31)] * 1
            + [date(2000, 1, 1), date(2001, 2, 3)],
            "b": [True, False, None, True, False, True],
        }
    )
    expected = json.loads(json.dumps(frame_records(frame), ensure_ascii=False))
    assert _read_back(frame) == expected
    # the reference writes NaN and infinity as null, dates as isoformat: checked by hand
    assert [row["f"] for row in expected] == [1.0, 0.3, None, None, None, -2.5e-7]
    assert expected[1]["t"] == "2026-01-02T03:04:05.000600"
    assert expected[0]["z"] == "2026-05-01T12:00:00+02:00"


def test_an_empty_table_is_an_empty_list() -> None:
    assert rows_text(pl.DataFrame({"a": []}, schema={"a": pl.Int64})) == ""


@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True, width=64),
            st.text(max_size=8),
            st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 1, 1)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_rows_read_back_as_python_writes_them(rows: list) -> None:
    frame = pl.DataFrame(rows, schema=["f", "s", "t"], orient="row")
    frame = frame.with_columns(pl.col("t").cast(pl.Datetime("us")))
    expected = json.loads(json.dumps(frame_records(frame), ensure_ascii=False))
    got = _read_back(frame)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a["s"] == b["s"] and a["t"] == b["t"]
        assert a["f"] == b["f"] or (a["f"] is None and b["f"] is None)
        assert a["f"] is None or math.isfinite(a["f"])


def test_an_offset_of_seconds_and_a_nested_column_as_python_writes_them() -> None:
    # Amsterdam kept local mean time until 1937: +00:19:32, which %:z would cut to +00:19
    frame = pl.DataFrame(
        {
            "at": pl.Series(
                [datetime(1900, 1, 1, 12)], dtype=pl.Datetime("us")
            ).dt.replace_time_zone("Europe/Amsterdam"),
            "shares": [[0.1 + 0.2, 1 / 3]],
        }
    )
    expected = json.loads(json.dumps(frame_records(frame), ensure_ascii=False))
    assert expected[0]["at"].endswith("+00:19:32")
    assert expected[0]["shares"] == [0.3, 0.333333333333]
    assert _read_back(frame) == expected
