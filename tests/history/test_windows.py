"""`crmkpi history` draws one trend per kind of window, never one line across kinds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.history.store import HistoryStore, Point
from crmkpi.history.windows import by_window_kind, window_kind
from crmkpi.reporting.format import sparkline


def test_window_kinds() -> None:
    assert window_kind("", "") == "all data"
    assert window_kind("2025-03-01T00:00:00", "") == "from a date"
    # March (31 days) and February (28 days) are both month windows
    assert window_kind("2025-03-01T00:00:00", "2025-04-01T00:00:00") == "windows of a month"
    assert window_kind("2025-02-01T00:00:00", "2025-03-01T00:00:00") == "windows of a month"
    assert window_kind("2025-01-01T00:00:00", "2025-01-11T00:00:00") == "windows of 10 days"


def _point(day: int, since: str, until: str, value: float) -> Point:
    return Point(datetime(2025, 5, day, tzinfo=UTC), since, until, value)


def test_points_split_by_kind_with_the_latest_kind_last() -> None:
    month = ("2025-04-01T00:00:00", "2025-05-01T00:00:00")
    points = [_point(1, "", "", 10.0), _point(2, *month, 3.0), _point(3, "", "", 12.0),
              _point(4, *month, 4.0)]  # fmt: skip
    groups = by_window_kind(points)
    assert [(k, [p.value for p in ps]) for k, ps in groups] == [
        ("all data", [10.0, 12.0]),
        ("windows of a month", [3.0, 4.0]),
    ]


def test_history_command_draws_a_line_per_kind_of_window(tmp_path: Path) -> None:
    config = tmp_path / "crmkpi.toml"
    config.write_text('[history]\npath = "h.sqlite"\n', encoding="utf-8")
    with HistoryStore(tmp_path / "h.sqlite", create=True) as store:
        # three runs over all the data (20, 22, 24 deals), then two over one month (5, 7)
        for day, value in ((1, 20.0), (2, 22.0), (3, 24.0)):
            store.save(datetime(2025, 5, day, tzinfo=UTC), None, None, [("deals_won", "", value)])
        for day, value in ((4, 5.0), (5, 7.0)):
            store.save(datetime(2025, 5, day, tzinfo=UTC), datetime(2025, 4, 1),
                       datetime(2025, 5, 1), [("deals_won", "", value)])  # fmt: skip
    runner = CliRunner()
    one = runner.invoke(app, ["history", "deals_won", "-c", str(config)])
    assert one.exit_code == 0, one.output
    title = one.output.splitlines()[0]
    assert f"all data {sparkline([20.0, 22.0, 24.0])}" in title
    assert f"windows of a month {sparkline([5.0, 7.0])}" in title
    assert sparkline([20.0, 22.0, 24.0, 5.0, 7.0]) not in title  # the line that fell 24 -> 5
    overview = runner.invoke(app, ["history", "-c", str(config), "-f", "json"])
    row = json.loads(overview.output)[0]
    assert (row["window"], row["runs"], row["latest"]) == ("windows of a month", 2, 7.0)
    assert row["trend"] == sparkline([5.0, 7.0])
