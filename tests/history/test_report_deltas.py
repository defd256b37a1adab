"""Reports show point-in-time KPIs against the previous saved run; `crmkpi history` reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.history.store import HistoryStore

DEALS_CSV = """Deal ID,Deal Name,Owner,Stage,Amount,Created Date,Close Date
1,Acme,Ana,Closed Won,100,2025-01-05,2025-03-01
2,Beta,Ana,Closed Lost,50,2025-01-10,2025-03-10
3,Gamma,Bo,Closed Won,200,2025-03-02,2025-03-20
4,Delta,Bo,Proposal,80,2025-03-05,
5,Eps,Bo,Negotiation,30,2025-03-09,
"""
# Open now: deals 4 and 5 -> deals_open 2, open_pipeline_value 80 + 30 = 110.


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    (tmp_path / "crmkpi.toml").write_text(
        '[history]\npath = "runs/h.sqlite"\n[alerts]\nno_data_period = false\n', encoding="utf-8"
    )
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_report_shows_deltas_against_the_previous_saved_run(project):
    store_path = project / "runs" / "h.sqlite"
    with HistoryStore(store_path, create=True) as store:
        # A run last week over the same (whole-data) window, when 5 deals worth 200 were open.
        store.save(
            datetime(2025, 3, 24, tzinfo=UTC),
            None,
            None,
            [("deals_open", "", 5.0), ("open_pipeline_value", "", 200.0)],
        )
    result = run("report", str(project / "deals.csv"), "-c", str(project / "crmkpi.toml"),
                 "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    kpis = json.loads(result.stdout)["kpis"]
    assert kpis["deals_open"]["value"] == 2
    assert kpis["deals_open"]["history_previous"] == 5
    assert kpis["open_pipeline_value"]["history_previous"] == 200
    assert "history_previous" not in kpis["win_rate"]  # a flow KPI: compared by period instead
    alerts = json.loads(result.stdout)["alerts"]
    # open pipeline value is higher-is-better and fell (110 - 200) / 200 = -45%.
    assert {
        "kind": "change",
        "severity": "warn",
        "kpi": "open_pipeline_value",
        "message": "Open pipeline value fell 45%: 200 -> 110 (since the last saved run)",
    } in alerts


def test_save_then_history_series_and_formats(project):
    config = str(project / "crmkpi.toml")
    for _ in range(2):
        result = run("report", str(project / "deals.csv"), "-c", config, "--save", "-q")
        assert result.exit_code == 0, result.output
    store_path = project / "runs" / "h.sqlite"
    with HistoryStore(store_path) as store:
        assert store.run_count() == 2
        # Bo: deals 3 (won), 4 and 5 (open) -> 2 open; Ana: deal 1 won, deal 2 lost.
        assert [p.value for p in store.series("deals_open", "Bo")] == [2.0, 2.0]
        assert [p.value for p in store.series("deals_won", "Ana")] == [1.0, 1.0]
    result = run("history", "deals_open", "-c", config, "-f", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "run_at,window,value"
    assert [line.split(",")[1:] for line in lines[1:]] == [["all data", "2.0"]] * 2
    result = run("history", "deals_won", "--owner", "Ana", "-c", config, "-f", "json")
    doc = json.loads(result.stdout)
    assert [v["value"] for v in doc["values"]] == [1.0, 1.0]
    assert (doc["kpi"], doc["label"], doc["unit"], doc["owner"]) == (
        "deals_won", "Deals won", "count", "Ana",
    )  # fmt: skip
    result = run("history", "-c", config, "-f", "json")
    overview = {row["kpi"]: row for row in json.loads(result.stdout)}
    assert overview["deals_open"]["runs"] == 2 and overview["deals_open"]["latest"] == 2.0
    result = run("history", "-c", config)
    assert result.exit_code == 0 and "deals_open" in result.stdout


def test_history_errors_exit_2(project):
    config = str(project / "crmkpi.toml")
    result = run("history", "deals_open", "-c", config)
    assert result.exit_code == 2
    assert "no history saved yet" in result.stderr
    (project / "runs").mkdir()
    (project / "runs" / "h.sqlite").write_bytes(b"not sqlite at all" * 64)
    result = run("history", "-c", config)
    assert result.exit_code == 2
    assert "damaged history store: file is not a database" in result.stderr
    result = run("report", str(project / "deals.csv"), "-c", config, "--save")
    assert result.exit_code == 2
    assert "runs/h.sqlite" in result.stderr


def test_sparkline():
    from crmkpi.reporting.format import sparkline

    assert sparkline([0.0, 7.0, 3.5, None, 7.0]) == "▁█▅ █"  # 3.5 is halfway: bar 3.5 -> 4
    assert sparkline([2.0, 2.0]) == "▅▅"
    assert sparkline([None]) == ""
