"""List tables (stuck deals) are cut in the report, with the full count kept in the note."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from crmkpi.dataset import Dataset, StageModel
from crmkpi.metrics import TABLE_CATALOG, evaluate_tables
from crmkpi.reporting.build import build_report


def test_report_keeps_the_first_rows_of_a_long_list() -> None:
    limit = TABLE_CATALOG["stuck_deals"].report_rows
    assert limit is not None
    # Open deals created one a day, all still in "Proposal". With no stage history and no
    # configured limit the threshold is the 90th percentile of their ages, so about a tenth of
    # them is stuck: 12 x limit deals give about 1.2 x limit stuck ones, more than the report keeps.
    n_open = 12 * limit
    created = [datetime(2019, 1, 1) + timedelta(days=i) for i in range(n_open)]
    deals = pl.DataFrame(
        {
            "id": [f"d{i:04d}" for i in range(n_open)] + ["w"],
            "stage": ["Proposal"] * n_open + ["Won"],
            "status": ["open"] * n_open + ["won"],
            "created_at": [*created, datetime(2024, 1, 1)],
            "closed_at": [None] * n_open + [datetime(2025, 6, 1)],
        }
    )
    stages = StageModel(order=("Proposal", "Won"), won=frozenset({"Won"}), origin="config")
    ds = Dataset(frames={"deals": deals}, stages=stages)
    full = evaluate_tables(ds, ["stuck_deals"])["stuck_deals"]
    rep = build_report(ds)
    shown = rep.tables["stuck_deals"]
    assert full.height > limit  # the fixture must make a list longer than the report keeps
    assert shown.frame.height == limit
    assert shown.frame["id"].to_list() == full["id"].head(limit).to_list()
    assert f"the first {limit:,} of {full.height:,} rows" in (shown.note or "")
