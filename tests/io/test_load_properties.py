"""Property: a deals export in any dialect imports to the same headline KPIs.

Hypothesis draws deals, then writes them the way some CRM or spreadsheet would: delimiter,
encoding, BOM, line endings, quoting, header words, date format (day-first, month-first, ISO, with
or without time) and number format (decimal comma, thousands separators). The KPIs crmkpi
computes from the file must equal the ones plain Python computes from the drawn values.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkpi.config import Config

HEADERS = {
    "id": ["Deal ID", "Opportunity ID", "Record ID"],
    "name": ["Deal Name", "Opportunity Name", "Title"],
    "owner": ["Deal Owner", "Owner", "Sales Rep"],
    "stage": ["Deal Stage", "Stage", "Sales Stage"],
    "amount": ["Amount", "Deal Value", "Opportunity Amount"],
    "created_at": ["Create Date", "Created", "Created Date", "Date Created"],
    "closed_at": ["Close Date", "Closed Date", "Date Closed"],
}
OPEN_STAGES = ["Qualification", "Proposal", "Negotiation"]
CLOSING_WORDS = [("Closed Won", "Closed Lost"), ("Won", "Lost")]
OWNERS = ["Ann", "José Núñez", "Zoë", "Bob"]
# (strftime format, has a time part, ambiguous between day-first and month-first)
DATE_FORMATS = [
    ("%Y-%m-%d", False),
    ("%Y-%m-%d %H:%M:%S", True),
    ("%Y-%m-%dT%H:%M:%S", True),
    ("%d.%m.%Y", False),
    ("%d.%m.%Y %H:%M", True),
    ("%d/%m/%Y", False),
    ("%m/%d/%Y", False),
    ("%m/%d/%Y %H:%M", True),
]
NUMBER_FORMATS = ["plain", "comma_thousands", "decimal_comma", "dot_thousands_comma", "space",
                  "dollar", "euro_suffix"]  # fmt: skip
KPIS = ["deals_total", "deals_open", "deals_won", "deals_lost", "win_rate", "avg_deal_size",
        "revenue_won", "sales_cycle_days_median"]  # fmt: skip


@dataclass(frozen=True)
class Deal:
    id: str
    name: str
    owner: str
    status: str  # open, won, lost
    stage: str
    amount: Decimal
    created_at: datetime
    closed_at: datetime | None


def format_amount(amount: Decimal, style: str) -> str:
    text = f"{amount:,.2f}"  # 1,234,567.89
    if style == "plain":
        return f"{amount:.2f}"
    if style == "comma_thousands":
        return text
    if style == "decimal_comma":
        return f"{amount:.2f}".replace(".", ",")
    if style == "dot_thousands_comma":
        return text.replace(",", "_").replace(".", ",").replace("_", ".")
    if style == "dollar":
        return f"${text}"
    if style == "euro_suffix":
        return text.replace(",", "_").replace(".", ",").replace("_", ".") + " €"
    return text.replace(",", " ").replace(".", ",")  # space thousands, decimal comma


@st.composite
def deals(draw: st.DrawFn, has_time: bool) -> list[Deal]:
    """1..30 deals; the first is won with day-of-month > 12 in both dates, so that day-first
    and month-first formats are never ambiguous (as in any real export of some size)."""
    count = draw(st.integers(1, 30))
    won_word, lost_word = draw(st.sampled_from(CLOSING_WORDS))
    out = []
    for i in range(count):
        if i == 0:
            status = "won"
            created = datetime(2023, 3, 28, 10, 15) if has_time else datetime(2023, 3, 28)
            closed: datetime | None = created + timedelta(days=27, hours=5 if has_time else 0)
        else:
            status = draw(st.sampled_from(["open", "won", "lost"]))
            day = draw(st.integers(0, 700))
            minutes = draw(st.integers(0, 24 * 60 - 1)) if has_time else 0
            created = datetime(2023, 1, 1) + timedelta(days=day, minutes=minutes)
            closed = None
            if status != "open":
                span = draw(st.integers(0, 200 * 24 * 60 if has_time else 200))
                closed = created + (timedelta(minutes=span) if has_time else timedelta(days=span))
        stage = {"won": won_word, "lost": lost_word}.get(status) or draw(
            st.sampled_from(OPEN_STAGES)
        )
        cents = draw(st.integers(0, 250_000_000))
        out.append(
            Deal(
                id=f"D{i + 1}",
                name=f"Deal {i + 1}",
                owner=draw(st.sampled_from(OWNERS)),
                status=status,
                stage=stage,
                amount=Decimal(cents) / 100,
                created_at=created,
                closed_at=closed,
            )
        )
    return out


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    encoding: str
    newline: str
    quoting: int
    date_format: str
    number_format: str
    headers: dict[str, str]


@st.composite
def export(draw: st.DrawFn) -> tuple[list[Deal], Dialect]:
    date_format, has_time = draw(st.sampled_from(DATE_FORMATS))
    number_format = draw(st.sampled_from(NUMBER_FORMATS))
    delimiters = [",", ";", "\t", "|"]
    dialect = Dialect(
        delimiter=draw(st.sampled_from(delimiters)),
        encoding=draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"])),  # € in cp1252
        newline=draw(st.sampled_from(["\n", "\r\n"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        date_format=date_format,
        number_format=number_format,
        headers={col: draw(st.sampled_from(names)) for col, names in HEADERS.items()},
    )
    return draw(deals(has_time)), dialect


def write_export(rows: list[Deal], dialect: Dialect, folder: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=dialect.delimiter,
        quoting=dialect.quoting,
        lineterminator=dialect.newline,
    )
    columns = list(HEADERS)
    writer.writerow([dialect.headers[c] for c in columns])
    for deal in rows:
        cells = {
            "id": deal.id,
            "name": deal.name,
            "owner": deal.owner,
            "stage": deal.stage,
            "amount": format_amount(deal.amount, dialect.number_format),
            "created_at": deal.created_at.strftime(dialect.date_format),
            "closed_at": deal.closed_at.strftime(dialect.date_format) if deal.closed_at else "",
        }
        writer.writerow([cells[c] for c in columns])
    path = folder / "deals.csv"
    path.write_bytes(buffer.getvalue().encode(dialect.encoding))
    return path


def reference_kpis(rows: list[Deal]) -> dict[str, float | None]:
    """The headline KPIs by hand, from the drawn values (no file, no Polars)."""
    won = [d for d in rows if d.status == "won"]
    lost = [d for d in rows if d.status == "lost"]
    cycles = [(d.closed_at - d.created_at).total_seconds() / 86_400 for d in won]
    return {
        "deals_total": len(rows),
        "deals_open": sum(d.status == "open" for d in rows),
        "deals_won": len(won),
        "deals_lost": len(lost),
        "win_rate": len(won) / (len(won) + len(lost)) if won or lost else None,
        "avg_deal_size": float(sum(d.amount for d in won) / len(won)) if won else None,
        "revenue_won": float(sum(d.amount for d in won)),
        "sales_cycle_days_median": statistics.median(cycles) if cycles else None,
    }


def _same(got: float | None, expected: float | None) -> bool:
    if got is None or expected is None:
        return got is expected
    return math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=export())
def test_any_dialect_gives_the_reference_kpis(
    data: tuple[list[Deal], Dialect], tmp_path_factory: pytest.TempPathFactory
) -> None:
    import crmkpi.api as api
    from crmkpi.metrics.evaluate import evaluate

    rows, dialect = data
    path = write_export(rows, dialect, tmp_path_factory.mktemp("export"))
    ds = api.load(path, config=Config())
    (item,) = ds.inputs
    assert (item.rows_read, item.rows_loaded, item.rows_rejected) == (len(rows), len(rows), 0)
    assert item.cells_flagged == {}
    skipped: dict[str, str] = {}
    frames = evaluate(ds, KPIS, skipped=skipped)
    got = {k: (frames[k]["value"][0] if k in frames and frames[k].height else None) for k in KPIS}
    expected = reference_kpis(rows)
    wrong = {k: (got[k], expected[k]) for k in KPIS if not _same(got[k], expected[k])}
    assert wrong == {}, f"{dialect}: {wrong}"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=export(), typed=st.booleans())
def test_xlsx_gives_the_reference_kpis(
    data: tuple[list[Deal], Dialect], typed: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same deals as a workbook: cells typed (dates, numbers) or all text in the dialect."""
    from openpyxl import Workbook

    import crmkpi.api as api
    from crmkpi.metrics.evaluate import evaluate

    rows, dialect = data
    book = Workbook()
    sheet = book.active
    sheet.append([dialect.headers[c] for c in HEADERS])
    for d in rows:
        if typed:
            sheet.append([d.id, d.name, d.owner, d.stage, float(d.amount), d.created_at,
                          d.closed_at])  # fmt: skip
        else:
            closed = d.closed_at.strftime(dialect.date_format) if d.closed_at else None
            sheet.append([d.id, d.name, d.owner, d.stage,
                          format_amount(d.amount, dialect.number_format),
                          d.created_at.strftime(dialect.date_format), closed])  # fmt: skip
    path = tmp_path_factory.mktemp("xlsx") / "deals.xlsx"
    book.save(path)
    ds = api.load(path, config=Config())
    (item,) = ds.inputs
    assert (item.rows_read, item.rows_loaded, item.rows_rejected) == (len(rows), len(rows), 0)
    frames = evaluate(ds, KPIS, skipped={})
    got = {k: (frames[k]["value"][0] if k in frames and frames[k].height else None) for k in KPIS}
    expected = reference_kpis(rows)
    wrong = {k: (got[k], expected[k]) for k in KPIS if not _same(got[k], expected[k])}
    assert wrong == {}, f"typed={typed} {dialect}: {wrong}"
