"""Tables list rows in one order for one input: ties on the sort key fall back to the ids."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from crmkpi.dataset import Dataset, StageModel
from crmkpi.metrics import evaluate_tables


def test_stuck_deals_tied_on_days_are_listed_by_id() -> None:
    # Three open deals entered "Proposal" on 2 January; two won deals set the norm of the stage
    # (one day in it) and the last date of the data (28 February): each open deal has been in
    # Proposal 57 days, past the norm, and the ties are broken by id.
    ids = ["d9", "d2", "d5"]
    deals = pl.DataFrame(
        {
            "id": [*ids, "w1", "w2"],
            "stage": ["Proposal"] * 3 + ["Won"] * 2,
            "status": ["open"] * 3 + ["won"] * 2,
            "created_at": [datetime(2025, 1, 1)] * 5,
            "closed_at": [None] * 3 + [datetime(2025, 1, 3), datetime(2025, 2, 28)],
        }
    )
    history = pl.DataFrame(
        {
            "deal_id": [*ids, "w1", "w1", "w2", "w2"],
            "stage": ["Proposal"] * 3 + ["Proposal", "Won", "Proposal", "Won"],
            "entered_at": [datetime(2025, 1, 2)] * 3
            + [datetime(2025, 1, 2), datetime(2025, 1, 3)]
            + [datetime(2025, 2, 27), datetime(2025, 2, 28)],
        }
    )
    stages = StageModel(order=("Proposal", "Won"), won=frozenset({"Won"}), origin="config")
    ds = Dataset(frames={"deals": deals, "stage_history": history}, stages=stages)
    for _ in range(3):
        stuck = evaluate_tables(ds, ["stuck_deals"])["stuck_deals"]
        assert stuck["id"].to_list() == ["d2", "d5", "d9"]
        assert stuck["days_in_stage"].to_list() == [57.0, 57.0, 57.0]
