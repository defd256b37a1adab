"""Ratios change in percentage points in every format; each headline value says its window."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import polars as pl
from openpyxl import load_workbook

from crmkpi.dataset import Dataset
from crmkpi.report.build import ReportOptions, build_report
from crmkpi.schema import conform

D = datetime
# February: 1 won of 2 closed (50%); March: 3 won of 4 closed (75%). Two deals stay open.
DEALS = {
    "id": [str(i) for i in range(1, 9)],
    "status": ["won", "lost", "won", "won", "won", "lost", "open", "open"],
    "amount": [10.0] * 8,
    "created_at": [D(2025, 1, 5)] * 8,
    "closed_at": [D(2025, 2, 3), D(2025, 2, 4), D(2025, 3, 2), D(2025, 3, 3), D(2025, 3, 4),
                  D(2025, 3, 5), None, None],
}  # fmt: skip


def report():
    frame = conform("deals", pl.DataFrame(DEALS).lazy()).collect()
    ds = Dataset(frames={"deals": frame})
    return build_report(ds, None, ReportOptions(since=D(2025, 3, 1), until=D(2025, 4, 1)))


def test_a_ratio_changes_in_points_in_json_csv_and_excel(tmp_path) -> None:
    rep = report()
    # 50% -> 75%: up 25 percentage points (a relative change would say 50%).
    doc = json.loads(rep.render("json"))
    assert doc["kpis"]["win_rate"]["change_shown"] == {"value": 25.0, "unit": "pp"}
    assert doc["kpis"]["win_rate"]["change"] == 0.5  # the relative change stays in its key
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(str(rep.render("csv"))))}
    assert (rows["win_rate"]["change"], rows["win_rate"]["change_unit"]) == ("25.0", "pp")
    # Deals won 1 -> 3: a count changes relatively, +200%.
    assert (rows["deals_won"]["change"], rows["deals_won"]["change_unit"]) == ("2.0", "share")
    path = tmp_path / "r.xlsx"
    rep.write(path)
    sheet = load_workbook(path)["Summary"]
    cells = {row[9].value: row for row in sheet.iter_rows(min_row=7) if row[9].value}
    assert cells["win_rate"][7].value == 25.0
    assert cells["win_rate"][7].number_format == '+0.0" pp";-0.0" pp";0.0" pp"'


def test_each_value_says_its_window() -> None:
    rep = report()
    # A state is read as of the window's last day; a flow over the window.
    assert rep.kpis["deals_open"].window == "as of 2025-03-31"
    assert rep.kpis["win_rate"].window == "Mar 2025"
    doc = json.loads(rep.render("json"))
    assert doc["kpis"]["deals_open"]["window"] == "as of 2025-03-31"
