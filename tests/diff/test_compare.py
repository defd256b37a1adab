"""`crmkpi.diff.compare.compare` on hand-built exports holding each kind of change."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.dataset import Dataset, StageModel
from crmkpi.diff.compare import compare
from crmkpi.errors import InputError
from crmkpi.reporting.diff_view import summary_rows
from crmkpi.schema import conform

D = datetime
ORDER = ("New", "Qualified", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
STAGES = StageModel(ORDER, frozenset({"Closed Won"}), frozenset({"Closed Lost"}), "config")
COLUMNS = ("id", "name", "owner", "stage", "status", "amount", "expected_close_at", "lost_reason")


def snapshot(*rows: tuple) -> Dataset:
    frame = pl.DataFrame([dict(zip(COLUMNS, r, strict=True)) for r in rows])
    frame = conform("deals", frame.lazy()).collect()
    return Dataset(frames={"deals": frame}, stages=STAGES)


OLD = snapshot(
    ("D1", "Acme", "Ana", "Qualified", "open", 1000.0, D(2025, 3, 15), None),
    ("D2", "Beta", "Bo", "Proposal", "open", 2000.0, D(2025, 3, 20), None),
    ("D3", "Ceto", "Ana", "Negotiation", "open", 3000.0, D(2025, 3, 10), None),
    ("D4", "Dora", "Bo", "Proposal", "open", 500.0, D(2025, 4, 1), None),
    ("D5", "Eris", "Cy", "Qualified", "open", 700.0, D(2025, 3, 30), None),
    ("D6", "Faro", "Cy", "Closed Lost", "lost", 400.0, None, "Timing"),
    ("D7", "Gaia", "Ana", "New", "open", 100.0, D(2025, 5, 1), None),
)
NEW = snapshot(
    ("D1", "Acme", "Ana", "Proposal", "open", 1200.0, D(2025, 3, 15), None),  # forward, +200
    ("D2", "Beta", "Cy", "Qualified", "open", 2000.0, D(2025, 4, 19), None),  # back, Bo->Cy, +30 d
    ("D3", "Ceto", "Ana", "Closed Won", "won", 3000.0, None, None),  # won
    ("D4", "Dora", "Bo", "Closed Lost", "lost", 500.0, None, "Price"),  # lost
    ("D5", "Eris", "Cy", "Qualified", "open", 700.0, D(2025, 4, 9), None),  # +10 d
    ("D6", "Faro", "Cy", "Qualified", "open", 400.0, D(2025, 6, 1), None),  # reopened
    ("D8", "Hebe", "Bo", "New", "open", 900.0, D(2025, 6, 1), None),  # created
    ("D9", "Iris", "Ana", "Closed Won", "won", 50.0, None, None),  # created and won
)  # D7 is gone


def ids(frame: pl.DataFrame) -> list[str]:
    return sorted(frame["id"].to_list())


def test_each_kind_of_change():
    diff = compare([OLD, NEW], ["old.csv", "new.csv"])
    t = diff.tables
    assert ids(t["created"]) == ["D8", "D9"]
    assert ids(t["removed"]) == ["D7"]
    assert ids(t["won"]) == ["D3", "D9"]
    assert dict(t["won"].select("id", "from_stage").iter_rows()) == {
        "D3": "Negotiation",
        "D9": None,
    }
    assert t["lost"].select("id", "lost_reason").rows() == [("D4", "Price")]
    moves = {r["id"]: r for r in t["stage_moves"].to_dicts()}
    assert set(moves) == {"D1", "D2", "D6"}
    assert (moves["D1"]["direction"], moves["D1"]["steps"]) == ("forward", 1)  # Qualified->Proposal
    assert (moves["D2"]["direction"], moves["D2"]["steps"]) == ("back", -1)  # Proposal->Qualified
    assert moves["D6"]["direction"] == "reopened"
    slipped = {r["id"]: r for r in t["slipped"].to_dicts()}
    assert {k: (v["days_pushed"], v["times_slipped"]) for k, v in slipped.items()} == {
        "D2": (30.0, 1),  # 2025-03-20 -> 2025-04-19
        "D5": (10.0, 1),  # 2025-03-30 -> 2025-04-09
    }
    assert t["amount_changes"].select("id", "old_amount", "amount", "change").rows() == [
        ("D1", 1000.0, 1200.0, 200.0)
    ]
    assert t["owner_changes"].select("id", "old_owner", "owner").rows() == [("D2", "Bo", "Cy")]


def test_summary():
    s = compare([OLD, NEW], ["old.csv", "new.csv"]).summary
    assert (s["deals_before"], s["deals_after"]) == (7, 8)
    assert (s["created"], s["created_amount"]) == (2, 950.0)  # 900 + 50
    assert (s["won"], s["won_amount"]) == (2, 3050.0)  # 3000 + 50
    assert (s["lost"], s["lost_amount"]) == (1, 500.0)
    assert (s["moved_forward"], s["moved_back"], s["reopened"]) == (1, 1, 1)
    assert s["moved_unordered"] == 0
    assert (s["slipped"], s["slipped_days_total"], s["slipped_days_median"]) == (2, 40.0, 20.0)
    assert (s["amount_changes"], s["amount_change_net"]) == (1, 200.0)
    assert (s["owner_changes"], s["removed"]) == (1, 1)
    # open before: D1 1000 + D2 2000 + D3 3000 + D4 500 + D5 700 + D7 100 = 7300
    # open after: D1 1200 + D2 2000 + D5 700 + D6 400 + D8 900 = 5200
    assert (s["open_pipeline_before"], s["open_pipeline_after"]) == (7300.0, 5200.0)


def test_changes_long_frame_has_one_row_per_change():
    diff = compare([OLD, NEW], ["old.csv", "new.csv"])
    changes = diff.changes
    # created 2 + won 2 + lost 1 + moves 3 + slipped 2 + amount 1 + owner 1 + removed 1 = 13
    assert changes.height == 13
    row = changes.filter(pl.col("kind") == "slipped", pl.col("deal_id") == "D2").to_dicts()[0]
    assert (row["before"], row["after"], row["change"]) == ("2025-03-20", "2025-04-19", 30.0)
    owner = changes.filter(pl.col("kind") == "owner_changes").to_dicts()[0]
    assert (owner["before"], owner["after"]) == ("Bo", "Cy")


def test_a_series_counts_how_often_each_deal_slipped():
    middle = snapshot(
        ("D2", "Beta", "Bo", "Proposal", "open", 2000.0, D(2025, 3, 30), None),  # +10 d
        ("D5", "Eris", "Cy", "Qualified", "open", 700.0, D(2025, 4, 14), None),  # +15 d
    )
    last = snapshot(
        ("D2", "Beta", "Bo", "Proposal", "open", 2000.0, D(2025, 4, 19), None),  # +20 d
        ("D5", "Eris", "Cy", "Qualified", "open", 700.0, D(2025, 4, 9), None),  # pulled in 5 d
    )
    first = snapshot(
        ("D2", "Beta", "Bo", "Proposal", "open", 2000.0, D(2025, 3, 20), None),
        ("D5", "Eris", "Cy", "Qualified", "open", 700.0, D(2025, 3, 30), None),
    )
    diff = compare([first, middle, last], ["a", "b", "c"])
    rows = {r["id"]: r for r in diff.tables["slipped"].to_dicts()}
    assert (rows["D2"]["times_slipped"], rows["D2"]["days_pushed"]) == (2, 30.0)
    assert (rows["D2"]["old_close"], rows["D2"]["new_close"]) == (D(2025, 3, 20), D(2025, 4, 19))
    # D5 slipped once by 15 days, then came 5 days closer: close date now 2025-04-09.
    assert (rows["D5"]["times_slipped"], rows["D5"]["days_pushed"]) == (1, 15.0)
    assert rows["D5"]["new_close"] == D(2025, 4, 9)
    assert diff.tables["stage_moves"].height == 0 and diff.summary["created"] == 0


def test_exports_without_ids_or_close_dates():
    no_ids = Dataset(frames={"deals": OLD.frames["deals"].drop("id")}, stages=STAGES)
    with pytest.raises(InputError, match="no id column") as info:
        compare([no_ids, NEW], ["old.csv", "new.csv"])
    assert info.value.path == "old.csv"
    bare = Dataset(frames={"deals": OLD.frames["deals"].drop("expected_close_at")})
    diff = compare([bare, NEW], ["old.csv", "new.csv"])
    assert diff.tables["slipped"].height == 0
    assert diff.notes == ["no expected close date in old.csv: slipped deals not found"]


def test_duplicate_ids_are_noted_and_the_last_row_wins():
    old = snapshot(
        ("D1", "Acme", "Ana", "New", "open", 10.0, None, None),
        ("D1", "Acme", "Ana", "Qualified", "open", 20.0, None, None),
    )
    new = snapshot(("D1", "Acme", "Ana", "Qualified", "open", 20.0, None, None))
    diff = compare([old, new], ["old.csv", "new.csv"])
    assert diff.notes == ["old.csv: 1 duplicate deal ids; the last row of each is used"]
    assert diff.changes.height == 0


STATUS = {"Closed Won": "won", "Closed Lost": "lost"}
deal = st.tuples(
    st.integers(0, len(ORDER) - 1),  # stage index
    st.sampled_from(["Ana", "Bo"]),
    st.integers(1, 5).map(lambda n: n * 100.0),
    st.integers(0, 60),  # expected close, days after 2025-01-01
)
snapshots = st.dictionaries(st.sampled_from([f"D{i}" for i in range(12)]), deal, max_size=12)


def rows(snap: dict) -> list[tuple]:
    base = datetime(2025, 1, 1)
    out = []
    for key, (stage_i, owner, amount, days) in sorted(snap.items()):
        stage = ORDER[stage_i]
        status = STATUS.get(stage, "open")
        close = base + timedelta(days=days) if status == "open" else None
        out.append((key, key, owner, stage, status, amount, close, None))
    return out


@settings(max_examples=60, deadline=None)
@given(old=snapshots, new=snapshots)
def test_compare_matches_plain_python(old, new):
    if not old or not new:
        return
    diff = compare([snapshot(*rows(old)), snapshot(*rows(new))], ["a", "b"])
    t = diff.tables
    assert sorted(t["created"]["id"]) == sorted(set(new) - set(old))
    assert sorted(t["removed"]["id"]) == sorted(set(old) - set(new))

    def status(snap, key):
        return STATUS.get(ORDER[snap[key][0]], "open") if key in snap else None

    for kind in ("won", "lost"):
        expected = {k for k in new if status(new, k) == kind and status(old, k) != kind}
        assert set(t[kind]["id"]) == expected
    both = set(old) & set(new)
    moves = {r["id"]: r["direction"] for r in t["stage_moves"].to_dicts()}
    expected_moves = {}
    for k in both:
        a, b = old[k][0], new[k][0]
        if a != b and status(new, k) == "open":
            expected_moves[k] = (
                "reopened" if status(old, k) != "open" else "forward" if b > a else "back"
            )
    assert moves == expected_moves
    slips = {r["id"]: r["days_pushed"] for r in t["slipped"].to_dicts()}
    expected_slips = {
        k: float(new[k][3] - old[k][3])
        for k in both
        if status(old, k) == "open" and status(new, k) == "open" and new[k][3] > old[k][3]
    }
    assert slips == expected_slips
    assert set(t["owner_changes"]["id"]) == {k for k in both if old[k][1] != new[k][1]}
    assert set(t["amount_changes"]["id"]) == {k for k in both if old[k][2] != new[k][2]}
    assert diff.changes.height == sum(frame.height for frame in t.values())


def test_money_totals_are_left_out_when_currencies_mix():
    usd = snapshot(("D1", "Acme", "Ana", "Qualified", "open", 1000.0, None, None))
    usd.frames["deals"] = usd.frames["deals"].with_columns(currency=pl.lit("USD"))
    eur = snapshot(
        ("D1", "Acme", "Ana", "Qualified", "open", 1000.0, None, None),
        ("D2", "Beta", "Bo", "Closed Won", "won", 500.0, None, None),
    )
    eur.frames["deals"] = eur.frames["deals"].with_columns(currency=pl.lit("EUR"))
    diff = compare([usd, eur], ["old.csv", "new.csv"])
    assert diff.summary["won"] == 1 and diff.summary["won_amount"] is None
    assert diff.summary["open_pipeline_after"] is None and diff.summary["currency"] is None
    assert diff.notes == ["amounts in EUR, USD: money totals left out of the summary"]
    same = compare([eur, eur], ["a", "b"])
    assert (same.summary["currency"], same.summary["open_pipeline_after"]) == ("EUR", 1000.0)


def test_a_stage_outside_the_order_is_a_move_without_direction():
    old = snapshot(("D1", "Acme", "Ana", "Qualified", "open", 10.0, None, None))
    new = snapshot(("D1", "Acme", "Ana", "On hold", "open", 10.0, None, None))
    diff = compare([old, new], ["old.csv", "new.csv"])
    assert diff.tables["stage_moves"].select("direction", "steps").rows() == [("unordered", None)]
    assert diff.summary["moved_unordered"] == 1


def test_exports_with_no_deal_in_common_are_flagged():
    old = snapshot(("006A", "Acme", "Ana", "Qualified", "open", 10.0, None, None))
    new = snapshot(("006A000", "Acme", "Ana", "Qualified", "open", 10.0, None, None))
    diff = compare([old, new], ["old.csv", "new.csv"])
    assert (diff.summary["created"], diff.summary["removed"]) == (1, 1)
    assert diff.notes[0].startswith("no deal id is in both old.csv and new.csv")


def test_an_amount_filled_in_or_emptied_is_not_a_change_of_zero():
    old = snapshot(
        ("D1", "Acme", "Ana", "New", "open", None, None, None),
        ("D2", "Beta", "Ana", "New", "open", 3000.0, None, None),
        ("D3", "Ceto", "Ana", "New", "open", 100.0, None, None),
    )
    new = snapshot(
        ("D1", "Acme", "Ana", "New", "open", 5000.0, None, None),  # blank -> 5,000
        ("D2", "Beta", "Ana", "New", "open", None, None, None),  # 3,000 -> blank
        ("D3", "Ceto", "Ana", "New", "open", 150.0, None, None),  # +50
    )
    diff = compare([old, new], ["old.csv", "new.csv"])
    edits = diff.tables["amount_changes"].select("id", "edit", "change").rows()
    assert sorted(edits) == [("D1", "set", None), ("D2", "cleared", None), ("D3", "changed", 50.0)]
    s = diff.summary
    assert (s["amount_changes"], s["amount_change_net"]) == (1, 50.0)  # D3 only
    assert (s["amounts_set"], s["amounts_set_total"]) == (1, 5000.0)
    assert (s["amounts_cleared"], s["amounts_cleared_total"]) == (1, 3000.0)
    rows = dict(summary_rows(diff))
    assert rows["Amount set (was blank)"] == "1" and rows["Amount set, total"] == "5,000"
    assert rows["Amount change, net"] == "50"
