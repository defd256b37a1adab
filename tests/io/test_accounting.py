"""Row accounting as an invariant: whatever the mix of rows, each one is loaded or explained."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.io.load import load

KINDS = st.sampled_from(["ok", "blank", "no_date", "bad_date", "bad_amount", "na_amount"])


@settings(max_examples=40, deadline=None)
@given(st.lists(KINDS, min_size=1, max_size=30), st.booleans())
def test_every_row_is_loaded_or_explained(kinds: list[str], footer: bool) -> None:
    lines = ["Deal ID,Stage,Created Date,Amount"]
    for i, kind in enumerate(kinds):
        date = {"no_date": "", "bad_date": "2024-13-45"}.get(kind, "2024-01-02")
        amount = {"bad_amount": "12-15", "na_amount": "N/A"}.get(kind, str(i))
        lines.append(",,," if kind == "blank" else f"D{i},Won,{date},{amount}")
    if footer:
        lines.append(f"Grand Totals ({len(kinds)} records),,,")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deals.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        ds = load([path])
    # expected by plain Python over the row kinds (line = index + 2: the header is line 1); a
    # deal needs an id and a stage, not a date: a missing or unreadable date only flags
    loaded = [f"D{i}" for i, k in enumerate(kinds) if k != "blank"]
    rejected = {i + 2 for i, k in enumerate(kinds) if k == "blank"}
    flagged = {i + 2 for i, k in enumerate(kinds) if k in ("bad_amount", "bad_date")}
    if footer:
        rejected.add(len(kinds) + 2)
    (summary,) = ds.inputs
    assert summary.rows_read == len(kinds) + footer
    assert summary.rows_read == summary.rows_loaded + summary.rows_rejected
    assert ds.frames["deals"]["id"].to_list() == loaded
    actions = {(r, a) for r, a in ds.rejects.select("row", "action").iter_rows()}
    assert {r for r, a in actions if a == "rejected"} == rejected
    assert {r for r, a in actions if a == "flagged"} == flagged
    expected_cells = {
        column: n
        for column, kind in (("amount", "bad_amount"), ("created_at", "bad_date"))
        if (n := kinds.count(kind))
    }
    assert summary.cells_flagged == expected_cells
