"""The quota sheet: periods read in every form, and every bad row refused with its place."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from crmkpi.errors import ConfigError
from crmkpi.io.quotas import period_bounds, read_quota_sheet


def sheet(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quotas.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("label", "fiscal", "start", "end"),
    [
        ("2026-Q3", 1, datetime(2026, 7, 1), datetime(2026, 10, 1)),
        ("2026q4", 1, datetime(2026, 10, 1), datetime(2027, 1, 1)),
        ("2026-07", 1, datetime(2026, 7, 1), datetime(2026, 8, 1)),
        ("2026", 1, datetime(2026, 1, 1), datetime(2027, 1, 1)),
        # A fiscal year from April: its first quarter is April-June, the year April-March.
        ("2026-Q1", 4, datetime(2026, 4, 1), datetime(2026, 7, 1)),
        ("2026", 4, datetime(2026, 4, 1), datetime(2027, 4, 1)),
    ],
)
def test_period_bounds(label: str, fiscal: int, start: datetime, end: datetime) -> None:
    assert period_bounds(label, fiscal) == (start, end)


def test_sheet_rows_with_team_row_and_extra_columns(tmp_path: Path) -> None:
    rows = read_quota_sheet(sheet(tmp_path, "Region,Owner,Period,Amount\nEU,Ann,2026-q3,"
                                            "\"1,200,000\"\nEU,,2026-Q3,2000000\n\n"))  # fmt: skip
    assert [(r.owner, r.period, r.amount, r.row) for r in rows] == [
        ("Ann", "2026-Q3", 1_200_000.0, 2),
        (None, "2026-Q3", 2_000_000.0, 3),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("owner,amount\nAnn,5\n", ":1: the quota sheet has no 'period' column"),
        ("owner,period,amount\nAnn,Q3 2026,5\n", ":2 column 'period': expected a period"),
        ("owner,period,amount\nAnn,2026-13,5\n", ":2 column 'period': expected a period"),
        ("owner,period,amount\nAnn,2026-Q3,-5\n", ":2 column 'amount': expected an amount"),
        ("owner,period,amount\nAnn,2026-Q3,\n", ":2 column 'amount': expected an amount"),
        ("owner,period,amount\nAnn,2026-Q3,5\nAnn,2026-q3,6\n",
         ":3: a second quota for Ann in 2026-Q3 (first on row 2)"),
        ("", ": the quota sheet is empty"),
    ],
)  # fmt: skip
def test_bad_sheet_names_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = sheet(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        read_quota_sheet(path)
    assert str(caught.value).startswith(f"{path}{message}")


def test_missing_sheet(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the quota sheet"):
        read_quota_sheet(tmp_path / "absent.csv")
