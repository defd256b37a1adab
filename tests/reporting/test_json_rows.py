"""The report JSON's table rows are written by Polars: each row must read back as the value
Python's encoder would have written from the same frame (`frame_records`, the reference)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta, timezone

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from crmkpi.reporting.json import _significant_expr, frame_records, rows_text, significant


def _read_back(frame: pl.DataFrame) -> list[dict]:
    return [json.loads(line) for line in rows_text(frame).split("\n") if line]


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_significant_in_python_equals_significant_in_polars(value: float) -> None:
    # The KPI values (Python) and the table rows (Polars) are rounded by one rule.
    polars = pl.DataFrame({"f": [value]}).select(_significant_expr(pl.col("f")))[0, 0]
    assert significant(value) == polars
    assert math.copysign(1, significant(value)) == math.copysign(1, value)
    assert significant(value) == value or abs(significant(value) - value) <= 5e-12 * abs(value)


def test_significant_is_decimal_rounding_where_it_rounds() -> None:
    # the reference: Python's decimal formatting to 12 digits, apart from exact ties
    for value in (1 / 3, 2 / 3, 123.456789012345678, 9.99999999999999, 1e-9 / 7, 7e33 / 3):
        assert significant(value) == float(f"{value:.12g}")


def test_significant_drops_the_wandering_bits() -> None:
    # Two orders of one sum: 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ in the 16th digit.
    assert 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1
    assert significant(0.1 + 0.2 + 0.3) == significant(0.3 + 0.2 + 0.1) == 0.6
    assert significant(1234567.891234567) == 1234567.89123  # 12 digits, by hand
    assert significant(-0.000123456789012345) == -0.000123456789012


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
