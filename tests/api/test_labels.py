"""Label columns (owner, source, status...) are held dictionary-encoded and given back as text."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from api_deals import DEAL_ROWS, write_deals_csv

import crmkpi


def _loaded(tmp_path: Path) -> crmkpi.Dataset:
    write_deals_csv(tmp_path / "export")
    return crmkpi.load([tmp_path / "export" / "deals.csv"])


def test_labels_are_held_as_categoricals(tmp_path: Path) -> None:
    deals = _loaded(tmp_path).frames["deals"]
    for column in ("owner", "source", "status"):
        assert deals[column].dtype == pl.Categorical()
    assert deals["id"].dtype == pl.String  # ids are not labels: nearly every value differs


def test_results_query_and_tables_give_labels_as_text(tmp_path: Path) -> None:
    ds = _loaded(tmp_path)
    won = crmkpi.metric(ds, "deals_won", by="source")
    assert won["source"].dtype == pl.String
    # Counted from the rows: won deals per source (a source without a win counts 0).
    expected = {r["source"]: 0 for r in DEAL_ROWS}
    for r in DEAL_ROWS:
        if r["status"] == "won":
            expected[r["source"]] = expected.get(r["source"], 0) + 1
    assert dict(won.select("source", "deals_won").rows()) == expected
    # Text functions work on labels in SQL, as on any text.
    out = crmkpi.query(ds, "SELECT DISTINCT UPPER(source) AS s FROM deals ORDER BY s")
    assert out["s"].to_list() == sorted({r["source"].upper() for r in DEAL_ROWS})
    deals = next(t for t in crmkpi.tables(ds) if t.name == "deals")
    dtypes = {name: dtype for name, dtype, _ in deals.columns}
    assert dtypes["source"] == dtypes["id"] == "string"


def test_labels_sort_as_text(tmp_path: Path) -> None:
    ds = _loaded(tmp_path)
    owners = crmkpi.table(ds, "owners")["owner"].drop_nulls().to_list()
    by_rank = crmkpi.table(ds, "owners").sort(["rank", "owner"])["owner"].drop_nulls().to_list()
    assert owners == by_rank
    # Breakdown rows come in the text order of the label, not in order of first appearance.
    won = crmkpi.metric(ds, "deals_created", by="owner")["owner"].drop_nulls().to_list()
    assert won == sorted({r["owner"] for r in DEAL_ROWS if r["owner"]})
