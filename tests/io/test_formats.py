"""Workbook placement, ODS, long stage history and localised footers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import polars as pl

from crmkpi.io.load import load


def test_sheet_starting_below_row_one_keeps_excel_row_numbers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C4"], ws["D4"], ws["E4"] = "Deal ID", "Stage", "Created Date"
    ws["C5"], ws["D5"], ws["E5"] = "1", "Won", datetime(2024, 1, 2)
    ws["C7"], ws["D7"], ws["E7"] = "2", "Won", "bad date"
    wb.save(tmp_path / "offset.xlsx")
    ds = load([tmp_path / "offset.xlsx"])
    assert ds.inputs[0].header_row == 4
    # row 6 is empty, row 7 holds the unreadable date: the numbers Excel shows
    assert ds.rejects.select("row", "action").rows() == [(6, "rejected"), (7, "flagged")]


def test_ods_workbook(tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Leads")
    rows = [["Lead ID", "Lead Source", "Created Date"], ["L1", "Web", "2024-03-01"],
            ["L2", "Ads", "2024-03-02"]]  # fmt: skip
    for values in rows:
        tr = TableRow()
        for v in values:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=v))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(tmp_path / "leads.ods"))
    ds = load([tmp_path / "leads.ods"])
    assert ds.inputs[0].format == "ods"
    assert ds.frames["leads"]["source"].to_list() == ["Web", "Ads"]
    assert ds.frames["leads"]["created_at"][1] == datetime(2024, 3, 2)


def test_long_history_orders_stages_and_russian_footer(tmp_path: Path) -> None:
    history = tmp_path / "история_стадий.csv"
    history.write_text(
        "ID сделки;Стадия;Дата изменения\n"
        "1;Новая;01.02.2024 10:00\n1;В работе;03.02.2024 10:00\n1;Сделка успешна;20.02.2024 10:00\n"
        "2;Новая;02.02.2024 10:00\n2;В работе;05.02.2024 10:00\n"
        "Итого: 5;;\n",
        encoding="utf-8",
    )
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "ID;Название сделки;Стадия сделки;Сумма;Дата создания\n"
        "1;Сайт;Сделка успешна;100;01.02.2024\n2;CRM;В работе;50;02.02.2024\n"
        "Итого;;;150;\n",
        encoding="utf-8",
    )
    ds = load([deals, history])
    assert [s.table for s in ds.inputs] == ["deals", "stage_history"]
    assert [(s.rows_loaded, s.rows_rejected) for s in ds.inputs] == [(2, 1), (5, 1)]
    assert sorted(ds.rejects["reason"].to_list()) == ["footer", "footer"]
    # bitrix24 preset order wins over history; history covers the same three stages
    assert ds.stages.order[:2] == ("Новая", "Подготовка документов")
    assert ds.stages.won == frozenset({"Сделка успешна"})
    h = ds.frames["stage_history"]
    assert h.filter(pl.col("deal_id") == "1")["entered_at"].max() == datetime(2024, 2, 20, 10)
