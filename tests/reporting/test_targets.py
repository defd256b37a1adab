"""Target forms from crmkpi.toml and the ok / warn / bad judgement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkpi.reporting.targets import Target, TargetError, parse_target


@pytest.mark.parametrize(
    ("spec", "minimum", "maximum", "strict"),
    [
        (">= 0.25", 0.25, None, False),
        ("<= 30", None, 30.0, False),
        ("> 5", 5.0, None, True),
        ("< 1200", None, 1200.0, True),
        (">=25%", 0.25, None, False),  # a percentage is a share
        ("≤ 1,200", None, 1200.0, False),
        ("=> 3", 3.0, None, False),
        ("  <=  -2.5 ", None, -2.5, False),
    ],
)
def test_comparison_strings(spec, minimum, maximum, strict):
    target = parse_target("win_rate", spec)
    assert (target.minimum, target.maximum) == (minimum, maximum)
    assert (target.strict_minimum or target.strict_maximum) is strict


def test_bare_number_follows_the_kpi_direction():
    assert parse_target("win_rate", 0.3, "higher") == Target("win_rate", minimum=0.3)
    assert parse_target("cac", 1200, "lower") == Target("cac", maximum=1200.0)
    with pytest.raises(TargetError, match="ambiguous"):
        parse_target("deals_total", 10, "neutral")


def test_table_forms():
    assert parse_target("cac", {"max": 1200, "warn": 1000}) == Target(
        "cac", maximum=1200.0, warn=1000.0
    )
    assert parse_target("deals_won", {"min": 5, "max": 20}) == Target(
        "deals_won", minimum=5.0, maximum=20.0
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("at least 5", "cannot read"),
        (">= five", "cannot read"),
        ("== 5", "cannot read"),
        (True, "boolean"),
        ([1, 2], "list"),
        ({}, "needs min or max"),
        ({"minimum": 1}, "unknown key 'minimum'"),
        ({"min": "5"}, "min must be a number"),
        ({"min": 5, "max": 1}, "above max"),
        ({"min": 5, "warn": 4}, "at or above min"),
        ({"max": 1200, "warn": 1300}, "at or below max"),
        ({"min": 1, "max": 9, "warn": 5}, "one-sided"),
        ({"max": float("nan")}, "finite"),
    ],
)
def test_malformed_targets(spec, message):
    with pytest.raises(TargetError, match=message):
        parse_target("win_rate", spec, "higher")


def test_status_at_the_boundaries():
    at_least = parse_target("win_rate", ">= 0.25")
    assert at_least.status(0.25) == "ok"  # >= includes the bound
    assert at_least.status(0.2499) == "bad"
    above = parse_target("deals_won", "> 5")
    assert above.status(5) == "bad"  # > excludes it
    assert above.status(5.01) == "ok"
    cac = parse_target("cac", {"max": 1200, "warn": 1000})
    # 1000 is the warn level itself: not above it, so ok; between 1000 and 1200 warn.
    assert [cac.status(v) for v in (999, 1000, 1000.5, 1200, 1200.1)] == [
        "ok", "ok", "warn", "warn", "bad",
    ]  # fmt: skip
    won = parse_target("deals_won", {"min": 5, "warn": 8})
    assert [won.status(v) for v in (9, 8, 7, 5, 4.9)] == ["ok", "ok", "warn", "warn", "bad"]
    band = parse_target("deals_won", {"min": 5, "max": 20})
    assert [band.status(v) for v in (4, 5, 20, 21)] == ["bad", "ok", "ok", "bad"]
    assert at_least.status(None) is None
    assert at_least.status(float("nan")) is None


def test_text_and_breach_words():
    cac = parse_target("cac", {"max": 1200, "warn": 1000})
    assert cac.text == "<= 1200 (warn 1000)"
    assert cac.breach_words(1100) == "above warn level 1000 (target <= 1200)"
    assert cac.breach_words(1300).startswith("above target <= 1200")
    rate = parse_target("win_rate", ">= 0.25")
    assert rate.describe(lambda x: f"{x * 100:.0f}%") == ">= 25%"
    assert rate.breach_words(0.1) == "below target >= 0.25"


_RANK = {"ok": 0, "warn": 1, "bad": 2}
finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(bound=finite, gap=st.floats(0, 1e5), a=finite, b=finite)
def test_a_higher_value_is_never_worse_for_an_at_least_target(bound, gap, a, b):
    target = Target("deals_won", minimum=bound, warn=bound + gap)
    low, high = sorted((a, b))
    assert _RANK[target.status(high)] <= _RANK[target.status(low)]


@given(bound=finite, gap=st.floats(0, 1e5), a=finite, b=finite)
def test_a_lower_value_is_never_worse_for_an_at_most_target(bound, gap, a, b):
    target = Target("cac", maximum=bound, warn=bound - gap)
    low, high = sorted((a, b))
    assert _RANK[target.status(low)] <= _RANK[target.status(high)]


@given(number=st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)))
def test_written_text_parses_back_to_the_same_bound(number):
    for spec in (f">= {number}", f"< {number}"):
        target = parse_target("win_rate", spec)
        assert parse_target("win_rate", target.text) == target


def test_a_target_can_name_its_period():
    target = parse_target("deals_won", {"min": 40, "per": "quarter"})
    assert (target.minimum, target.per) == (40.0, "quarter")
    assert target.text == ">= 40 per quarter"
    with pytest.raises(TargetError, match="per must be one of month, quarter, year"):
        parse_target("deals_won", {"min": 40, "per": "fortnight"})
