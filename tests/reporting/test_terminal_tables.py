"""Catalog tables at narrow widths: declared groups drop together, a rank keeps its measure,
a table without room for its essential columns becomes one block per row."""

from __future__ import annotations

import polars as pl
import pytest

from crmkpi.metrics.base import ColumnLayout
from crmkpi.reporting import terminal
from crmkpi.reporting.model import Report
from crmkpi.reporting.terminal_tables import columns_that_fit


def header_of(text: str, first: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(first))


def ranked_owners(report: Report) -> Report:
    """Owners ranked by revenue won, the rank second and the revenue last, as the catalog has
    them: dropping numbers from the right would keep the rank and hide what it ranks by."""
    owners = report.tables["owners"]
    owners.frame = owners.frame.with_columns(rank=pl.Series([1, 2, 3])).select(
        "owner", "rank", "deals_won", "win_rate", "revenue_won"
    )
    owners.units["rank"] = "count"
    return report


@pytest.mark.parametrize("width", [40, 50, 60, 70, 80, 160])
def test_a_rank_is_never_shown_without_its_measure(report: Report, width: int) -> None:
    text = terminal.render(ranked_owners(report), width=width, boxes=True)
    if any(line.startswith("Owner ") for line in text.splitlines()):
        header = header_of(text, "Owner ")
        assert ("Rank" in header) == ("Revenue won" in header)
        assert "Rank" in header  # essential: the table keeps it or becomes a list


def test_declared_groups_go_together() -> None:
    frame = pl.DataFrame(
        {"source": ["Web"], "leads": [10], "spend": [500.0], "cost_per_lead": [50.0]}
    )
    widths = {"source": 6, "leads": 5, "spend": 5, "cost_per_lead": 13}
    layout = ColumnLayout(groups=(("spend", "cost_per_lead"),))
    # 6 + 5 + 5 + 13 + 9 = 38 cells for all; at 30 the last column (cost per lead) must go,
    # and spend with it: 6 + 5 + 3 = 14
    assert columns_that_fit(frame, widths, 30, layout) == ["source", "leads"]
    assert columns_that_fit(frame, widths, 30) == ["source", "leads", "spend"]
    assert columns_that_fit(frame, widths, 38, layout) == list(frame.columns)


def test_no_room_for_the_essential_columns_means_a_list() -> None:
    frame = pl.DataFrame({"name": ["Acme"], "owner": ["Ana"], "days": [3.0], "amount": [1.0]})
    widths = {"name": 20, "owner": 20, "days": 10, "amount": 10}
    layout = ColumnLayout(essential=("name", "owner", "days"))
    # essentials need 20 + 20 + 10 + 6 = 56 cells
    assert columns_that_fit(frame, widths, 56, layout) == ["name", "owner", "days"]
    assert columns_that_fit(frame, widths, 55, layout) is None


def test_a_list_shows_every_column_of_every_row(report: Report) -> None:
    text = terminal.render(report, width=50, boxes=True)
    start = text.index("STUCK DEALS")
    lines = text[start : text.index("SAAS")].splitlines()
    assert not lines[1].startswith("Id ")  # no table header: blocks
    stuck = " ".join(line.strip() for line in lines)
    # the first deal's block: id and name as its heading, then every other column
    assert "D000  Very long deal name number 0 for Example Corp" in stuck
    for field in ("Owner Ana Ruiz", "Stage Proposal", "Amount 1,000", "Days in stage 100.0 d"):
        assert field in stuck
    assert "one block per row" in stuck
    assert "5 more rows" in stuck  # 20 deals, 15 shown


def test_dropped_columns_are_named_with_how_to_see_them(report: Report) -> None:
    text = " ".join(terminal.render(report, width=80, boxes=True).split())
    assert "not shown at this width: Amount (a wider terminal or --format md shows them)" in text
