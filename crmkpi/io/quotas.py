"""The quota sheet named by `[quota] file`: one row per owner and period, as managers keep them.

A CSV with the columns `owner`, `period` and `amount` (any case, any order; other columns are
ignored). A blank owner is the team's quota. Periods are written `2026-Q3` (a quarter), `2026-07`
(a month) or `2026` (a year); with `[periods] fiscal_year_start_month` a quarter or a year is the
fiscal one that begins in that month of the year written. Every row is read or refused: a row
that cannot be read stops the run with its file, row and column.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from crmkpi.errors import ConfigError

QUOTA_COLUMNS = ("owner", "period", "amount")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
PERIOD_FORMS = "2026-Q3 (quarter), 2026-07 (month) or 2026 (year)"


@dataclass(frozen=True)
class QuotaRow:
    """One quota: who (None: the team), the period it covers [start, end), and its amount."""

    owner: str | None
    period: str
    start: datetime
    end: datetime
    amount: float
    row: int


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def period_bounds(label: str, fiscal_year_start_month: int = 1) -> tuple[datetime, datetime]:
    """[start, end) of a period label; ValueError when the label is none of the forms."""
    text = label.strip()
    if match := _QUARTER.match(text):
        year, quarter = int(match[1]), int(match[2])
        start = add_months(datetime(year, fiscal_year_start_month, 1), 3 * (quarter - 1))
        return start, add_months(start, 3)
    if (match := _MONTH.match(text)) and 1 <= int(match[2]) <= 12:
        start = datetime(int(match[1]), int(match[2]), 1)
        return start, add_months(start, 1)
    if match := _YEAR.match(text):
        start = datetime(int(match[1]), fiscal_year_start_month, 1)
        return start, add_months(start, 12)
    raise ValueError(label)


def _amount(text: str) -> float:
    cleaned = text.strip().replace(" ", "").replace("_", "")
    if _GROUPED.match(cleaned):
        cleaned = cleaned.replace(",", "")
    value = float(cleaned)
    if not value >= 0 or value == float("inf"):
        raise ValueError(text)
    return value


def read_quota_sheet(path: Path, fiscal_year_start_month: int = 1) -> tuple[QuotaRow, ...]:
    """Every row of the sheet, or a ConfigError naming the first row that cannot be read."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            lines = list(csv.reader(handle))
    except OSError as exc:
        raise ConfigError(f"cannot read the quota sheet: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("the quota sheet is not UTF-8 text", path=str(path)) from exc
    if not lines:
        raise ConfigError("the quota sheet is empty", path=str(path), hint=", ".join(QUOTA_COLUMNS))
    header = [name.strip().lower() for name in lines[0]]
    absent = [c for c in QUOTA_COLUMNS if c not in header]
    if absent:
        raise ConfigError(
            f"the quota sheet has no {absent[0]!r} column",
            path=str(path),
            row=1,
            hint="columns: owner, period, amount",
        )
    where = {c: header.index(c) for c in QUOTA_COLUMNS}
    rows: list[QuotaRow] = []
    seen: dict[tuple[str | None, str], int] = {}
    for number, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        rows.append(_row(cells, where, number, path, fiscal_year_start_month))
        key = (rows[-1].owner, rows[-1].period)
        if key in seen:
            raise ConfigError(
                f"a second quota for {key[0] or 'the team'} in {key[1]} (first on row {seen[key]})",
                path=str(path),
                row=number,
            )
        seen[key] = number
    return tuple(rows)


def _row(
    cells: list[str], where: dict[str, int], number: int, path: Path, fiscal_start: int
) -> QuotaRow:
    def cell(column: str) -> str:
        index = where[column]
        return cells[index].strip() if index < len(cells) else ""

    try:
        start, end = period_bounds(cell("period"), fiscal_start)
    except ValueError:
        raise ConfigError(
            f"expected a period such as {PERIOD_FORMS}, got {cell('period')!r}",
            path=str(path),
            row=number,
            column="period",
        ) from None
    try:
        amount = _amount(cell("amount"))
    except ValueError:
        raise ConfigError(
            f"expected an amount of 0 or more, got {cell('amount')!r}",
            path=str(path),
            row=number,
            column="amount",
        ) from None
    owner = cell("owner") or None
    return QuotaRow(owner, period_label(cell("period")), start, end, amount, number)


def period_label(text: str) -> str:
    """The one spelling of a period label: 2026-Q3, 2026-07, 2026."""
    text = text.strip()
    if match := _QUARTER.match(text):
        return f"{match[1]}-Q{match[2]}"
    if match := _MONTH.match(text):
        return f"{match[1]}-{int(match[2]):02d}"
    return text
