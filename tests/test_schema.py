"""Only what a row cannot mean anything without is required: rows without dates load, and
count in every figure that does not need the date."""

from __future__ import annotations

from pathlib import Path

import crmkpi


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_open_deals_without_a_creation_date_are_open_deals(tmp_path: Path) -> None:
    # Maven's shape: prospecting deals have no engage date, the others do
    f = _write(
        tmp_path / "pipeline.csv",
        "opportunity_id,deal_stage,engage_date,close_date,close_value\n"
        "A,Won,2017-01-10,2017-02-01,100\n"
        "B,Lost,2017-01-20,2017-03-01,0\n"
        "C,Engaging,2017-02-05,,\n"
        "D,Prospecting,,,\n"
        "E,Prospecting,,,\n",
    )
    ds = crmkpi.load([f])
    assert ds.inputs[0].rows_loaded == 5 and ds.inputs[0].rows_rejected == 0
    totals = crmkpi.metric(ds, ["deals_total", "deals_open", "win_rate"])
    # open: C, D, E = 3 (a wrong rule dropping undated rows gives 1); won 1 of 2 closed
    assert totals.row(0) == (5, 3, 0.5)
    by_month = crmkpi.metric(ds, "deals_created", period="month")
    # only the dated deals can be placed: January A, B; February C
    assert by_month["deals_created"].to_list() == [2, 1]


def test_a_leads_file_without_dates_gives_counts_conversion_and_sources(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "Leads.csv",
        "Prospect ID,Lead Source,Converted\np1,Google,1\np2,Google,0\np3,Referral,1\np4,Google,0\n",
    )
    ds = crmkpi.load([f])
    totals = crmkpi.metric(ds, ["leads_created", "lead_conversion_rate"])
    assert totals.row(0) == (4, 0.5)  # 2 of 4 converted
    sources = crmkpi.table(ds, "sources")
    got = dict(zip(sources["source"], sources["conversion_rate"], strict=True))
    assert got == {"Google": 1 / 3, "Referral": 1.0}


def test_a_row_shifted_by_an_unquoted_delimiter_is_rejected_not_misread(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "deals.csv",
        "Deal ID,Deal Name,Stage,Amount\n1,Acme, Inc,Won,100\n2,Beta,Won,50\n",
    )
    ds = crmkpi.load([f])
    # row 1 would otherwise load with stage ' Inc' and amount 'Won'
    assert ds.frames["deals"]["id"].to_list() == ["2"]
    (reason,) = ds.rejects.filter(action="rejected")["reason"].to_list()
    assert "shifted" in reason


def test_undated_rows_of_a_dated_file_are_kept_and_said_to_be_left_out(tmp_path: Path) -> None:
    from crmkpi.io.quality import undated_rows

    subs_text = "Customer,Start,MRR\nA,2024-01-01,10\nB,,20\nC,2024-02-01,30\n"
    leads_text = "Lead ID,Created,Source\n1,2024-01-05,Ads\n2,,Ads\n3,2024-02-01,Web\n"
    subs = _write(tmp_path / "subscriptions.csv", subs_text)
    leads = _write(tmp_path / "leads.csv", leads_text)
    ds = crmkpi.load([subs, leads])
    # MRR now: A and C, 10 + 30 = 40; B cannot be placed in time (20 would be a guess)
    assert crmkpi.metric(ds, "mrr").item() == 40.0
    # every lead is a lead (3); by month only the dated ones: January 1, February 1
    assert crmkpi.metric(ds, "leads_created").item() == 3
    assert crmkpi.metric(ds, "leads_created", period="month")["leads_created"].to_list() == [1, 1]
    listed = {(Path(f).name, n) for f, _, n in undated_rows(ds)}
    assert listed == {("subscriptions.csv", 1), ("leads.csv", 1)}


def test_an_id_and_a_status_alone_are_not_a_table_of_deals_or_leads(tmp_path: Path) -> None:
    # Salesforce's CaseHistory: an Id and a Status; no date, amount, source or conversion
    history = _write(tmp_path / "CaseHistory2.csv", "Id,CaseId,Status\nh1,c1,Closed\n")
    deals = _write(tmp_path / "deals.csv", "Deal ID,Stage,Amount\nD1,Won,10\n")
    ds = crmkpi.load([tmp_path])
    assert [(Path(i.path).name, i.table) for i in ds.inputs] == [("deals.csv", "deals")]
    assert [Path(path).name for path, _ in ds.unused] == [history.name]
    assert ds.frames["deals"]["id"].to_list() == ["D1"] and deals.exists()
