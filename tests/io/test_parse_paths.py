"""The fast path of reading (each column's lean parser, then its complete parser on the distinct
values the lean one missed) against the slow reference (the complete parser on every cell):
on every file of the bad-input corpus and of $CRMKPI_REALDATA the two give the same Dataset,
dtypes included, and the same rejects row for row."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

import crmkpi
from crmkpi.dataset import Dataset
from crmkpi.errors import InputError
from crmkpi.io.columns import COMPLETE_PARSE_ENV

_CORPUS_FILE = Path(__file__).parents[1] / "badinput" / "badinput_corpus.py"
_spec = importlib.util.spec_from_file_location("badinput_corpus_for_paths", _CORPUS_FILE)
assert _spec is not None and _spec.loader is not None
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

# every builder of the corpus except the archive bombs and the 50 MB cell: those are refused
# (or kept whole) before any column is parsed, and cost seconds each
_SKIPPED = {"xlsx_zip_bomb", "xlsx_lying_zip_bomb", "xml_entity_bomb", "huge_cell", "deals_csv"}
BUILDERS = sorted(
    name
    for name, f in vars(corpus).items()
    if callable(f) and not name.startswith("_") and getattr(f, "__module__", "") == corpus.__name__
    and name not in _SKIPPED
)  # fmt: skip
ROOT = os.environ.get("CRMKPI_REALDATA")


def _load_both(target: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """The Dataset (or the refusal's message) by the fast path, then by the complete parser."""

    def load() -> Dataset | str:
        try:
            return crmkpi.load([target])
        except InputError as exc:
            return exc.message

    monkeypatch.delenv(COMPLETE_PARSE_ENV, raising=False)
    fast = load()
    monkeypatch.setenv(COMPLETE_PARSE_ENV, "1")
    reference = load()
    monkeypatch.delenv(COMPLETE_PARSE_ENV)
    return fast, reference


def _assert_same(fast: object, reference: object) -> None:
    if isinstance(reference, str) or isinstance(fast, str):
        assert fast == reference
        return
    assert isinstance(fast, Dataset) and isinstance(reference, Dataset)
    assert fast.frames.keys() == reference.frames.keys()
    for table, frame in reference.frames.items():
        assert fast.frames[table].schema == frame.schema, table
        assert fast.frames[table].equals(frame), table
    assert fast.rejects.schema == reference.rejects.schema
    assert fast.rejects.rows() == reference.rejects.rows()
    assert [i.to_json() for i in fast.inputs] == [i.to_json() for i in reference.inputs]
    assert fast.stages == reference.stages


@pytest.mark.parametrize("builder", BUILDERS)
def test_bad_input_corpus_reads_the_same_by_both_paths(
    builder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build: Callable[[Path], Path] = getattr(corpus, builder)
    target = build(tmp_path)
    _assert_same(*_load_both(target, monkeypatch))


def _late_oddities(folder: Path) -> Path:
    """50,000 plain rows, and past the rows the sniffer samples a few cells the lean parsers
    cannot read: they take the repair path, and must read as the complete parser reads them."""
    rows = [f"D{i},Deal {i},Proposal,{1000 + i}.5,2024-01-{1 + i % 28:02d} 10:00:00"
            for i in range(50_000)]  # fmt: skip
    odd = {
        20_001: 'D20001,Deal 20001,Proposal,"1,234.50",2024-01-05T10:00:00Z',
        33_333: "D33333,Deal 33333,Proposal,$2000,2024-01-05  10:00:00",
        44_444: "D44444,Deal 44444,Proposal,(300),not a date",
        45_000: "D45000,Deal 45000,Proposal,twelve,2024-01-05 10:00:00",
    }
    for i, line in odd.items():
        rows[i] = line
    path = folder / "deals.csv"
    header = "Deal ID,Deal Name,Deal Stage,Amount,Create Date\n"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_cells_outside_the_sample_read_the_same_by_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, reference = _load_both(_late_oddities(tmp_path), monkeypatch)
    _assert_same(fast, reference)
    assert isinstance(fast, Dataset)
    deals = fast.frames["deals"]
    by_id = dict(zip(deals["id"].to_list(), deals["amount"].to_list(), strict=True))
    # the repairs really ran: "1,234.50" is 1234.5, "$2000" is 2000, "(300)" is -300
    assert (by_id["D20001"], by_id["D33333"], by_id["D44444"]) == (1234.5, 2000.0, -300.0)
    created = dict(zip(deals["id"].to_list(), deals["created_at"].to_list(), strict=True))
    assert created["D33333"] == datetime(2024, 1, 5, 10)  # the double space, repaired
    # "twelve" is no number, "not a date" and the T...Z form (no format of the column) no date:
    # flagged on their lines (row index + the header line + 1), never rejected
    flagged = fast.rejects.select("row", "column", "action").rows()
    assert flagged == [
        (20_003, "Create Date", "flagged"),
        (44_446, "Create Date", "flagged"),
        (45_002, "Amount", "flagged"),
    ]


@pytest.mark.skipif(not ROOT, reason="CRMKPI_REALDATA not set")
@pytest.mark.parametrize(
    "folder",
    sorted(p.name for p in Path(ROOT or ".").iterdir() if p.is_dir()) if ROOT else [],
)
def test_real_exports_read_the_same_by_both_paths(
    folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _assert_same(*_load_both(Path(ROOT or ".") / folder, monkeypatch))


def test_the_switch_reads_every_cell_with_the_complete_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reference really is another path: with the switch, the plain sample's lean cast is
    replaced by the complete parser, which reads "1,234.50" where a cast cannot."""
    from crmkpi.io.columns import plan_column

    sample = pl.Series(["1.5", "2"])
    cells = pl.DataFrame({"a": ["1,234.50", "2"]})
    monkeypatch.delenv(COMPLETE_PARSE_ENV, raising=False)
    lean = plan_column("deals", "amount", "a", sample)
    assert lean.repair is not None
    assert cells.select(lean.expr)["a"].to_list() == [None, 2.0]
    monkeypatch.setenv(COMPLETE_PARSE_ENV, "1")
    complete = plan_column("deals", "amount", "a", sample)
    assert complete.repair is None
    assert cells.select(complete.expr)["a"].to_list() == [1234.5, 2.0]
