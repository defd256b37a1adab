"""Duplicate deal ids and history rows of unknown deals, counted per file, against a plain-Python
count on random ids: sorted (the check that spares the group-by) or not, with runs of one
deal's history rows, ids missing, and several files; and the id checks of crmkpi.io.ids."""

from __future__ import annotations

from collections import Counter

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.dataset import Dataset, InputSummary
from crmkpi.io.ids import ascending, plain_integers
from crmkpi.io.quality import quality_facts

IDS = st.one_of(st.none(), st.sampled_from(["1", "2", "9", "10", "11", "a", "b"]))


@st.composite
def cases(draw: st.DrawFn) -> Dataset:
    ids = draw(st.lists(IDS, max_size=12))
    if draw(st.booleans()):  # listed by id, as text or as numbers
        ids = sorted((i for i in ids if i is not None), key=lambda i: (len(i), i))
    if draw(st.booleans()):
        ids = list(dict.fromkeys(ids))  # each once
    split = draw(st.integers(0, len(ids)))
    history = draw(st.lists(IDS, max_size=14))
    if draw(st.booleans()):
        history = sorted(history, key=lambda i: (i is None, i or ""))  # runs of one deal
    hsplit = draw(st.integers(0, len(history)))
    deals = pl.DataFrame(
        {"id": ids, "owner": ["x"] * len(ids)}, schema={"id": pl.String, "owner": pl.String}
    )
    stage_history = pl.DataFrame({"deal_id": history}, schema={"deal_id": pl.String})
    inputs = [
        InputSummary("a.csv", "deals", split, split, 0),
        InputSummary("b.csv", "deals", len(ids) - split, len(ids) - split, 0),
        InputSummary("h1.csv", "stage_history", hsplit, hsplit, 0),
        InputSummary("h2.csv", "stage_history", len(history) - hsplit, len(history) - hsplit, 0),
    ]
    return Dataset(frames={"deals": deals, "stage_history": stage_history}, inputs=inputs)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_duplicate_and_unknown_ids_counted_per_file(ds: Dataset) -> None:
    got = {(f, k): n for f, _, k, n in quality_facts(ds).iter_rows()}
    ids = ds.frames["deals"]["id"].to_list()
    split = ds.inputs[0].rows_loaded
    expected: Counter = Counter()
    for name, part in (("a.csv", ids[:split]), ("b.csv", ids[split:])):
        counts = Counter(i for i in part if i is not None)
        expected[(name, "duplicate_ids")] = sum(n for n in counts.values() if n > 1)
    history = ds.frames["stage_history"]["deal_id"].to_list()
    hsplit = ds.inputs[2].rows_loaded
    known = {i for i in ids if i is not None}
    for name, part in (("h1.csv", history[:hsplit]), ("h2.csv", history[hsplit:])):
        expected[(name, "history_unknown_deals")] = sum(
            1 for i in part if i is not None and i not in known
        )
    if not ids:  # the facts are about deals: without any there are none
        expected.clear()
    assert got == {key: n for key, n in expected.items() if n > 0}


def test_ascending_ids_by_hand() -> None:
    def check(ids: list[str | None]) -> bool:
        return pl.select(ascending(pl.lit(pl.Series(ids, dtype=pl.String)))).item()

    assert check(["9", "10", "11"])  # as numbers
    assert check(["10", "11", "9"])  # as text
    assert not check(["9", "10", "9"])  # 9 again
    assert not check(["1", "1", "2"])  # repeated: not strictly
    assert not check(["1", None, "2"])  # a missing id proves nothing


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-٣ ", min_size=1, max_size=5))
def test_plain_integers_are_those_that_read_back_the_same(text: str) -> None:
    """Python's int() reads more spellings (signs, spaces, other digits); an id is plain when
    writing the number back gives the text again."""
    got = pl.select(plain_integers(pl.lit(pl.Series([text], dtype=pl.String)))).item()
    try:
        plain = str(int(text)) == text
    except ValueError:
        plain = False
    assert got == plain
