"""`crmkpi report` exit codes (0 ok, 2 input, 3 alert), --quiet, and {date} output paths."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.errors import EXIT_ALERT, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK

DEALS_CSV = """Deal ID,Deal Name,Owner,Stage,Amount,Created Date,Close Date
1,Acme,Ana,Closed Won,100,2025-01-05,2025-01-20
2,Beta,Ana,Closed Lost,50,2025-01-10,2025-02-10
3,Gamma,Bo,Closed Won,200,2025-02-02,2025-02-20
4,Delta,Bo,Closed Lost,80,2025-02-05,2025-02-25
"""
# Win rate: 2 won / 4 closed = 50%.
QUIET_ALERTS = "[alerts]\nno_data_period = false\nchange_threshold = false\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    return tmp_path


def run(folder: Path, toml: str, *args: str):
    (folder / "crmkpi.toml").write_text(toml, encoding="utf-8")
    return CliRunner().invoke(
        app, ["report", str(folder / "deals.csv"), "-c", str(folder / "crmkpi.toml"), *args]
    )


def test_no_alert_exits_0(folder):
    result = run(folder, QUIET_ALERTS + '[targets]\nwin_rate = ">= 0.5"\n', "--fail-on-alert")
    assert result.exit_code == EXIT_OK, result.output


def test_an_alert_exits_3_only_with_fail_on_alert(folder):
    toml = QUIET_ALERTS + '[targets]\nwin_rate = ">= 0.6"\n'
    result = run(folder, toml, "--fail-on-alert", "--quiet")
    assert result.exit_code == EXIT_ALERT
    # --quiet: only the alert, on stdout; nothing else anywhere.
    assert result.stdout == "BAD  target  Win rate 50.0% is below target >= 60.0%\n"
    assert result.stderr == ""
    assert run(folder, toml, "--quiet").exit_code == EXIT_OK
    loud = run(folder, toml, "--fail-on-alert", "-f", "json")
    assert loud.exit_code == EXIT_ALERT
    assert loud.stderr == "crmkpi: 1 alert (1 bad); exit 3\n"


def test_alerts_are_in_the_json_output(folder):
    toml = QUIET_ALERTS + "[targets]\nwin_rate = { min = 0.4, warn = 0.55 }\n"
    result = run(folder, toml, "-f", "json", "--fail-on-alert")
    assert result.exit_code == EXIT_ALERT
    doc = json.loads(result.stdout)
    assert doc["alerts"] == [
        {
            "kind": "target",
            "severity": "warn",
            "kpi": "win_rate",
            "message": "Win rate 50.0% is below warn level 55.0% (target >= 40.0%)",
        }
    ]
    assert doc["kpis"]["win_rate"]["status"] == "warn"


def test_config_errors_exit_2(folder):
    result = run(folder, '[targets]\nwin_rat = ">= 1"\n')
    assert result.exit_code == EXIT_INPUT
    assert "targets.win_rat: unknown KPI id" in result.stderr
    assert str(folder / "crmkpi.toml") in result.stderr


def test_date_placeholders_in_out_path(folder):
    result = run(folder, QUIET_ALERTS, "--out", str(folder / "reports" / "sales-{date}.json"))
    assert result.exit_code == EXIT_OK, result.output
    today = datetime.now().strftime("%Y-%m-%d")  # the run and this line share a date
    written = folder / "reports" / f"sales-{today}.json"
    assert json.loads(written.read_text(encoding="utf-8"))["kpis"]["win_rate"]["value"] == 0.5
    assert f"wrote {written}" in result.stderr
    assert list((folder / "reports").iterdir()) == [written]  # no temporary file left over
    iso = datetime.now().isocalendar()
    result = run(folder, QUIET_ALERTS, "--out", str(folder / "w-{week}.json"), "--quiet")
    assert (folder / f"w-{iso.year}-W{iso.week:02d}.json").is_file()
    assert result.stdout == "" and result.stderr == ""  # quiet and no alert: silent
    result = run(folder, QUIET_ALERTS, "--out", str(folder / "x-{day}.json"))
    assert result.exit_code == EXIT_INPUT and "bad placeholder" in result.stderr


def test_alerts_as_a_csv_table(folder):
    toml = QUIET_ALERTS + '[targets]\nwin_rate = ">= 0.6"\n[targets.by_owner]\ndeals_won = ">= 2"\n'
    result = run(folder, toml, "-f", "csv", "--table", "alerts")
    assert result.exit_code == EXIT_OK, result.output
    lines = result.stdout.splitlines()
    # Ana won deal 1, Bo won deal 3: one each, below 2.
    assert lines == [
        "severity,kind,kpi,owner,message",
        "bad,target,win_rate,,Win rate 50.0% is below target >= 60.0%",
        "bad,target,deals_won,Ana,Ana: Deals won 1 is below target >= 2",
        "bad,target,deals_won,Bo,Bo: Deals won 1 is below target >= 2",
    ]


def test_an_internal_error_exits_1(folder, monkeypatch):
    import crmkpi.reporting.alerts

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(crmkpi.reporting.alerts, "check_report", broken)
    result = run(folder, QUIET_ALERTS)
    assert result.exit_code == EXIT_INTERNAL
    assert "internal error: RuntimeError: boom (run with --debug for details)" in result.stderr
