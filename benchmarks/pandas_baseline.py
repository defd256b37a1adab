"""The baseline a user would otherwise write: pandas over the generated exports.

Reads deals and stage history the way a pandas script typically does (`read_csv` with
`parse_dates`), derives the deal status from the stage, and computes the headline KPIs, the
funnel and the owners table. Prints them as JSON, so the benchmark also cross-checks crmkpi's
numbers against an implementation that shares none of its code.

    python benchmarks/pandas_baseline.py benchmarks/data/1000000
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from generate import (
    DATETIME_FORMAT,
    DEAL_HEADERS,
    HISTORY_HEADERS,
    LOST_STAGE,
    OPEN_STAGES,
    WON_STAGE,
)


def headline(deals: pd.DataFrame) -> dict[str, object]:
    """Counts, win rate and cycle over all deals; money per currency (amounts are not mixed)."""
    won = deals["status"] == "won"
    lost = deals["status"] == "lost"
    closed_count = int(won.sum() + lost.sum())
    created, closed = deals.loc[won, "created_at"], deals.loc[won, "closed_at"]
    # crmkpi's rule: a close at exactly midnight is a date, counted in whole days between dates.
    exact = (closed - created).dt.total_seconds() / 86_400
    whole = (closed.dt.normalize() - created.dt.normalize()).dt.days.astype("float64")
    cycle = exact.where(closed != closed.dt.normalize(), whole)
    won_amount = deals.loc[won].groupby("currency")["amount"]
    return {
        "deals_total": float(len(deals)),
        "deals_open": float((deals["status"] == "open").sum()),
        "deals_won": float(won.sum()),
        "deals_lost": float(lost.sum()),
        "win_rate": float(won.sum() / closed_count) if closed_count else None,
        "avg_deal_size": won_amount.mean().to_dict(),
        "revenue_won": won_amount.sum().to_dict(),
        "sales_cycle_days_median": float(cycle.median()) if len(cycle) else None,
    }


def funnel(deals: pd.DataFrame, history: pd.DataFrame) -> list[dict[str, object]]:
    """Deals that reached each open stage or went past it (a won deal passed every stage)."""
    rank = {stage: i for i, stage in enumerate(OPEN_STAGES)}
    rank[WON_STAGE] = len(OPEN_STAGES)
    furthest = history.assign(rank=history["stage"].map(rank)).groupby("deal_id")["rank"].max()
    current = deals.set_index("id")["stage"].map(rank)
    furthest = pd.concat([furthest, current], axis=1).max(axis=1)
    rows = []
    previous = None
    for stage, i in rank.items():
        count = int((furthest >= i).sum())
        label = "(won)" if stage == WON_STAGE else stage
        rows.append(
            {"stage": label, "reached": count, "conversion": count / previous if previous else None}
        )
        previous = count
    return rows


def owners(deals: pd.DataFrame) -> list[dict[str, object]]:
    frame = deals.assign(
        won=deals["status"] == "won",
        lost=deals["status"] == "lost",
        won_amount=deals["amount"].where(deals["status"] == "won", 0.0),
    )
    table = frame.groupby("owner").agg(
        deals=("id", "size"), deals_won=("won", "sum"), deals_lost=("lost", "sum"),
        revenue_won=("won_amount", "sum"),
    )  # fmt: skip
    closed = table["deals_won"] + table["deals_lost"]
    table["win_rate"] = (table["deals_won"] / closed).where(closed > 0)
    table = table.reset_index().sort_values(["revenue_won", "owner"], ascending=[False, True])
    return table.to_dict("records")


def run(folder: Path) -> dict[str, object]:
    deal_cols = {header: canonical for canonical, header in DEAL_HEADERS.items()}
    deals = pd.read_csv(
        folder / "deals.csv",
        dtype={DEAL_HEADERS["id"]: str, DEAL_HEADERS["amount"]: "float64"},
        parse_dates=[DEAL_HEADERS["created_at"], DEAL_HEADERS["closed_at"]],
        date_format=DATETIME_FORMAT,
    ).rename(columns=deal_cols)
    deals["status"] = "open"
    deals.loc[deals["stage"] == WON_STAGE, "status"] = "won"
    deals.loc[deals["stage"] == LOST_STAGE, "status"] = "lost"
    history = pd.read_csv(
        folder / "stage_history.csv",
        dtype={HISTORY_HEADERS["deal_id"]: str},
        parse_dates=[HISTORY_HEADERS["entered_at"]],
        date_format=DATETIME_FORMAT,
    ).rename(columns={header: canonical for canonical, header in HISTORY_HEADERS.items()})
    return {"kpis": headline(deals), "funnel": funnel(deals, history), "owners": owners(deals)}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: pandas_baseline.py FOLDER", file=sys.stderr)
        return 2
    json.dump(run(Path(argv[0])), sys.stdout, default=float)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
