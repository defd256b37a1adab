"""Deal risk: each reason on a small case where the right rule and a tempting wrong one differ."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metric_frames import STAGES, dt

from crmkpi.config import Config
from crmkpi.dataset import Dataset
from crmkpi.metrics import evaluate_tables
from crmkpi.metrics.base import Context
from crmkpi.metrics.risk import TABLES, _whole

AS_OF = dt(2024, 6, 1)
NOTE = TABLES[0].note


def _risk(ds: Dataset, **risk: float) -> pl.DataFrame:
    return evaluate_tables(ds, ["deal_risk"], config=Config(risk=risk))["deal_risk"]


def _reasons(table: pl.DataFrame) -> dict[str, str]:
    return dict(zip(table["id"].to_list(), table["reasons"].to_list(), strict=True))


def _deals(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"id": pl.String, "pipeline": pl.String, "status": pl.String,
                "amount": pl.Float64, "created_at": pl.Datetime("us"),
                "closed_at": pl.Datetime("us")},
        orient="row",
    )  # fmt: skip


def _ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def test_amount_outside_the_iqr_fences_of_its_pipeline() -> None:
    won = [(f"p{a}", "P", "won", float(a), _ago(30), _ago(20)) for a in (100, 110, 120, 130, 140)]
    won += [(f"q{a}", "Q", "won", float(a), _ago(30), _ago(20)) for a in (200, 210, 220, 230, 240)]
    deals = _deals(
        [
            *won,
            ("hi", "P", "open", 260.0, _ago(1), None),
            ("lo", "Q", "open", 150.0, _ago(1), None),
            ("lost", "P", "lost", 5000.0, _ago(30), _ago(20)),
        ]
    )
    ds = Dataset(frames={"deals": deals}, as_of=AS_OF)
    table = _risk(ds, min_sample=6)
    # P (won + open): 100 110 120 130 140 260. Linear quantiles: Q1 at position 1.25 = 112.5,
    # Q3 at 3.75 = 137.5; IQR 25; high fence 137.5 + 37.5 = 175 < 260: flagged.
    # (Mean + 2 sd = 143.3 + 2 x 58.9 = 261.1 would not flag it; with the lost 5,000 in, Q3 = 200
    # and the fence 327.5 would not either.)
    # Q: 150 200 210 220 230 240: Q1 = 202.5, Q3 = 227.5, low fence 202.5 - 37.5 = 165 > 150.
    # (Pooled over both pipelines the fences are -15 and 365: neither would be flagged.)
    assert _reasons(table) == {"hi": "amount > 175", "lo": "amount < 165"}
    assert table["id"].to_list() == ["hi", "lo"]  # largest amount first
    # Six deals per pipeline: below a minimum sample of 7 no fence is drawn.
    assert _risk(ds, min_sample=7).height == 0
    assert _risk(ds, min_sample=6, amount_fence=5.0).height == 0  # fences 12.5 and 262.5 in P


def test_age_over_the_90th_percentile_of_won_cycles() -> None:
    cycles = [10, 20, 30, 40, 100]
    won = [(f"w{c}", "P", "won", 1.0, _ago(200 + c), _ago(200)) for c in cycles]
    lost = [(f"l{i}", "P", "lost", 1.0, _ago(800), _ago(300)) for i in range(3)]
    deals = _deals(
        [*won, *lost, ("young", "P", "open", 1.0, _ago(50), None),
         ("old", "P", "open", 1.0, _ago(80), None)]
    )  # fmt: skip
    ds = Dataset(frames={"deals": deals}, as_of=AS_OF)
    table = _risk(ds, min_sample=5, amount_fence=100.0)
    # Won cycles 10 20 30 40 100: p90 at position 3.6 = 40 + 0.6 x 60 = 76 < 80, > 50.
    # (The median 30 or the mean 40 would flag the 50-day deal too; with the lost deals'
    # 500-day cycles in, p90 would be 500.)
    assert _reasons(table) == {"old": "age 80 d > 76 d"}
    assert table["age_days"].to_list() == [80.0]
    assert _reasons(_risk(ds, min_sample=5, amount_fence=100.0, age_days=40.0)) == {
        "young": "age 50 d > 40 d",
        "old": "age 80 d > 40 d",
    }
    assert _risk(ds, min_sample=6, amount_fence=100.0).height == 0  # five won cycles only


def test_in_stage_longer_than_the_90th_percentile_of_past_stays() -> None:
    # Five won deals stayed 2, 4, 6, 8, 10 days in Proposal; two open deals sit in it.
    start = dt(2024, 1, 1)
    stays = [2, 4, 6, 8, 10]
    history, deals = [], []
    for i, s in enumerate(stays):
        entered = start + timedelta(days=1)
        history += [(f"w{i}", "Lead", start), (f"w{i}", "Proposal", entered),
                    (f"w{i}", "Won", entered + timedelta(days=s))]  # fmt: skip
        deals.append((f"w{i}", "Won", "won", start, entered + timedelta(days=s)))
    for deal, days in (("nine", 9), ("ten", 10)):
        history += [(deal, "Lead", _ago(30)), (deal, "Proposal", _ago(days))]
        deals.append((deal, "Proposal", "open", _ago(30), None))
    frames = {
        "deals": pl.DataFrame(
            deals, schema=["id", "stage", "status", "created_at", "closed_at"], orient="row"
        ),
        "stage_history": pl.DataFrame(
            history, schema=["deal_id", "stage", "entered_at"], orient="row"
        ),
    }
    ds = Dataset(frames=frames, stages=STAGES, as_of=AS_OF)
    table = _risk(ds, min_sample=5, age_days=1000.0)
    # Proposal stays 2 4 6 8 10: p90 at position 3.6 = 8 + 0.6 x 2 = 9.2: only the 10-day stay
    # is over it. (The median, 6, would flag both; days since creation, 30, would too.)
    assert _reasons(table) == {"ten": "Proposal 10 d > 9.2 d"}


def test_close_date_passed_by_calendar_day() -> None:
    now = dt(2024, 6, 1, 15)
    deals = pl.DataFrame(
        {
            "id": ["today", "yesterday", "none"],
            "status": ["open"] * 3,
            "created_at": [dt(2024, 5, 20)] * 3,
            "expected_close_at": [dt(2024, 6, 1), dt(2024, 5, 31), None],
        }
    )
    table = _risk(Dataset(frames={"deals": deals}, as_of=now))
    # Due today (midnight < 15:00, but the same day) has not slipped; due yesterday has.
    assert _reasons(table) == {"yesterday": "close date 2024-05-31 passed"}


def test_no_activity_for_longer_than_the_usual_gap() -> None:
    deals = pl.DataFrame(
        {
            "id": ["w1", "w2", "o1", "o2", "o3", "o4"],
            "status": ["won", "won", "open", "open", "open", "open"],
            "created_at": [_ago(100)] * 2 + [_ago(30), _ago(30), _ago(9), _ago(30)],
        }
    )
    acts = [("w1", _ago(90 - d)) for d in (0, 2, 4, 6)] + [("w2", _ago(90)), ("w2", _ago(80))]
    acts += [("o1", _ago(7)), ("o2", _ago(8)), ("o4", _ago(20)), ("o4", AS_OF + timedelta(1))]
    activities = pl.DataFrame(acts, schema=["deal_id", "at"], orient="row")
    ds = Dataset(frames={"deals": deals, "activities": activities}, as_of=AS_OF)
    table = _risk(ds, min_sample=4, age_days=1000.0)
    # Gaps on a deal, activities up to the as-of moment: w1 2 2 2, w2 10; p90 at position 2.7
    # = 2 + 0.7 x 8 = 7.6 days. o1 (7 d) is fine; o2 (8 d) and o3 (no activity, created 9 d
    # ago) are over it; o4's last contact was 20 d ago: the call booked for tomorrow is not
    # contact (taken as the last activity it would hide the silence).
    assert _reasons(table) == {
        "o2": "no activity 8.0 d > 7.6 d",
        "o3": "no activity 9.0 d > 7.6 d (none ever)",
        "o4": "no activity 20 d > 7.6 d",
    }
    assert _reasons(_risk(ds, min_sample=4, age_days=1000.0, no_activity_days=8.5)).keys() == {
        "o3",
        "o4",
    }


def test_several_reasons_on_one_deal_and_the_note_says_what_was_not_checked() -> None:
    deals = pl.DataFrame(
        {
            "id": ["a"],
            "status": ["open"],
            "amount": [10.0],
            "created_at": [_ago(40)],
            "expected_close_at": [_ago(3)],
        }
    )
    ds = Dataset(frames={"deals": deals}, as_of=AS_OF)
    table = _risk(ds, age_days=30.0)
    assert table["reasons"].to_list() == ["age 40 d > 30 d; close date 2024-05-29 passed"]
    assert table["reason_count"].to_list() == [2]
    note = NOTE(Context(ds, config=Config(risk={"age_days": 30.0})))
    assert "not checked: stage (no stage history" in note
    assert "no activity (activities are not linked to deals)" in note
    assert "age over the 30 d" in note


@pytest.mark.parametrize("key", ["cycle_quantile", "stage_quantile"])
def test_risk_quantiles_are_shares(key: str, tmp_path) -> None:  # noqa: ANN001
    from crmkpi.config import load_config
    from crmkpi.errors import ConfigError

    path = tmp_path / "crmkpi.toml"
    path.write_text(f"[risk]\n{key} = 90\n")
    with pytest.raises(ConfigError, match=f"risk.{key}"):
        load_config(path)


def _tukey(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@settings(max_examples=25, deadline=None)
@given(
    won=st.lists(st.integers(1, 1000), min_size=3, max_size=12),
    open_=st.lists(st.integers(1, 3000), min_size=1, max_size=6),
)
def test_amount_reason_is_tukeys_rule_for_any_amounts(won: list[int], open_: list[int]) -> None:
    rows = [(f"w{i}", "P", "won", float(a), _ago(30), _ago(20)) for i, a in enumerate(won)]
    rows += [(f"o{i}", "P", "open", float(a), _ago(1), None) for i, a in enumerate(open_)]
    ds = Dataset(frames={"deals": _deals(rows)}, as_of=AS_OF)
    table = _risk(ds, min_sample=1, age_days=1000.0)
    amounts = [float(a) for a in won + open_]
    q1, q3 = _tukey(amounts, 0.25), _tukey(amounts, 0.75)
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    expected = {f"o{i}" for i, a in enumerate(open_) if not low <= a <= high}
    # An amount on a fence itself is left to the last bit of the quantile: not judged here.
    on_fence = {f"o{i}" for i, a in enumerate(open_) if min(abs(a - low), abs(a - high)) < 1e-6}
    assert set(table["id"]) - on_fence == expected - on_fence
    assert table["amount"].to_list() == sorted(table["amount"].to_list(), reverse=True)


@given(st.lists(st.integers(-(10**15), 10**15) | st.none(), max_size=30))
def test_whole_numbers_read_as_python_writes_them(numbers: list[int | None]) -> None:
    # the reasons' numbers, grouped in Polars, read as Python's own "{:,}" would write them
    frame = pl.DataFrame({"n": numbers}, schema={"n": pl.Float64})
    shown = frame.select(_whole(pl.col("n")))["n"].to_list()
    assert shown == [None if n is None else f"{n:,}" for n in numbers]


def test_deals_without_ids_and_of_equal_amounts_come_in_one_order() -> None:
    # A deals file without ids (Zoho's Potentials) ties on the amount: the table must not take
    # its order from the file (or from threads) but from the deals themselves.
    won = [(None, f"w{i}", "won", 100.0, _ago(60), _ago(50)) for i in range(20)]
    open_ = [(None, f"o{i}", "open", 50.0, _ago(400 + i), None) for i in range(8)]
    deals = _deals([*won, *open_]).rename({"pipeline": "name"})
    first = _risk(Dataset(frames={"deals": deals.drop("id")}, as_of=AS_OF))
    again = _risk(Dataset(frames={"deals": deals.drop("id").reverse()}, as_of=AS_OF))
    assert first.height == 8  # every open deal is older than the won deals' cycles
    assert first.equals(again)
    assert first["name"].to_list() == sorted(first["name"].to_list())  # then by name
