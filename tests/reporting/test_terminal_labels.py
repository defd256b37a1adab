"""At 80 columns the KPI labels keep the room that dropped columns leave."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from crmkpi.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def test_demo_report_at_80_columns_keeps_whole_labels() -> None:
    # The target column does not fit at 80 columns and is dropped; the labels, cut to make
    # room for it first, get that room back.
    result = CliRunner().invoke(
        app, ["report", str(SAMPLE), "--config", str(SAMPLE / "crmkpi.toml"), "--width", "80"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for label in ("Open pipeline value", "Win rate by value", "Average deal size"):
        assert any(line.startswith(label + " ") for line in lines), label
