"""The --where language: parsing, typing against a schema, errors with positions, and an
invariant checked with hypothesis: the compiled Polars filter keeps exactly the rows a plain
Python evaluation of the same tree keeps (SQL null semantics)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.errors import UsageError
from crmkpi.metrics.filters import parse_where, tokenize

ROWS = [
    {"owner": "Ana", "source": "Referral", "amount": 12000.0, "won": True,
     "closed_at": datetime(2025, 1, 10), "Deal Type": "New"},
    {"owner": "Bo", "source": "Web", "amount": 5000.0, "won": False,
     "closed_at": datetime(2025, 3, 1), "Deal Type": "Renewal"},
    {"owner": "Cy", "source": None, "amount": None, "won": None,
     "closed_at": None, "Deal Type": "New"},
    {"owner": "Di", "source": "Referral", "amount": 10000.0, "won": True,
     "closed_at": datetime(2024, 12, 31), "Deal Type": None},
]  # fmt: skip
FRAME = pl.DataFrame(ROWS)


def owners(text: str) -> list[str]:
    flt = parse_where(text)
    return FRAME.filter(flt.to_expr(FRAME.schema))["owner"].to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('source = "Referral"', ["Ana", "Di"]),
        ("source == 'Referral'", ["Ana", "Di"]),
        ('source != "Referral"', ["Bo"]),  # Cy's null source matches neither = nor !=
        ("amount >= 10000", ["Ana", "Di"]),
        ("amount < 10000", ["Bo"]),
        ('owner in ("Ana", "Bo")', ["Ana", "Bo"]),
        ('source not in ("Web")', ["Ana", "Di"]),
        ('source = "Referral" and amount > 10000', ["Ana"]),
        ('source = "Web" or amount is null', ["Bo", "Cy"]),
        ('not (source = "Web")', ["Ana", "Di"]),
        ("source is not null", ["Ana", "Bo", "Di"]),
        ('closed_at >= "2025-01-01"', ["Ana", "Bo"]),
        ('closed_at < "2025-01-01T00:00:01"', ["Di"]),
        ("won = true", ["Ana", "Di"]),
        ("`Deal Type` = 'New'", ["Ana", "Cy"]),
        ('(source = "Web" or source = "Referral") and not amount > 11000', ["Bo", "Di"]),
        ('SOURCE_IS_NOT_A_KEYWORD_TEST = 1 or owner = "Ana"', None),
        ("amount >= 1e4", ["Ana", "Di"]),
        ('owner = "Ana" OR owner = "Bo" AND amount > 6000', ["Ana"]),  # and binds tighter
    ],
)
def test_filters_keep_the_expected_rows(text: str, expected: list[str] | None) -> None:
    if expected is None:
        with pytest.raises(UsageError, match="no column 'SOURCE_IS_NOT_A_KEYWORD_TEST'"):
            owners(text)
        return
    assert owners(text) == expected


def test_columns_are_listed_in_order_of_appearance() -> None:
    flt = parse_where('amount > 1 and (source = "x" or amount < 5) and `Deal Type` is null')
    assert flt.columns == ("amount", "source", "Deal Type")
    assert flt.applies_to(["source", "amount", "Deal Type", "other"])
    assert not flt.applies_to(["source", "amount"])


def test_a_number_compared_with_a_text_column_compares_as_written() -> None:
    frame = pl.DataFrame({"id": ["0042", "42", "7"]})
    expr = parse_where("id = 0042").to_expr(frame.schema)
    assert frame.filter(expr)["id"].to_list() == ["0042"]


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("amount >= ", 11, "expected a value after '>=', got end of input"),
        ('amount = "lots"', 10, "'amount' holds numbers"),
        ("source = Referral", 10, "got the name 'Referral'"),
        ('(source = "Web"', 16, "expected ')'"),
        ("amount = null", 10, "is null"),
        ('source = "Web" owner', 16, "expected 'and', 'or' or the end"),
        ("", 1, "empty expression"),
        ('closed_at > "2025-13-01"', 13, "not an ISO date"),
        ('source = "Web', 10, "unclosed quote"),
        ("amount ~ 3", 8, "unexpected character '~'"),
        ('owner in "Ana"', 10, "expected '(' after 'in'"),
        ('owner in ("Ana" "Bo")', 17, "expected ',' or ')'"),
        ("closed_at > 2025", 13, "write them as ISO strings"),
        ("and amount > 1", 1, "expected a column name"),
        ('nope = "x"', 1, "no column 'nope'"),
    ],
)
def test_errors_name_the_position_and_what_was_expected(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse_where(text).to_expr(FRAME.schema)
    message = str(info.value)
    assert f"position {position}:" in message
    assert fragment in message


def test_no_python_is_evaluated() -> None:
    # An expression that would be harmful under eval() is only ever a parse error here.
    with pytest.raises(UsageError, match="unexpected character"):
        parse_where("__import__('os').system('true')")
    with pytest.raises(UsageError, match="position 20: expected an operator"):
        parse_where('owner = "a" or exec("x")')


def test_tokens_keep_one_based_positions() -> None:
    kinds = [(t.kind, t.pos) for t in tokenize('a >= "x y"')]
    assert kinds == [("name", 1), ("op", 3), ("string", 6), ("end", 11)]


# The invariant: for random trees over the frame above, Polars agrees with plain Python.

COMPARISONS = st.one_of(
    st.tuples(st.just("source"), st.sampled_from(["=", "!="]),
              st.sampled_from(['"Referral"', '"Web"', '"Other"'])),
    st.tuples(st.just("amount"), st.sampled_from(["<", "<=", ">", ">=", "="]),
              st.sampled_from(["5000", "10000", "12000", "0"])),
    st.tuples(st.just("owner"), st.just("in"),
              st.sampled_from(['("Ana")', '("Ana", "Cy")', '("Zed", "Bo")'])),
    st.tuples(st.sampled_from(["source", "amount"]), st.sampled_from(["is null", "is not null"]),
              st.just("")),
)  # fmt: skip


def _leaf(parts: tuple[str, str, str]) -> tuple[str, object]:
    column, op, value = parts
    return f"{column} {op} {value}".strip(), ("cmp", column, op, value)


TREES = st.recursive(
    COMPARISONS.map(_leaf),
    lambda inner: st.one_of(
        st.tuples(inner, inner, st.sampled_from(["and", "or"])).map(
            lambda t: (f"({t[0][0]}) {t[2]} ({t[1][0]})", (t[2], t[0][1], t[1][1]))
        ),
        inner.map(lambda t: (f"not ({t[0]})", ("not", t[1]))),
    ),
    max_leaves=6,
)


def _python(node: object, row: dict) -> bool | None:
    """Three-valued evaluation, written independently of the compiler."""
    kind = node[0]  # type: ignore[index]
    if kind == "not":
        inner = _python(node[1], row)  # type: ignore[index]
        return None if inner is None else not inner
    if kind in ("and", "or"):
        a, b = _python(node[1], row), _python(node[2], row)  # type: ignore[index]
        if kind == "and":
            if a is False or b is False:
                return False
            return None if a is None or b is None else True
        if a is True or b is True:
            return True
        return None if a is None or b is None else False
    _, column, op, value = node  # type: ignore[misc]
    cell = row[column]
    if op == "is null":
        return cell is None
    if op == "is not null":
        return cell is not None
    if cell is None:
        return None
    if op == "in":
        return cell in [v.strip().strip('"') for v in value.strip("()").split(",")]
    literal = value.strip('"') if value.startswith('"') else float(value)
    return {"=": cell == literal, "!=": cell != literal, "<": cell < literal,
            "<=": cell <= literal, ">": cell > literal, ">=": cell >= literal}[op]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(TREES)
def test_polars_filter_agrees_with_python_evaluation(tree: tuple[str, object]) -> None:
    text, node = tree
    expected = [r["owner"] for r in ROWS if _python(node, r) is True]
    assert owners(text) == expected


def test_a_date_without_time_means_the_whole_day() -> None:
    frame = pl.DataFrame(
        {"at": [datetime(2025, 3, 30, 23, 59), datetime(2025, 3, 31, 15), datetime(2025, 4, 1)]}
    )

    def kept(text: str) -> list[int]:
        flags = frame.select(parse_where(text).to_expr(frame.schema)).to_series().to_list()
        return [i for i, keep in enumerate(flags) if keep]

    assert kept('at = "2025-03-31"') == [1]  # 15:00 that day
    assert kept('at <= "2025-03-31"') == [0, 1]  # the day itself included
    assert kept('at > "2025-03-31"') == [2]
    assert kept('at < "2025-03-31T16:00"') == [0, 1]  # with a time: that moment
    assert kept('at in ("2025-03-30", "2025-04-01")') == [0, 2]


def test_numbers_compare_across_integer_and_float() -> None:
    frame = pl.DataFrame({"score": [7, 8, 9], "share": [0.5, 2.0, None]})

    def kept(text: str) -> list[int]:
        return (
            frame.with_row_index()
            .filter(parse_where(text).to_expr(frame.schema))["index"]
            .to_list()
        )

    assert kept("score >= 7.5") == [1, 2]
    assert kept("score in (8, 9.0)") == [1, 2]
    assert kept("share in (2, 0.5)") == [0, 1]
    assert kept("share not in (2)") == [0]  # the null share is in no list
