"""Error paths of the command line: one line naming the file, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkpi.cli import app

runner = CliRunner()


def _single_error_line(result) -> str:  # noqa: ANN001
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


def test_missing_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = runner.invoke(app, ["report", str(missing)])
    assert result.exit_code == 2
    line = _single_error_line(result)
    assert str(missing) in line


def test_binary_file_is_not_a_table(tmp_path: Path) -> None:
    garbage = tmp_path / "deals.csv"
    garbage.write_bytes(bytes(range(256)) * 40)
    result = runner.invoke(app, ["report", str(garbage)])
    assert result.exit_code == 2
    assert str(garbage) in _single_error_line(result)


def test_table_of_no_known_kind_names_file_and_headers(tmp_path: Path) -> None:
    weather = tmp_path / "weather.csv"
    weather.write_text("city,temperature,humidity\nOslo,3,80\nRome,18,60\n", encoding="utf-8")
    result = runner.invoke(app, ["report", str(weather)])
    assert result.exit_code == 2
    line = _single_error_line(result)
    assert str(weather) in line
    assert "temperature" in line  # the headers found are named, so the user sees what was read


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = runner.invoke(app, ["--debug", "report", str(missing)])
    assert result.exit_code != 0
    # With --debug the exception propagates instead of becoming one line.
    assert result.exception is not None and not isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("fmt", ["yaml", "pdf"])
def test_unknown_format_is_a_usage_error(tmp_path: Path, fmt: str) -> None:
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Deal ID,Deal Name,Stage,Created,Amount\n1,A,Closed Won,2025-01-02,100\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["report", str(deals), "--format", fmt])
    assert result.exit_code == 2
    assert fmt in _single_error_line(result)


def test_a_rust_panic_outside_reading_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyo3's PanicException derives from BaseException, so `except Exception` lets it through
    # as a traceback; the command line must still answer with one line and the internal code 1
    import crmkpi.api

    class PanicException(BaseException):
        pass

    def panics(*args: object, **kwargs: object) -> None:
        raise PanicException("index out of bounds")

    monkeypatch.setattr(crmkpi.api, "report", panics)
    result = runner.invoke(app, ["report", "sample_data/"])
    assert result.exit_code == 1
    line = _single_error_line(result)
    assert line.startswith("crmkpi: error: internal error: a panic") and "index out of" in line
