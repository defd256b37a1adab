"""crmkpi.explain: the row account and arithmetic, against counts worked out by hand from the
deals in api_deals.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmkpi
from crmkpi.dataset import Dataset
from crmkpi.errors import UsageError
from crmkpi.metrics.kinds import count, mean, quantile_of, ratio
from crmkpi.schema import TIMESTAMP


def test_win_rate_rows_and_arithmetic_in_a_window(ds: Dataset) -> None:
    why = crmkpi.explain(ds, "win_rate", since="2025-04-01")
    # 10 deals. D7 (open) has no close date; D1 won, D2 and D6 lost closed before April.
    # Left: D3, D4, D8, D10 won and D5, D9 lost -> 4 / 6.
    assert [(s.label, s.rows) for s in why.steps] == [
        ("rows in deals", 10),
        ("left out: closed_at empty (status: open 1)", -1),
        ("left out: closed_at before 2025-04-01 (status: lost 2, won 1)", -3),
        ("rows in the window", 6),
    ]
    groups = {g.label: (g.rows, g.parts, g.counted) for g in why.groups}
    assert groups == {
        "won": (4, {"numerator": 4.0, "denominator": 4.0}, True),
        "lost": (2, {"numerator": 0.0, "denominator": 2.0}, True),
    }
    assert why.arithmetic == "win_rate = won 4 / (won 4 + lost 2) = 0.6667"
    assert why.value == pytest.approx(4 / 6)
    assert why.columns == ("status", "closed_at")
    assert "Definition: won / (won + lost)" in why.to_text()


def test_where_narrows_the_rows_explained(ds: Dataset) -> None:
    why = crmkpi.explain(ds, "win_rate", where='owner = "Ana"')
    # Ana: D1 won, D2 lost, D3 won.
    assert why.arithmetic == "win_rate = won 2 / (won 2 + lost 1) = 0.6667"
    assert 'Filter (--where): owner = "Ana"' in why.to_text()


def test_open_deals_count_nowhere_without_a_window(ds: Dataset) -> None:
    why = crmkpi.explain(ds, "win_rate")
    open_group = next(g for g in why.groups if g.label == "open")
    assert (open_group.rows, open_group.counted) == (1, False)
    # Every deal: won D1, D3, D4, D8, D10; lost D2, D5, D6, D9.
    assert why.arithmetic == "win_rate = won 5 / (won 5 + lost 4) = 0.5556"


def test_a_mean_reports_rows_without_a_value(ds: Dataset) -> None:
    why = crmkpi.explain(ds, "avg_deal_size")
    # Won with an amount: D1 12000, D3 3000, D4 20000, D10 4000 -> 39000 / 4; D8 has none.
    (part,) = why.parts
    assert part.value == pytest.approx(9750)
    assert part.rows == 4
    assert part.empty == {"amount": 1}
    assert why.value == pytest.approx(9750)


def test_a_kpi_built_from_other_kpis_shows_its_parts(ds: Dataset) -> None:
    from crmkpi.metrics import CATALOG

    why = crmkpi.explain(ds, "pipeline_velocity")
    assert why.arithmetic.startswith(CATALOG["pipeline_velocity"].formula + ", with ")
    assert "deals_open 1" in why.arithmetic  # D7
    assert "win_rate 55.6%" in why.arithmetic  # 5 won / 9 closed, as above


def test_unknown_and_table_ids_are_usage_errors(ds: Dataset) -> None:
    with pytest.raises(UsageError, match="did you mean win_rate"):
        crmkpi.explain(ds, "win_rat")
    with pytest.raises(UsageError, match="owners is a report table"):
        crmkpi.explain(ds, "owners")


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (count("deals with status won", pl.col("status") == "won"),
         "count of deals with status won"),
        (mean("amount of won deals", pl.col("amount"), pl.col("status") == "won"),
         "mean of amount of won deals"),
        (quantile_of("response minutes", pl.col("minutes"), 0.9),
         "90th percentile (linear interpolation) of response minutes"),
        (ratio(count("won"), count("(won + lost)")), "won / (won + lost)"),
    ],
)  # fmt: skip
def test_parts_read_like_formulas(parts: object, text: str) -> None:
    assert parts.text == text  # type: ignore[attr-defined]


def test_rows_listing_says_how_each_deal_counted(ds: Dataset) -> None:
    listing = crmkpi.explain_rows(ds, "win_rate", since="2025-04-01", where='owner != "Cy"')
    got = dict(zip(listing["id"], listing["counted_as"], strict=True))
    # Cy's D8, D9 and D10 (no owner: null never matches !=) are filtered away by --where.
    assert got == {
        "D1": "left out: closed_at before 2025-04-01",
        "D2": "left out: closed_at before 2025-04-01",
        "D3": "counted: numerator and denominator",
        "D4": "counted: numerator and denominator",
        "D5": "counted: denominator",
        "D6": "left out: closed_at before 2025-04-01",
        "D7": "left out: closed_at empty",
    }
    assert listing.columns[:4] == ["id", "owner", "status", "amount"]


def test_rows_listing_of_a_mean_names_empty_amounts(ds: Dataset) -> None:
    listing = crmkpi.explain_rows(ds, "avg_deal_size")
    got = dict(zip(listing["id"], listing["counted_as"], strict=True))
    assert [k for k, v in got.items() if v == "counted"] == ["D1", "D3", "D4", "D10"]
    assert got["D8"] == "left out: amount empty"  # won, but no amount
    assert got["D2"] == "not counted: matches no part of the formula"  # lost


def test_rows_listing_needs_a_kpi_counted_from_rows(ds: Dataset) -> None:
    with pytest.raises(UsageError, match="computed from other KPIs"):
        crmkpi.explain_rows(ds, "pipeline_velocity")


def test_a_stock_kpi_reports_empty_cells_in_the_columns_it_needs(ds: Dataset) -> None:
    deals = ds.frames["deals"].with_columns(
        pl.when(pl.col("id") == "D2").then(None).otherwise(pl.col("status")).alias("status")
    )
    why = crmkpi.explain(Dataset(frames={"deals": deals}), "deals_open")
    assert [(s.label, s.rows) for s in why.steps] == [
        ("rows in deals", 10),
        ("deals.status empty", 1),
    ]
    assert why.value == 1  # D7 is the one open deal (D2, lost, lost its status)


STATUSES = ["won", "lost", "open"]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(STATUSES), st.one_of(st.none(), st.integers(0, 99))),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(["win_rate", "close_rate", "deals_won"]),
)
def test_the_account_adds_up(deals: list, kpi: str) -> None:
    start = datetime(2025, 1, 1)
    frame = pl.DataFrame(
        [{"id": f"D{i}", "status": s, "created_at": start + timedelta(days=1),
          "closed_at": None if d is None else start + timedelta(days=d)}
         for i, (s, d) in enumerate(deals)],
        schema={"id": pl.String, "status": pl.String, "created_at": TIMESTAMP,
                "closed_at": TIMESTAMP},
    )  # fmt: skip
    why = crmkpi.explain(Dataset(frames={"deals": frame}), kpi, since="2025-01-20")
    # The steps add up: every row is in the window or left out by exactly one reason.
    assert sum(s.rows for s in why.steps[:-1]) == why.steps[-1].rows
    assert sum(g.rows for g in why.groups) == why.steps[-1].rows
    listing = crmkpi.explain_rows(Dataset(frames={"deals": frame}), kpi, since="2025-01-20")
    assert listing["counted_as"].str.starts_with("left out").sum() == -sum(
        s.rows for s in why.steps[1:-1]
    )
    if len(why.parts) == 2:
        num, den = why.parts
        assert why.value == (num.value / den.value if den.value else None)


def test_a_ratio_computed_by_hand_names_its_parts_in_words() -> None:
    leads = pl.DataFrame(
        {"id": ["L1", "L2", "L3", "L4"], "created_at": [datetime(2025, 1, 2)] * 4,
         "converted": [True, False, True, None]},
        schema={"id": pl.String, "created_at": TIMESTAMP, "converted": pl.Boolean},
    )  # fmt: skip
    why = crmkpi.explain(Dataset(frames={"leads": leads}), "lead_conversion_rate")
    assert why.kind == "ratio"
    assert dict(why.named_parts) == {
        "numerator": "count of converted leads",
        "denominator": "count of leads created in the period (cohort)",
    }
    # L1 and L3 converted of 4 created (L4's empty flag counts as not converted): 2 / 4.
    assert why.value == pytest.approx(0.5)
    assert "Kind: ratio" in why.to_text() and "None." not in why.to_text()
