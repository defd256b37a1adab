"""Datasets built in code for the report tests: a small, deterministic demo company."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import polars as pl

from crmkpi.dataset import Dataset, InputSummary, StageModel
from crmkpi.schema import TABLES

OWNERS = ("Ana Ruiz", "Ben Okafor", "Chen Li", "Dmitri Volkov")
SOURCES = ("Web", "Referral", "Event", "Partner")
OPEN_STAGES = ("Lead", "Qualified", "Proposal", "Negotiation")
STAGES = (*OPEN_STAGES, "Won", "Lost")
LOST_REASONS = ("Price", "Timing", "Competitor", "No budget")
START = datetime(2024, 7, 1)
END = datetime(2025, 6, 28)


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    """Rows as a canonical frame with the schema's dtypes."""
    spec = TABLES[table]
    columns = list(rows[0]) if rows else list(spec.names)
    return pl.DataFrame(rows, schema={c: spec.dtype(c) for c in columns}, orient="row")


def _deals(rng: random.Random, count: int, currencies: tuple[str, ...]) -> list[dict]:
    span = (END - START).days
    rows = []
    for i in range(count):
        created = START + timedelta(days=rng.randrange(span), hours=rng.randrange(9, 18))
        stage = rng.choices(STAGES, weights=(2, 2, 2, 1, 4, 4))[0]
        status = {"Won": "won", "Lost": "lost"}.get(stage, "open")
        closed = None
        if status != "open":
            closed = min(created + timedelta(days=rng.randrange(5, 90)), END)
        rows.append(
            {
                "id": f"D{i + 1:04d}",
                "name": f"Deal {i + 1}",
                "owner": OWNERS[i % len(OWNERS)],
                "source": rng.choice(SOURCES),
                "stage": stage,
                "status": status,
                "amount": float(rng.randrange(10, 500) * 100),
                "currency": currencies[i % len(currencies)],
                "probability": {"Lead": 0.1, "Qualified": 0.3, "Proposal": 0.5}.get(stage, 0.7),
                "created_at": created,
                "closed_at": closed,
                "expected_close_at": created + timedelta(days=60) if status == "open" else None,
                "lost_reason": rng.choice(LOST_REASONS) if status == "lost" else None,
            }
        )
    return rows


def _subscriptions(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(40):
        start = START + timedelta(days=rng.randrange(200))
        end = start + timedelta(days=rng.randrange(60, 400)) if i % 4 == 0 else None
        rows.append(
            {
                "customer_id": f"C{i + 1:03d}",
                "start_at": start,
                "end_at": end if end is None or end < END else None,
                "mrr": float(rng.choice((49, 99, 199, 499))),
                "currency": "EUR",
                "plan": rng.choice(("Basic", "Pro", "Team")),
                "churn_reason": rng.choice(("Price", "Moved to rival"))
                if end is not None and end < END
                else None,
            }
        )
    return rows


def _nps(rng: random.Random) -> list[dict]:
    span = (END - START).days
    return [
        {
            "customer_id": f"C{rng.randrange(1, 41):03d}",
            "score": rng.choice((3, 6, 7, 8, 9, 9, 10, 10)),
            "answered_at": START + timedelta(days=rng.randrange(span)),
        }
        for _ in range(60)
    ]


def _leads(rng: random.Random) -> list[dict]:
    span = (END - START).days
    rows = []
    for i in range(200):
        created = START + timedelta(days=rng.randrange(span), hours=rng.randrange(8, 19))
        converted = rng.random() < 0.3
        rows.append(
            {
                "id": f"L{i + 1:04d}",
                "owner": OWNERS[i % len(OWNERS)],
                "source": rng.choice(SOURCES),
                "created_at": created,
                "first_contact_at": created + timedelta(minutes=rng.randrange(5, 600)),
                "converted": converted,
                "converted_at": created + timedelta(days=rng.randrange(1, 30))
                if converted
                else None,
                "qualification": rng.choice(("Hot", "Warm", "Cold")),
            }
        )
    return rows


def demo_dataset(
    deals: int = 160, currencies: tuple[str, ...] = ("EUR",), saas: bool = True, seed: int = 7
) -> Dataset:
    """A year of a small sales team: deals (+ leads, subscriptions and NPS when `saas`)."""
    rng = random.Random(seed)
    frames = {"deals": frame("deals", _deals(rng, deals, currencies))}
    if saas:
        frames["leads"] = frame("leads", _leads(rng))
        frames["subscriptions"] = frame("subscriptions", _subscriptions(rng))
        frames["nps"] = frame("nps", _nps(rng))
    inputs = [
        InputSummary(
            f"exports/{name}.csv", name, f.height + 2, f.height, 2 if name == "deals" else 0
        )
        for name, f in frames.items()
    ]
    stages = StageModel(
        order=STAGES, won=frozenset({"Won"}), lost=frozenset({"Lost"}), origin="config"
    )
    return Dataset(frames=frames, inputs=inputs, stages=stages)
