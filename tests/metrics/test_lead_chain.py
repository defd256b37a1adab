"""Lead -> deal -> won over one cohort of leads, and the leads nobody contacted."""

from __future__ import annotations

import polars as pl
import pytest
from metric_frames import dt

from crmkpi.dataset import Dataset
from crmkpi.metrics import evaluate, evaluate_tables
from crmkpi.metrics.base import Context
from crmkpi.metrics.lead_chain import TABLES


def _leads() -> pl.DataFrame:
    """L1 and L2 converted (customers C1, C2), L3 not converted, L4 never contacted."""
    return pl.DataFrame(
        {
            "id": ["L1", "L2", "L3", "L4"],
            "owner": ["ann", "bob", "ann", "bob"],
            "source": ["Web", "Web", "Events", "Web"],
            "created_at": [dt(2024, 1, 1), dt(2024, 1, 2), dt(2024, 1, 3), dt(2024, 1, 4)],
            "first_contact_at": [dt(2024, 1, 1, 1), dt(2024, 1, 2, 1), dt(2024, 1, 3, 1), None],
            "converted": [True, True, False, False],
            "customer_id": ["C1", "C2", None, None],
        }
    )


def _deals() -> pl.DataFrame:
    """C1: an older lost deal (before its lead), the lead's won deal, a later won upsell.
    C2: the lead's deal, still open."""
    return pl.DataFrame(
        {
            "id": ["old", "new", "upsell", "c2"],
            "customer_id": ["C1", "C1", "C1", "C2"],
            "status": ["lost", "won", "won", "open"],
            "created_at": [dt(2023, 6, 1), dt(2024, 1, 5), dt(2024, 3, 1), dt(2024, 1, 6)],
        }
    )


def _row(table: pl.DataFrame, breakdown: str, name: str) -> dict[str, object]:
    rows = table.filter((pl.col("breakdown") == breakdown) & (pl.col("name") == name))
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_chain_follows_each_lead_to_its_own_first_deal() -> None:
    ds = Dataset(frames={"leads": _leads(), "deals": _deals()}, as_of=dt(2024, 4, 1))
    table = evaluate_tables(ds, ["lead_chain"])["lead_chain"]
    every = _row(table, "all", "(all leads)")
    # L1 -> "new" (won): "old" came before the lead, "upsell" after the first one; L2 -> c2
    # (open); L3 and L4 have no deal. Counting every deal of the customers would give 4 deals
    # and 2 won.
    assert (every["leads"], every["contacted"], every["deals"]) == (4, 3, 2)
    assert (every["deals_won"], every["deals_lost"], every["deals_open"]) == (1, 0, 1)
    assert every["lead_to_deal_rate"] == pytest.approx(2 / 4)
    assert every["deal_to_won_rate"] == pytest.approx(1 / 2)
    assert every["lead_to_won_rate"] == pytest.approx(1 / 4)
    for breakdown in ("source", "owner"):  # each breakdown splits the same cohort
        rows = table.filter(pl.col("breakdown") == breakdown)
        assert [rows[c].sum() for c in ("leads", "deals", "deals_won")] == [4, 2, 1]
    web = _row(table, "source", "Web")  # L1 L2 L4
    assert (web["leads"], web["deals"], web["deals_won"]) == (3, 2, 1)
    bob = _row(table, "owner", "bob")  # L2 L4
    assert (bob["leads"], bob["contacted"], bob["deals"], bob["deals_won"]) == (2, 1, 1, 0)
    note = TABLES[0].note(Context(ds))
    assert "customer_id" in note


def test_chain_by_the_deals_lead_id_counts_one_deal_per_lead() -> None:
    leads = _leads().drop("customer_id", "converted")
    deals = pl.DataFrame(
        {
            "id": ["d1", "d2", "d3"],
            "lead_id": ["L1", "L1", "L3"],
            "status": ["lost", "won", "won"],
            "created_at": [dt(2024, 1, 5), dt(2024, 2, 5), dt(2024, 1, 9)],
        }
    )
    ds = Dataset(frames={"leads": leads, "deals": deals}, as_of=dt(2024, 4, 1))
    table = evaluate_tables(ds, ["lead_chain"])["lead_chain"]
    every = _row(table, "all", "(all leads)")
    # L1's deal is d1, its first (lost); d2 is a second try. L3 -> d3 (won).
    assert (every["deals"], every["deals_won"], every["deals_lost"]) == (2, 1, 1)
    assert "lead_id" in TABLES[0].note(Context(ds))


def test_chain_without_a_converted_flag_takes_a_named_customer_as_converted() -> None:
    ds = Dataset(frames={"leads": _leads().drop("converted"), "deals": _deals()})
    every = _row(evaluate_tables(ds, ["lead_chain"])["lead_chain"], "all", "(all leads)")
    assert (every["deals"], every["deals_won"]) == (2, 1)  # as with the flag: L1 and L2


def test_chain_is_skipped_when_nothing_links_leads_to_deals() -> None:
    leads = _leads().drop("customer_id")
    skipped: dict[str, str] = {}
    ds = Dataset(frames={"leads": leads, "deals": _deals().drop("customer_id")})
    evaluate_tables(ds, ["lead_chain"], skipped=skipped)
    assert "not linked to leads" in skipped["lead_chain"]


def test_never_contacted_count_and_list() -> None:
    leads = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "created_at": [dt(2024, 1, 1), dt(2024, 1, 2), dt(2024, 1, 3)],
        }
    )
    # No first_contact_at column: the first activity at or after creation is the contact.
    # b's only touch is a day before it was created (an older talk): b was never contacted.
    activities = pl.DataFrame(
        {"lead_id": ["a", "b"], "at": [dt(2024, 1, 1, 5), dt(2024, 1, 1)], "type": ["call"] * 2}
    )
    ds = Dataset(frames={"leads": leads, "activities": activities}, as_of=dt(2024, 1, 11))
    assert evaluate(ds, ["leads_never_contacted"])["leads_never_contacted"]["value"][0] == 2
    listed = evaluate_tables(ds, ["leads_never_contacted"])["leads_never_contacted"]
    assert listed["id"].to_list() == ["b", "c"]  # oldest first
    assert listed["days_waiting"].to_list() == pytest.approx([9.0, 8.0])
