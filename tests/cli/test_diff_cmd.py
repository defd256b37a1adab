"""`crmkpi diff` end to end: two CSV exports, every output format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkpi.cli import app

HEADER = "Deal ID,Deal Name,Owner,Stage,Amount,Created Date,Expected Close Date,Close Date\n"
OLD = HEADER + (
    "1,Acme,Ana,Qualified,1000,2025-01-05,2025-03-15,\n"
    "2,Beta,Bo,Proposal,2000,2025-01-10,2025-03-20,\n"
    "3,Ceto,Ana,Negotiation,3000,2025-02-01,2025-03-10,\n"
    "5,Eris,Bo,Proposal,400,2025-02-03,2025-03-12,\n"
)
NEW = HEADER + (
    "1,Acme,Ana,Proposal,1200,2025-01-05,2025-03-15,\n"  # forward, amount +200
    "2,Beta,Cy,Qualified,2000,2025-01-10,2025-04-19,\n"  # back, owner Bo->Cy, +30 days
    "3,Ceto,Ana,Closed Won,3000,2025-02-01,,2025-03-05\n"  # won
    "5,Eris,Bo,Closed Lost,400,2025-02-03,,2025-03-06\n"  # lost
    "4,Dora,Bo,Qualified,300,2025-03-02,2025-05-01,\n"  # created
)
STAGES = (
    '[stages]\norder = ["Qualified", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]\n'
    'won = ["Closed Won"]\nlost = ["Closed Lost"]\n'
)


@pytest.fixture
def exports(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "old.csv").write_text(OLD, encoding="utf-8")
    (tmp_path / "new.csv").write_text(NEW, encoding="utf-8")
    (tmp_path / "crmkpi.toml").write_text(STAGES, encoding="utf-8")
    return tmp_path / "old.csv", tmp_path / "new.csv", tmp_path / "crmkpi.toml"


def run(exports, *args: str):
    old, new, config = exports
    return CliRunner().invoke(app, ["diff", str(old), str(new), "-c", str(config), *args])


EXPECTED = {
    ("created", "4", "", "Qualified"),
    ("won", "3", "Negotiation", "Closed Won"),
    ("lost", "5", "Proposal", "Closed Lost"),
    ("stage_moves", "1", "Qualified", "Proposal"),
    ("stage_moves", "2", "Proposal", "Qualified"),
    ("slipped", "2", "2025-03-20", "2025-04-19"),
    ("amount_changes", "1", "1000.0", "1200.0"),
    ("owner_changes", "2", "Bo", "Cy"),
}


def test_csv_lists_every_change(exports):
    result = run(exports, "-f", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(r["kind"], r["deal_id"], r["before"], r["after"]) for r in rows} == EXPECTED


def test_json(exports):
    result = run(exports, "-f", "json")
    doc = json.loads(result.stdout)
    s = doc["summary"]
    assert (s["created"], s["won"], s["lost"], s["moved_forward"], s["moved_back"]) == (
        1, 1, 1, 1, 1,
    )  # fmt: skip
    assert (s["slipped"], s["slipped_days_total"]) == (1, 30.0)
    assert [r["id"] for r in doc["won"]] == ["3"]
    assert doc["slipped"][0]["old_close"].startswith("2025-03-20")
    assert doc["snapshots"] == [str(exports[0]), str(exports[1])]


def test_markdown_and_terminal(exports):
    md = run(exports, "-f", "markdown").stdout
    assert md.startswith(f"# Changes: {exports[0]} -> {exports[1]}")
    assert "| Won | 1 |" in md
    assert "## Close dates pushed out (1)" in md
    assert (
        "| 2 | Beta | Cy | Qualified | open | 2,000 | 2025-03-20 | 2025-04-19 | 30.0 d | 1 |" in md
    )
    terminal = run(exports).stdout
    assert "Deals won (1)" in terminal and "Owner changes (1)" in terminal


def test_out_file_and_bad_format(exports, tmp_path):
    result = run(exports, "--out", str(tmp_path / "out" / "changes-{date}.csv"))
    assert result.exit_code == 0, result.output
    [written] = list((tmp_path / "out").iterdir())
    rows = list(csv.DictReader(io.StringIO(written.read_text(encoding="utf-8"))))
    assert len(rows) == len(EXPECTED)
    result = run(exports, "-f", "yaml")
    assert result.exit_code == 2 and "unknown format 'yaml'" in result.stderr


def test_each_snapshot_reads_only_its_own_files_with_the_sources_mapping(tmp_path):
    # The project's source maps "Deal Worth" to amount and points at current/; the snapshots
    # in old/ and new/ use the same header, and current/ holds a deal neither snapshot has.
    header = "Deal ID,Deal Name,Owner,Stage,Deal Worth,Created Date\n"
    for folder, rows in {
        "current": "9,Other,Ana,Qualified,1,2025-01-01\n",
        "old": "1,Acme,Ana,Qualified,1000,2025-01-05\n",
        "new": "1,Acme,Ana,Qualified,1500,2025-01-05\n",
    }.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"deals-{folder}.csv").write_text(header + rows, encoding="utf-8")
    (tmp_path / "crmkpi.toml").write_text(
        '[sources.deals]\npath = "current/deals-*.csv"\ntable = "deals"\n'
        '[sources.deals.columns]\namount = "Deal Worth"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app,
        ["diff", str(tmp_path / "old"), str(tmp_path / "new"), "-c", str(tmp_path / "crmkpi.toml"),
         "-f", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # One deal in each snapshot: deal 9 of current/ was never read.
    assert (doc["summary"]["deals_before"], doc["summary"]["deals_after"]) == (1, 1)
    assert [(r["id"], r["old_amount"], r["amount"]) for r in doc["amount_changes"]] == [
        ("1", 1000.0, 1500.0)
    ]
