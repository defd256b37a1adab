"""One row per thing across files: the same export twice is loaded once, every row accounted."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkpi.config import parse_config
from crmkpi.errors import ConfigError, InputError
from crmkpi.io.load import load

HEADER = "Deal ID,Stage,Amount,Created Date\n"


def write(path: Path, text: str, mtime: float | None = None) -> Path:
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def accounted(ds) -> None:
    for s in ds.inputs:
        assert s.rows_read == s.rows_loaded + s.rows_rejected, s.path
    rejected = ds.rejects.filter(pl.col("action") == "rejected").height
    assert rejected == sum(s.rows_rejected for s in ds.inputs)


def test_the_same_table_as_csv_and_xlsx_is_loaded_once(tmp_path: Path) -> None:
    write(tmp_path / "pipeline.csv", HEADER + "1,Won,100,2024-01-02\n2,Lost,0,2024-01-03\n")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Deal ID", "Stage", "Amount", "Created Date"])
    ws.append(["1", "Won", 100, datetime(2024, 1, 2)])  # native Excel number and date
    ws.append(["2", "Lost", 0, datetime(2024, 1, 3)])
    wb.save(tmp_path / "pipeline.xlsx")
    ds = load([tmp_path])
    accounted(ds)
    assert ds.frames["deals"].height == 2  # not 4
    csv, xlsx = ds.inputs
    assert (csv.rows_loaded, csv.rows_rejected) == (2, 0)
    assert (xlsx.rows_loaded, xlsx.rows_rejected) == (0, 2)
    rejected = ds.rejects.filter(pl.col("action") == "rejected")
    # xlsx line 2 repeats csv line 2 (the first data line under the header), and so on
    assert rejected.select("row", "value", "reason").rows() == [
        (2, "1", f"duplicate of {tmp_path / 'pipeline.csv'}:2"),
        (3, "2", f"duplicate of {tmp_path / 'pipeline.csv'}:3"),
    ]
    assert ds.conflicts == []


def test_overlapping_exports_keep_each_deal_once(tmp_path: Path) -> None:
    # January's and February's exports both list deal 2, unchanged: 3 deals, not 4
    write(tmp_path / "jan.csv", HEADER + "1,Won,100,2024-01-02\n2,Open,50,2024-01-20\n")
    write(tmp_path / "feb.csv", HEADER + "2,Open,50,2024-01-20\n3,Open,70,2024-02-02\n")
    ds = load([tmp_path / "jan.csv", tmp_path / "feb.csv"])
    accounted(ds)
    assert sorted(ds.frames["deals"]["id"].to_list()) == ["1", "2", "3"]
    assert ds.inputs[1].rows_rejected == 1


def test_conflicting_rows_newer_export_wins_and_alerts(tmp_path: Path) -> None:
    # deal 2 moved from Open (older file) to Won with a new amount (newer file)
    old = write(tmp_path / "a.csv", HEADER + "1,Won,100,2024-01-02\n2,Open,50,2024-01-20\n", 1e9)
    new = write(tmp_path / "b.csv", HEADER + "2,Won,80,2024-01-20\n", 2e9)
    ds = load([old, new])
    accounted(ds)
    deals = ds.frames["deals"].sort("id")
    assert deals.select("id", "stage", "amount").rows() == [("1", "Won", 100.0), ("2", "Won", 80.0)]
    reasons = ds.rejects.filter(pl.col("action") == "rejected")["reason"].to_list()
    assert reasons == [f"superseded by {new}:2 (newer export)"]
    assert ds.conflicts == [
        f"1 deals ids have different rows in {old} and {new}: the newer export's rows kept"
    ]
    # the file modified later wins whatever the order it is read in
    write(old, old.read_text(), 3e9)
    again = load([old, new])
    assert again.frames["deals"].sort("id")["amount"].to_list() == [100.0, 50.0]


def test_conflict_rules_keep_and_refuse(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", HEADER + "2,Open,50,2024-01-20\n")
    b = write(tmp_path / "b.csv", HEADER + "2,Won,80,2024-01-20\n")

    def config(rule: str):
        return parse_config({"duplicates": {"rule": rule}}, tmp_path / "crmkpi.toml")

    kept = load([a, b], config("keep"))
    assert kept.frames["deals"].height == 2 and len(kept.conflicts) == 1
    with pytest.raises(InputError, match="1 deals ids have different rows") as err:
        load([a, b], config("refuse"))
    assert str(a) in str(err.value) and str(b) in str(err.value)
    with pytest.raises(ConfigError, match="duplicates.rule must be one of"):
        config("latest")


def test_a_table_without_ids_repeated_whole_is_loaded_once(tmp_path: Path) -> None:
    spend = "Date,Source,Amount\n2024-01-01,Ads,100\n2024-01-02,Ads,100\n"
    write(tmp_path / "spend.csv", spend)
    write(tmp_path / "spend_copy.csv", spend)
    write(tmp_path / "spend_feb.csv", "Date,Source,Amount\n2024-02-01,Ads,100\n")
    ds = load([tmp_path])
    accounted(ds)
    # the copy adds nothing; February's different file is kept: 100 + 100 + 100
    assert ds.frames["spend"]["amount"].sum() == 300
    assert [s.rows_rejected for s in ds.inputs] == [0, 2, 0]


def test_identical_rows_within_one_file_are_not_dropped(tmp_path: Path) -> None:
    # repeated ids inside one export are a data-quality fact, not a cross-file duplicate
    f = write(tmp_path / "deals.csv", HEADER + "1,Won,100,2024-01-02\n1,Won,100,2024-01-02\n")
    assert load([f]).frames["deals"].height == 2


@settings(max_examples=25, deadline=None)
@given(
    first=st.lists(st.integers(1, 8), min_size=1, max_size=6, unique=True),
    second=st.lists(st.integers(1, 8), min_size=1, max_size=6, unique=True),
    changed=st.sets(st.integers(1, 8)),
)
def test_every_id_once_and_every_row_accounted(
    tmp_path_factory: pytest.TempPathFactory, first: list[int], second: list[int], changed: set[int]
) -> None:
    folder = tmp_path_factory.mktemp("exports")
    a = write(folder / "a.csv", HEADER + "".join(f"{i},Open,{i},2024-01-01\n" for i in first), 1e9)
    rows = "".join(f"{i},Open,{i + (i in changed)},2024-01-01\n" for i in second)
    b = write(folder / "b.csv", HEADER + rows, 2e9)
    ds = load([a, b])
    accounted(ds)
    deals = ds.frames["deals"]
    assert sorted(deals["id"].to_list()) == sorted(str(i) for i in set(first) | set(second))
    # an id in both files with a changed amount takes the newer (b) value
    amounts = dict(zip(deals["id"].to_list(), deals["amount"].to_list(), strict=True))
    for i in set(second):
        assert amounts[str(i)] == i + (i in changed)


def test_a_deals_export_twice_does_not_double_its_wide_stage_history(tmp_path: Path) -> None:
    # HubSpot's deal export carries a "Date entered" column per stage: the copy adds neither
    # deals nor stage changes (2 deals and 3 changes, not 4 and 6)
    export = (
        "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Create Date,Close Date,"
        'Date entered "Appointment Scheduled (Sales Pipeline)",'
        'Date entered "Closed Won (Sales Pipeline)"\n'
        "101,Acme,closedwon,Sales Pipeline,5000,2024-01-02 10:00,2024-02-01 09:00,"
        "2024-01-02 10:00,2024-02-01 09:00\n"
        "102,Beta,appointmentscheduled,Sales Pipeline,1200,2024-01-05 11:00,,2024-01-05 11:00,\n"
    )
    write(tmp_path / "hubspot-deals.csv", export)
    write(tmp_path / "hubspot-deals-copy.csv", export)
    ds = load([tmp_path])
    accounted(ds)
    assert ds.frames["deals"].height == 2
    assert ds.frames["stage_history"].height == 3


def test_a_copy_in_another_order_is_still_a_copy(tmp_path: Path) -> None:
    # spend has no ids: the copy is found as the same rows in another order; deals by id
    write(tmp_path / "spend.csv", "Date,Source,Amount\n2024-01-01,Ads,100\n2024-01-02,Web,40\n")
    write(tmp_path / "spend_2.csv", "Date,Source,Amount\n2024-01-02,Web,40\n2024-01-01,Ads,100\n")
    write(tmp_path / "deals.csv", HEADER + "1,Won,100,2024-01-02\n2,Lost,0,2024-01-03\n")
    write(tmp_path / "deals_2.csv", HEADER + "2,Lost,0,2024-01-03\n1,Won,100,2024-01-02\n")
    ds = load([tmp_path])
    accounted(ds)
    assert ds.frames["spend"]["amount"].sum() == 140  # not 280
    assert ds.frames["deals"].height == 2
    reasons = dict(
        ds.rejects.filter(pl.col("file").str.ends_with("spend_2.csv"))
        .select("row", "reason")
        .rows()
    )
    # spend_2 line 2 (Web, 40) repeats spend line 3; its line 3 (Ads, 100) spend line 2
    assert reasons == {
        2: f"duplicate of {tmp_path / 'spend.csv'}:3",
        3: f"duplicate of {tmp_path / 'spend.csv'}:2",
    }


def test_the_report_alerts_on_conflicting_rows(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crmkpi.cli import app

    write(tmp_path / "a.csv", HEADER + "2,Open,50,2024-01-20\n", 1e9)
    write(tmp_path / "b.csv", HEADER + "2,Won,80,2024-01-20\n", 2e9)
    result = CliRunner().invoke(app, ["report", str(tmp_path), "--format", "markdown"])
    assert "1 deals ids have different rows in" in result.output.replace("\n", " ")
    with pytest.raises(ConfigError, match="unknown key duplicates.mode"):
        parse_config({"duplicates": {"mode": "newer"}}, tmp_path / "crmkpi.toml")
