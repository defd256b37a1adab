"""A small hand-built deals table (and leads), shared by the API tests.

Quarter by quarter, closed deals per owner (worked out by hand):
  Ana  Q1: D1 won, D2 lost          Q2: D3 won
  Bo   Q1: D6 lost                  Q2: D4 won, D5 lost        (D7 open)
  Cy   Q2: D8 won (no amount)       Q3: D9 lost
  (no owner) Q2: D10 won
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.schema import TIMESTAMP

D = datetime
DEALS = [
    ("D1", "Ana", "Referral", "won", 12000.0, D(2025, 1, 5), D(2025, 2, 10)),
    ("D2", "Ana", "Web", "lost", 5000.0, D(2025, 1, 7), D(2025, 3, 1)),
    ("D3", "Ana", "Web", "won", 3000.0, D(2025, 3, 20), D(2025, 4, 2)),
    ("D4", "Bo", "Referral", "won", 20000.0, D(2025, 2, 1), D(2025, 4, 15)),
    ("D5", "Bo", "Web", "lost", 7000.0, D(2025, 2, 10), D(2025, 5, 20)),
    ("D6", "Bo", "Web", "lost", 1000.0, D(2025, 1, 11), D(2025, 1, 30)),
    ("D7", "Bo", "Event", "open", 9000.0, D(2025, 3, 1), None),
    ("D8", "Cy", "Referral", "won", None, D(2025, 4, 1), D(2025, 6, 30)),
    ("D9", "Cy", "Web", "lost", 2500.0, D(2025, 4, 3), D(2025, 7, 1)),
    ("D10", None, "Web", "won", 4000.0, D(2025, 5, 1), D(2025, 5, 5)),
]
DEAL_COLUMNS = ("id", "owner", "source", "status", "amount", "created_at", "closed_at")
DEAL_ROWS = [dict(zip(DEAL_COLUMNS, row, strict=True)) for row in DEALS]

LEADS = [
    ("L1", "Web", D(2025, 1, 2)),
    ("L2", "Referral", D(2025, 1, 3)),
    ("L3", "Web", D(2025, 2, 4)),
]


def deals_frame() -> pl.DataFrame:
    return pl.DataFrame(
        DEALS,
        schema={"id": pl.String, "owner": pl.String, "source": pl.String, "status": pl.String,
                "amount": pl.Float64, "created_at": TIMESTAMP, "closed_at": TIMESTAMP},
        orient="row",
    )  # fmt: skip


def leads_frame() -> pl.DataFrame:
    return pl.DataFrame(
        LEADS, schema={"id": pl.String, "source": pl.String, "created_at": TIMESTAMP}, orient="row"
    )


def deals_and_leads() -> Dataset:
    return Dataset(frames={"deals": deals_frame(), "leads": leads_frame()})


def write_deals_csv(folder) -> None:  # noqa: ANN001
    """The same deals as a CRM-like CSV export, for tests that go through the importers."""
    lines = ["Deal ID,Deal Owner,Source,Status,Amount,Create Date,Close Date"]
    for r in DEAL_ROWS:
        cells = [
            r["id"], r["owner"] or "", r["source"], r["status"],
            "" if r["amount"] is None else f"{r['amount']:.0f}",
            r["created_at"].strftime("%Y-%m-%d"),
            "" if r["closed_at"] is None else r["closed_at"].strftime("%Y-%m-%d"),
        ]  # fmt: skip
        lines.append(",".join(cells))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
