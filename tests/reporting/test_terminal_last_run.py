"""Point-in-time KPIs saved by an earlier run show their value then, beside today's."""

from __future__ import annotations

from crmkpi.reporting.model import Report
from crmkpi.reporting.terminal import render


def test_last_run_column_appears_only_with_history(report: Report) -> None:
    assert "Last run" not in render(report, width=160)
    report.kpis["deals_won"].history_previous = 4321.0
    text = render(report, width=160)
    assert "Last run" in text
    row = next(line for line in text.splitlines() if line.startswith("Deals won"))
    assert "4,321" in row  # the saved value, formatted as a count
