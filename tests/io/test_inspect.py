"""`inspect_file`, its text, the emitted config, and the data-quality facts it shows."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.config import parse_config
from crmkpi.dataset import Dataset, InputSummary, StageModel
from crmkpi.io.inspect import emit_config, inspect_file, render_text
from crmkpi.io.load import load
from crmkpi.io.quality import quality_facts

EXPORT = (
    "Deal ID;Deal Name;Owner;Stage;Amount;Created Date;Expected Close Date;Region\n"
    "1;Acme;Ann;Closed Won;1.000,00;01/02/2024;;North\n"
    "2;Beta;Bob;Proposal;x;02/02/2024;03/03/2024;South\n"
    "3;Gamma;Ann;Closed Lost;250,00;03/02/2024;;North\n"
)


def test_inspect_reports_decisions(tmp_path: Path) -> None:
    f = tmp_path / "deals.csv"
    f.write_text(EXPORT, encoding="utf-8")
    insp = inspect_file(f)
    assert (insp.format, insp.delimiter, insp.header_row, insp.table) == ("csv", ";", 1, "deals")
    cols = {c.header: c for c in insp.columns}
    assert cols["Amount"].canonical == "amount" and cols["Amount"].rule == "alias:en"
    assert (cols["Amount"].parsed, cols["Amount"].given) == (2, 3)  # 'x' does not parse
    assert cols["Region"].canonical == "team"
    # no day above 12 in Created Date: the order is a guess and must be reported
    assert insp.ambiguous_dates == ("Created Date", "Expected Close Date")
    assert insp.won_stages == ("Closed Won",) and insp.lost_stages == ("Closed Lost",)
    assert insp.rows_read == 3 and insp.rows_loaded == 3
    text = render_text(insp)
    assert "AMBIGUOUS" in text and "-> amount" in text
    snippet = emit_config(insp)
    parsed = tomllib.loads(snippet)
    source = parsed["sources"]["deals"]
    assert source["columns"]["amount"] == "Amount"
    assert source["parse"]["delimiter"] == ";"
    # the snippet is a valid config that loads the same file the same way
    config = parse_config({"sources": {"deals": {**source, "path": str(f)}}}, tmp_path / "c.toml")
    assert load([], config).frames["deals"]["amount"].to_list() == [1000.0, None, 250.0]


def test_inspect_cli_exit_codes(tmp_path: Path) -> None:
    f = tmp_path / "deals.csv"
    f.write_text(EXPORT, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(app, ["inspect", str(f), "--emit-config"])
    assert ok.exit_code == 0 and "[sources.deals]" in ok.output
    bad = runner.invoke(app, ["inspect", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 2


def test_quality_facts_per_file_and_owner() -> None:
    deals = pl.DataFrame(
        {
            "id": ["1", "1", "2", "3", "4"],
            "owner": ["Ann", "Ann", "Bob", "Bob", "Ann"],
            "stage": ["Won", "Won", "Mystery", "Talks", "Talks"],
            "status": ["won", "won", "open", "open", "open"],
            "amount": [10.0, 10.0, -5.0, 3.0, 1.0],
            "currency": ["EUR", "EUR", "USD", "EUR", None],
            "created_at": [datetime(2024, 1, 2)] * 5,
            "closed_at": [datetime(2024, 1, 1), datetime(2024, 1, 3), None, None, None],
            "expected_close_at": [None, None, datetime(2024, 1, 5), datetime(2099, 1, 1), None],
        }
    )
    ds = Dataset(
        frames={"deals": deals},
        inputs=[InputSummary("a.csv", "deals", 3, 3, 0), InputSummary("b.csv", "deals", 2, 2, 0)],
        stages=StageModel(order=("Talks", "Won"), won=frozenset({"Won"})),
    )
    facts = quality_facts(ds, as_of=datetime(2024, 6, 1))
    got = {(f, o, k): n for f, o, k, n in facts.iter_rows()}
    # rows 0-2 are a.csv, rows 3-4 b.csv (inputs concatenate in order)
    assert got == {
        ("a.csv", "Ann", "duplicate_ids"): 2,  # id 1 twice in a.csv
        ("a.csv", "Ann", "closed_before_created"): 1,  # closed 1 Jan, created 2 Jan
        ("a.csv", "Bob", "overdue_open"): 1,  # expected 5 Jan 2024, still open in June
        ("a.csv", "Bob", "unknown_stage"): 1,  # 'Mystery' is not in the stage order
        ("a.csv", "Bob", "negative_amounts"): 1,
        ("a.csv", None, "mixed_currencies"): 1,  # EUR and USD
    }


def test_inspect_a_file_that_does_not_load(tmp_path: Path) -> None:
    f = tmp_path / "churn.csv"
    f.write_text("customerID,Gender,Churn\nA-1,Female,No\nB-2,Male,Yes\n")
    insp = inspect_file(f)
    # subscriptions would fit but there is no monthly amount: shown, not a crash
    assert insp.table == "?" and "mrr" in insp.problem
    assert [(c.header, c.example) for c in insp.columns] == [
        ("customerID", "A-1"), ("Gender", "Female"), ("Churn", "No"),
    ]  # fmt: skip
    assert insp.rows_read == 2
    template = tomllib.loads(emit_config(insp))
    assert template["sources"]["churn"]["path"] == "churn.csv"
    result = CliRunner().invoke(app, ["inspect", str(f)])
    assert result.exit_code == 2 and "Gender" in result.output
