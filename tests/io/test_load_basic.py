"""Loading plain English CSV and XLSX exports: mapping, parsing and row accounting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from crmkpi.errors import InputError
from crmkpi.io.load import load


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_deals_mapped_parsed_and_accounted(tmp_path: Path) -> None:
    f = write(
        tmp_path / "deals.csv",
        "Deal ID,Deal Name,Owner,Stage,Amount,Created Date,Close Date,Industry\n"
        '1,Acme,Ann,Closed Won,"1,200.50",2024-01-05,2024-02-01,Retail\n'
        "2,Beta,Bob,Closed Lost,300,2024-01-10,2024-02-15,Finance\n"
        "3,Gamma,Ann,Proposal,abc,2024-01-20,,Retail\n"
        ",,,,,,,\n"
        "4,Delta,Bob,Negotiation,50,,,Retail\n",
    )
    ds = load([f])
    deals = ds.frames["deals"]
    # every deal loads, Delta too: a deal needs an id and a stage, not a creation date
    assert deals["id"].to_list() == ["1", "2", "3", "4"]
    assert deals["status"].to_list() == ["won", "lost", "open", "open"]
    assert deals["amount"].to_list() == [1200.5, 300.0, None, 50.0]  # 'abc' flagged, set null
    assert deals["created_at"].to_list()[0] == datetime(2024, 1, 5)
    assert deals["created_at"].to_list()[3] is None
    assert deals["Industry"].to_list() == ["Retail", "Finance", "Retail", "Retail"]
    (summary,) = ds.inputs
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (5, 4, 1)
    assert summary.cells_flagged == {"amount": 1}
    rejects = ds.rejects.sort("row")
    # header is line 1: 'abc' is on line 4, the blank line is 5
    assert rejects.select("row", "action").rows() == [(4, "flagged"), (5, "rejected")]
    assert rejects["reason"][1] == "blank"


def test_xlsx_with_title_rows_and_footer(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Report"
    ws.append(["Opportunity Pipeline Report"])
    ws.append(["Filtered By: Close Date = Current FY"])
    ws.append([])
    ws.append(["Opportunity Name", "Opportunity Owner", "Stage", "Amount", "Created Date"])
    ws.append(["Acme", "Ann", "Closed Won", 1000, datetime(2024, 3, 1, 9, 30)])
    ws.append(["Beta", "Bob", "Prospecting", 250.5, datetime(2024, 3, 2)])
    ws.append(["Grand Totals (2 records)", None, None, 1250.5, None])
    ws.append(["Confidential Information - Do Not Distribute"])
    wb.save(tmp_path / "pipeline.xlsx")
    ds = load([tmp_path / "pipeline.xlsx"])
    deals = ds.frames["deals"]
    assert deals["name"].to_list() == ["Acme", "Beta"]
    assert deals["amount"].sum() == 1250.5  # 1000 + 250.5, totals row not double counted
    assert deals["created_at"][0] == datetime(2024, 3, 1, 9, 30)
    (summary,) = ds.inputs
    assert summary.header_row == 4
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (4, 2, 2)
    assert sorted(ds.rejects["reason"].to_list()) == ["footer", "footer"]
    assert sorted(ds.rejects["row"].to_list()) == [7, 8]
    assert ds.rejects["value"][0] == "Grand Totals (2 records)"


def test_missing_path_and_unknown_table(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load([tmp_path / "nope.csv"])
    f = write(tmp_path / "weird.csv", "alpha,beta\n1,2\n")
    with pytest.raises(InputError, match="weird.csv.*headers found: 'alpha', 'beta'"):
        load([f])


def test_late_formatted_number_outside_the_sample_is_still_read(tmp_path: Path) -> None:
    # 2,500 distinct plain amounts fill the 2,000-value sample; the formatted one comes later
    lines = ["Deal ID,Stage,Created Date,Amount"]
    lines += [f"{i},Won,2024-01-01,{i}.25" for i in range(2500)]
    lines += ['late,Won,2024-01-01,"1,234.50"', "bad,Won,2024-01-01,12-15"]
    f = write(tmp_path / "deals.csv", "\n".join(lines) + "\n")
    ds = load([f])
    amounts = ds.frames["deals"]["amount"]
    assert amounts[2500] == 1234.5
    assert amounts[2501] is None
    assert ds.inputs[0].cells_flagged == {"amount": 1}
    # sum of i + 0.25 for i < 2500, plus 1234.5
    assert amounts.sum() == sum(i + 0.25 for i in range(2500)) + 1234.5


def test_cells_are_stripped_and_null_words_mean_no_value(tmp_path: Path) -> None:
    f = write(
        tmp_path / "deals.csv",
        "Deal ID,Owner,Stage,Created Date,Amount,Note\n"
        "1,  Ann \t,Won,2024-01-01,N/A,NA\n"
        "2,Bob,Won,\u00a02024-01-02 ,#N/A, keep me \n",
    )
    ds = load([f])
    deals = ds.frames["deals"]
    assert deals["owner"].to_list() == ["Ann", "Bob"]
    assert deals["created_at"].to_list() == [datetime(2024, 1, 1), datetime(2024, 1, 2)]
    # N/A and #N/A in a mapped column are "no value": null, and not flagged as unreadable
    assert deals["amount"].to_list() == [None, None]
    assert ds.inputs[0].cells_flagged == {}
    # an extra column keeps its text (only stripped): 'NA' may be a real value there
    assert deals["Note"].to_list() == ["NA", "keep me"]
