"""Every format renders both things a command returns: a Report and a list of named frames."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import polars as pl
import pytest

from crmkpi.errors import UsageError
from crmkpi.reporting.frames import NamedFrame
from crmkpi.reporting.model import Report
from crmkpi.reporting.output import FORMATS, FRAME_FORMATS, frame_format, renderer

# Two frames: a deal list whose second owner looks like a spreadsheet formula, and a ratio.
DEALS = pl.DataFrame({"owner": ["Ann", '=HYPERLINK("x")'], "won": [3, 2025]})
RATES = pl.DataFrame({"owner": ["Ann"], "win_rate": [0.25]})
FRAMES = [NamedFrame("deals", DEALS), NamedFrame("rates", RATES, {"win_rate": "ratio"}, "Rates")]


def _as_text(data: str | bytes) -> str:
    return data if isinstance(data, str) else data.decode("latin-1")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_a_report(fmt: str, report: Report) -> None:
    data = renderer(fmt).render(report)
    if fmt == "excel":
        wb = openpyxl.load_workbook(io.BytesIO(data))
        assert "Definitions" in wb.sheetnames
        return
    # CSV's default table is the KPI list: its header names the columns, not the title.
    assert ("win_rate" if fmt == "csv" else report.title) in _as_text(data)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "csv"])
def test_every_format_renders_named_frames(fmt: str) -> None:
    data = renderer(fmt).render_frames(FRAMES)
    if fmt == "excel":
        wb = openpyxl.load_workbook(io.BytesIO(data))
        assert wb.sheetnames == ["deals", "Rates"]  # a frame's title names its sheet
        deals, rates = wb["deals"], wb["Rates"]
        assert [c.value for c in deals[3]] == ['=HYPERLINK("x")', 2025]
        assert deals["A3"].data_type == "s" and deals["A3"].quotePrefix  # text, never run
        assert rates["B2"].value == 0.25 and rates["B2"].number_format == "0.0%"
        return
    if fmt == "json":
        # Values in full, keyed by each frame's name.
        assert json.loads(data) == {
            "deals": [{"owner": "Ann", "won": 3}, {"owner": '=HYPERLINK("x")', "won": 2025}],
            "rates": [{"owner": "Ann", "win_rate": 0.25}],
        }
        return
    # For people: the ratio in its unit (0.25 -> 25.0%), the year-like count without a
    # thousands separator (a column without a unit is shown as it is), every frame titled.
    assert "25.0%" in data and "0.25" not in data
    assert "2025" in data and "2,025" not in data
    assert "Rates" in data and "deals" in data


def test_csv_renders_one_named_frame_with_formulas_defused() -> None:
    text = renderer("csv").render_frames(FRAMES[:1])
    assert list(csv.reader(io.StringIO(text))) == [
        ["owner", "won"], ["Ann", "3"], ["'=HYPERLINK(\"x\")", "2025"],
    ]  # fmt: skip
    with pytest.raises(UsageError, match="CSV holds one table"):
        renderer("csv").render_frames(FRAMES)


def test_frame_format_from_the_extension() -> None:
    from pathlib import Path

    assert [frame_format(None, Path(n)) for n in ("a.csv", "a.md", "a.JSON", "a.txt")] == [
        "csv", "markdown", "json", "terminal",
    ]  # fmt: skip
    assert frame_format(None, None) == "terminal"
    assert set(FRAME_FORMATS) <= set(FORMATS)
    with pytest.raises(UsageError, match="cannot tell the output format"):
        frame_format(None, Path("a.xlsx"))
