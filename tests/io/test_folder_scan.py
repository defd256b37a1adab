"""A folder holding a full CRM export: canonical tables are read, the rest listed as not used.

Named on the command line, a file of no known kind is still an error (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from crmkpi.cli import app

runner = CliRunner()

DEALS = """Opportunity ID,Opportunity Name,Stage,Amount,Created Date,Close Date
O1,Acme,Closed Won,1000,2025-01-02,2025-02-01
O2,Beta,Closed Lost,500,2025-01-03,2025-02-02
O3,Gamma,Negotiation,700,2025-01-04,
"""
ACCOUNTS = "Id,Name,CreatedDate,Status\nA1,Acme,2024-12-01,Active\nA2,Beta,2024-12-02,Active\n"
WEATHER = "city,temperature\nOslo,3\n"


def _export_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Opportunity.csv").write_text(DEALS, encoding="utf-8")
    (folder / "Account.csv").write_text(ACCOUNTS, encoding="utf-8")
    (folder / "weather.csv").write_text(WEATHER, encoding="utf-8")
    return folder


def test_folder_reads_deals_and_lists_the_other_files(tmp_path: Path) -> None:
    folder = _export_folder(tmp_path)
    result = runner.invoke(app, ["report", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [Path(i["path"]).name for i in doc["inputs"]] == ["Opportunity.csv"]
    # 1 won, 1 lost, 1 open: win rate 1 / (1 + 1) = 0.5; Account.csv's "Active" rows add nothing.
    assert doc["kpis"]["deals_total"]["value"] == 3
    assert doc["kpis"]["win_rate"]["value"] == 0.5
    unused = {Path(s["file"]).name: s for s in doc["skipped"] if "file" in s}
    assert set(unused) == {"Account.csv", "weather.csv"}
    assert "account" in unused["Account.csv"]["detail"]
    assert "temperature" in unused["weather.csv"]["detail"]


def test_unused_files_are_named_in_the_terminal_report(tmp_path: Path) -> None:
    folder = _export_folder(tmp_path)
    result = runner.invoke(app, ["report", str(folder), "--width", "160"])
    assert result.exit_code == 0, result.output
    assert "Account.csv" in result.stdout and "weather.csv" in result.stdout


def test_a_named_file_of_another_record_kind_is_an_error(tmp_path: Path) -> None:
    folder = _export_folder(tmp_path)
    result = runner.invoke(app, ["report", str(folder / "Account.csv")])
    assert result.exit_code == 2
    assert "Account.csv" in result.stderr and "account" in result.stderr


def test_a_folder_with_nothing_usable_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "only_accounts"
    folder.mkdir()
    (folder / "Account.csv").write_text(ACCOUNTS, encoding="utf-8")
    result = runner.invoke(app, ["report", str(folder)])
    assert result.exit_code == 2
    assert "Account.csv" in result.stderr
