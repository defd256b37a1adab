"""The per-file progress hook of loading, and when the progress bar is shown."""

from __future__ import annotations

from pathlib import Path

from crmkpi.cli.progress import file_progress, wanted
from crmkpi.io.load import load

DEALS = "Deal ID,Deal Name,Stage,Amount,Created Date\n1,A,Won,10,2025-01-02\n"
LEADS = "Lead ID,Lead Source,Created\nL1,Web,2025-01-02 09:00\n"


def test_load_reports_each_file_before_reading_and_once_at_the_end(tmp_path):
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8")
    calls: list[tuple[int, list[str]]] = []
    load([tmp_path], None, progress=lambda done, files: calls.append((done, files)))
    names = sorted(p.name for p in calls[0][1])
    assert names == ["deals.csv", "leads.csv"]
    assert [done for done, _ in calls] == [0, 1, 2]
    assert all(files == calls[0][1] for _, files in calls)


def test_no_bar_off_a_terminal_or_when_quiet(monkeypatch):
    assert wanted(quiet=True) is False
    assert wanted() is False  # pytest captures stderr: not a terminal
    monkeypatch.setenv("CRMKPI_NO_PROGRESS", "1")
    assert wanted() is False
    with file_progress(False) as progress:
        assert progress is None


def test_the_callback_survives_small_and_missing_files(tmp_path):
    small = tmp_path / "a.csv"
    small.write_text(DEALS, encoding="utf-8")
    files = [small, tmp_path / "gone.csv"]
    with file_progress(True, min_bytes=0) as progress:
        assert progress is not None
        for done in range(len(files) + 1):
            progress(done, files)
    with file_progress(True) as progress:  # below the size worth a bar: nothing shown
        progress(0, [Path(small)])
