"""Loading plain English CSV and XLSX exports: mapping, parsing and row accounting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from crmkpi.config import parse_config
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


# Config sources, parse hints, strict mode, folders, formats and the errors a person acts on.


def test_config_source_columns_and_parse_hints(tmp_path: Path) -> None:
    write(
        tmp_path / "export_2024.txt",
        "Ref|Client|Phase|Net|Opened\n"
        "A-1|Acme|Won|1.234|03/04/2024\n"
        "A-2|Beta|Talks|2.000|04/04/2024\n",
    )
    raw = {
        "sources": {
            "deals": {
                "path": "export_*.txt",
                "columns": {"id": "Ref", "customer_id": "Client", "stage": "Phase",
                            "amount": "Net", "created_at": "Opened"},
                "parse": {"delimiter": "|", "decimal": ",", "date_order": "mdy"},
            }
        },
        "stages": {"won": ["Won"], "order": ["Talks", "Won"]},
    }  # fmt: skip
    config = parse_config(raw, tmp_path / "crmkpi.toml")
    ds = load([], config)
    deals = ds.frames["deals"]
    # decimal comma hint: 1.234 is one thousand two hundred thirty-four
    assert deals["amount"].to_list() == [1234.0, 2000.0]
    # month-first hint: 03/04/2024 is 4 March
    assert deals["created_at"][0] == datetime(2024, 3, 4)
    assert deals["status"].to_list() == ["won", "open"]
    assert ds.stages.order == ("Talks", "Won") and ds.stages.origin == "config"
    assert ds.inputs[0].columns["id"] == "Ref"


def test_strict_raises_at_first_bad_row(tmp_path: Path) -> None:
    f = write(
        tmp_path / "deals.csv",
        "Deal ID,Stage,Created Date,Amount\n1,Won,2024-01-01,10\n2,Won,2024-01-02,ten\n",
    )
    with pytest.raises(InputError) as err:
        load([f], strict=True)
    # line 3 of the file, column Amount, the value and what was expected
    assert err.value.row == 3
    assert err.value.column == "Amount"
    assert "'ten'" in str(err.value) and "a number" in str(err.value)
    assert load([f]).inputs[0].cells_flagged == {"amount": 1}
    footer = write(
        tmp_path / "report.csv", "Deal ID,Stage,Created Date\n1,Won,2024-01-01\n\nTotal,,\n"
    )
    assert load([footer], strict=True).frames["deals"].height == 1  # layout rows do not stop it


def test_missing_required_column_names_closest_header(tmp_path: Path) -> None:
    f = write(tmp_path / "deals.csv", "Deal ID,Stagee,Amount,Creatd\n1,Won,10,2024-01-01\n")
    with pytest.raises(InputError) as err:
        load([f])
    text = str(err.value)
    assert "deals.csv" in text and "stage or status" in text and "closest header: 'Stagee'" in text


def test_folder_skips_non_tables_and_header_only_file_loads_empty(tmp_path: Path) -> None:
    write(tmp_path / "README.md", "# exports\n")
    write(tmp_path / "crmkpi.toml", "title = 'x'\n")
    write(tmp_path / "b_leads.csv", "Lead ID,Lead Source,Created Date\n")
    write(tmp_path / "a_deals.tsv", "Deal ID\tStage\tCreated Date\n1\tWon\t2024-01-01\n")
    ds = load([tmp_path])
    assert [Path(s.path).name for s in ds.inputs] == ["a_deals.tsv", "b_leads.csv"]
    assert ds.frames["leads"].height == 0
    assert ds.inputs[0].delimiter == "\t"
    write(tmp_path / "empty.csv", "")
    with pytest.raises(InputError, match="empty.csv"):
        load([tmp_path / "empty.csv"])


def test_utf16_excel_unicode_text_and_workbook_sheets(tmp_path: Path) -> None:
    text = "Deal Name\tStage\tAmount\tCreated Date\nΑλφα\tWon\t10,5\t05.01.2024\n"
    f = tmp_path / "deals.txt"
    f.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    ds = load([f])
    assert ds.inputs[0].encoding == "utf-16"
    assert ds.frames["deals"]["name"].to_list() == ["Αλφα"]
    assert ds.frames["deals"]["amount"].to_list() == [10.5]

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Exported for the board"])
    leads = wb.create_sheet("Leads")
    leads.append(["Lead ID", "Lead Source", "Created Date"])
    leads.append(["L1", "Web", datetime(2024, 2, 1)])
    deals = wb.create_sheet("Deals")
    deals.append(["Deal ID", "Stage", "Created Date", "Amount"])
    deals.append(["D1", "Closed Won", datetime(2024, 2, 3), 99])
    deals.append(["D2", "Closed Won", datetime(2024, 2, 4), "lots"])
    deals.append(["Total", None, None, 99])
    wb.save(tmp_path / "book.xlsx")
    ds = load([tmp_path / "book.xlsx"])  # every sheet that holds a table; notes skipped
    assert sorted(ds.frames) == ["deals", "leads"]
    assert [s.sheet for s in ds.inputs] == ["Leads", "Deals"]
    assert ds.inputs[0].path == str(tmp_path / "book.xlsx")
    # 'lots' on sheet row 3 is flagged, the Total row on row 4 is a footer
    assert ds.rejects.select("file", "row", "reason").rows() == [
        (f"{tmp_path / 'book.xlsx'} [Deals]", 3, "not a number (decimal point)"),
        (f"{tmp_path / 'book.xlsx'} [Deals]", 4, "footer"),
    ]
    with pytest.raises(InputError, match="no sheet named 'Nope'"):
        from crmkpi.io.load import read_file

        read_file(tmp_path / "book.xlsx", None, None, sheet="Nope")
    with pytest.raises(InputError, match="not a workbook"):
        read_file(f, None, None, sheet="Deals")


def test_probability_percent_and_activity_success(tmp_path: Path) -> None:
    deals = write(
        tmp_path / "deals.csv",
        "Deal ID,Stage,Created Date,Probability\n1,Proposal,2024-01-01,40%\n"
        "2,Negotiation,2024-01-02,75%\n",
    )
    calls = write(
        tmp_path / "calls.csv",
        "Activity ID,Type,Date,Outcome\n1,Call,2024-01-01 10:00,Connected\n"
        "2,Call,2024-01-01 11:00,No answer\n3,Call,2024-01-01 12:00,Rescheduled\n",
    )
    ds = load([deals, calls])
    assert ds.frames["deals"]["probability"].to_list() == [0.4, 0.75]
    assert ds.frames["activities"]["success"].to_list() == [True, False, None]


def test_converted_parquet_folder_reads_back(tmp_path: Path) -> None:
    from crmkpi.reporting.dataset_files import write_dataset

    f = write(
        tmp_path / "deals.csv",
        "Deal ID,Stage,Created Date,Amount,Industry\n1,Closed Won,2024-01-01,5,Retail\n"
        "2,Proposal,2024-01-02,7,Bank\n,,,,\n",
    )
    first = load([f])
    write_dataset(first, tmp_path / "canonical")
    again = load([tmp_path / "canonical"])
    assert again.frames["deals"].equals(first.frames["deals"])
    assert again.rejects.equals(first.rejects)  # the blank line's reject travels along
    # the account of the original file and the stage model come back from the manifest
    assert [(i.path, i.rows_read) for i in again.inputs] == [(str(f), 3)]
    assert again.stages == first.stages
    with pytest.raises(InputError, match="named after its table"):
        (tmp_path / "other.parquet").write_bytes(
            (tmp_path / "canonical/deals.parquet").read_bytes()
        )
        load([tmp_path / "other.parquet"])


def test_line_numbers_count_cells_spanning_lines(tmp_path: Path) -> None:
    f = write(
        tmp_path / "deals.csv",
        'Deal ID,Stage,Created Date,Amount,Notes\n1,Won,2024-01-01,5,"first line\nsecond line"\n'
        "2,Won,2024-01-02,oops,plain\n",
    )
    ds = load([f])
    # header on line 1, deal 1 on lines 2-3, deal 2 on line 4
    assert ds.rejects.select("row", "value").rows() == [(4, "oops")]
    assert ds.frames["deals"]["Notes"][0] == "first line\nsecond line"


def test_header_row_pinned_in_a_workbook(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Deal ID", "Stage", "Created Date"])  # a stale header the export left behind
    ws.append(["Quarterly deals"])
    ws.append(["Opportunity ID", "Stage", "Created Date", "Amount"])
    ws.append(["A1", "Closed Won", datetime(2024, 1, 5), 10])
    wb.save(tmp_path / "deals.xlsx")
    raw = {"sources": {"deals": {"path": "deals.xlsx", "parse": {"header_row": 3}}}}
    ds = load([], parse_config(raw, tmp_path / "crmkpi.toml"))
    assert ds.inputs[0].header_row == 3
    assert ds.frames["deals"]["id"].to_list() == ["A1"]
    assert ds.frames["deals"]["amount"].to_list() == [10.0]


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    f = write(
        tmp_path / "deals.csv", "sep=;\nDeal ID;Stage;Created Date\n1;Won;2024-01-01\n2;Won;x\n"
    )
    ds = load([f])
    assert ds.inputs[0].delimiter == ";" and ds.inputs[0].header_row == 2
    assert ds.rejects.select("row", "value").rows() == [(4, "x")]  # line 4 of the file


def test_rows_with_more_fields_than_the_header_are_explained(tmp_path: Path) -> None:
    f = write(
        tmp_path / "deals.csv",
        "Deal ID,Deal Name,Stage,Amount,Created Date\n"
        "1,Acme, Inc,Won,100,2024-01-01\n"  # unquoted comma: 6 fields, everything shifts
        '2,"Beta, Ltd",Won,50,2024-01-02\n'  # quoted comma: 5 fields, fine
        "3,Gamma,Won,7,2024-01-03,\n",  # a trailing empty field: 6 fields, data intact
    )
    ds = load([f])
    assert ds.frames["deals"]["id"].to_list() == ["2", "3"]
    rows = ds.rejects.select("row", "action", "reason").rows()
    # line 2 is rejected (every value after 'Acme' moved one column on) and flagged as too
    # wide; line 4's extra field is empty: its data is intact, the row loads, flagged
    assert [(r, a) for r, a, _ in rows] == [(2, "rejected"), (2, "flagged"), (4, "flagged")]
    assert rows[1][2].startswith("6 fields where the header has 5")
