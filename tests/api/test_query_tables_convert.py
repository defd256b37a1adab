"""crmkpi.query (SQL), crmkpi.tables (what a query can read) and crmkpi.convert (Parquet)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from api_deals import DEAL_ROWS, write_deals_csv

import crmkpi
from crmkpi.dataset import REJECTS_SCHEMA, Dataset, InputSummary, StageModel
from crmkpi.errors import UsageError


def test_query_reads_canonical_and_extra_columns(ds: Dataset) -> None:
    extra = ds.frames["deals"].with_columns(pl.lit("New").alias("Deal Type"))
    ds = Dataset(frames={**ds.frames, "deals": extra})
    out = crmkpi.query(
        ds,
        'SELECT source, COUNT(*) AS n, SUM(amount) AS total, MIN("Deal Type") AS kind '
        "FROM deals WHERE status = 'won' GROUP BY source ORDER BY source",
    )
    won = [r for r in DEAL_ROWS if r["status"] == "won"]
    sources = sorted({r["source"] for r in won})
    assert out["source"].to_list() == sources
    assert out["n"].to_list() == [sum(r["source"] == s for r in won) for s in sources]
    # By hand: Referral won D1 12000 + D4 20000 + D8 (no amount) = 32000; Web won D3 + D10 = 7000.
    assert out["total"].to_list() == [32000.0, 7000.0]
    assert out["kind"].to_list() == ["New", "New"]


def test_query_joins_tables(ds: Dataset) -> None:
    out = crmkpi.query(
        ds,
        "SELECT l.source, COUNT(DISTINCT d.id) AS deals FROM leads l "
        "JOIN deals d ON d.source = l.source GROUP BY l.source ORDER BY l.source",
    )
    assert out.rows() == [("Referral", 3), ("Web", 6)]


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT nope FROM deals", "nope"),
        ("SELEC id FROM deals", "sql parser error"),
        ("SELECT * FROM nowhere", "nowhere"),
    ],
)
def test_bad_queries_give_the_engine_message_on_one_line(
    ds: Dataset, sql: str, fragment: str
) -> None:
    with pytest.raises(UsageError) as info:
        crmkpi.query(ds, sql)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert "tables: deals, leads, rejects" in message


def test_rejects_are_queryable(ds: Dataset) -> None:
    rejects = pl.DataFrame(
        [{"file": "deals.csv", "row": 7, "column": "amount", "value": "n/a",
          "reason": "not a number", "action": "flagged"}],
        schema=REJECTS_SCHEMA,
    )  # fmt: skip
    ds = Dataset(frames=ds.frames, rejects=rejects)
    out = crmkpi.query(ds, "SELECT file, row, reason FROM rejects")
    assert out.rows() == [("deals.csv", 7, "not a number")]


def test_tables_lists_columns_dtypes_and_rows(ds: Dataset) -> None:
    extra = ds.frames["deals"].with_columns(pl.lit(1).alias("Score"))
    info = {t.name: t for t in crmkpi.tables(Dataset(frames={**ds.frames, "deals": extra}))}
    assert list(info) == ["deals", "leads", "rejects"]
    assert info["deals"].rows == len(DEAL_ROWS)
    cols = {c: (d, canon) for c, d, canon in info["deals"].columns}
    assert cols["amount"] == ("float64", True)
    assert cols["closed_at"] == ("datetime", True)
    assert cols["Score"] == ("int32", False)
    assert info["rejects"].rows == 0


def test_convert_writes_parquet_that_reads_back_identically(ds: Dataset, tmp_path: Path) -> None:
    ds = Dataset(
        frames=ds.frames,
        inputs=[InputSummary("exports/deals.csv", "deals", 10, 10, 0)],
        stages=StageModel(order=("New", "Won"), won=frozenset({"Won"}), origin="config"),
    )
    written = crmkpi.convert(ds, tmp_path / "canonical", csv=True)
    names = sorted(p.relative_to(tmp_path / "canonical").as_posix() for p in written)
    assert names == ["csv/deals.csv", "csv/leads.csv", "csv/rejects.csv", "dataset.json",
                     "deals.parquet", "leads.parquet", "rejects.parquet"]  # fmt: skip
    for table in ("deals", "leads"):
        back = pl.read_parquet(tmp_path / "canonical" / f"{table}.parquet")
        assert back.equals(ds.frames[table])
        assert back.schema == ds.frames[table].schema
    csv_back = pl.read_csv(tmp_path / "canonical" / "csv" / "deals.csv")
    assert csv_back["id"].to_list() == [r["id"] for r in DEAL_ROWS]
    manifest = json.loads((tmp_path / "canonical" / "dataset.json").read_text())
    assert manifest["stages"] == {"order": ["New", "Won"], "won": ["Won"], "lost": [],
                                  "origin": "config"}  # fmt: skip
    assert manifest["inputs"][0]["path"] == "exports/deals.csv"
    assert manifest["tables"] == {"deals": 10, "leads": 3}


def test_converted_folder_loads_back_with_the_same_numbers(tmp_path: Path) -> None:
    write_deals_csv(tmp_path / "exports")
    original = crmkpi.load(tmp_path / "exports")
    crmkpi.convert(original, tmp_path / "canonical")
    again = crmkpi.load(tmp_path / "canonical")
    assert again.frames["deals"].equals(original.frames["deals"])
    before = crmkpi.metric(original, ["win_rate", "revenue_won"], by="owner", period="month")
    after = crmkpi.metric(again, ["win_rate", "revenue_won"], by="owner", period="month")
    assert after.equals(before)


def test_convert_refuses_a_file_as_folder(ds: Dataset, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        crmkpi.convert(ds, target)


def test_convert_refuses_the_folder_of_its_inputs(tmp_path: Path) -> None:
    write_deals_csv(tmp_path / "exports")
    ds = crmkpi.load(tmp_path / "exports")
    with pytest.raises(UsageError, match="it holds input files"):
        crmkpi.convert(ds, tmp_path / "exports")
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["deals.csv"]
