"""Synthetic CRM exports for the benchmarks: deals, stage history, leads and activities.

Writes one folder per size (`benchmarks/data/<n>/`) holding CSV exports in a plain English
dialect (the headers a HubSpot- or Pipedrive-like export would carry), a `crmkpi.toml` naming
them, and optionally a `deals.xlsx` for the XLSX import benchmark. Everything is drawn with
numpy from a fixed seed and written by polars, so 10M deals take a minute, not an hour, and
the same size always gives the same bytes.

    python benchmarks/generate.py --deals 100000 1000000
    python benchmarks/generate.py --deals 10000000
    python benchmarks/generate.py --deals 100000 --xlsx
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

DATA_DIR = Path(__file__).parent / "data"
SEED = 20240101

# The pipeline a deal walks through, in order; a closed deal ends in one of the last two.
OPEN_STAGES = ("Qualification", "Discovery", "Demo", "Proposal", "Negotiation")
WON_STAGE = "Closed Won"
LOST_STAGE = "Closed Lost"
STAGES = (*OPEN_STAGES, WON_STAGE, LOST_STAGE)
OWNERS = tuple(f"Rep {i:02d}" for i in range(1, 41))
SOURCES = ("Website", "Referral", "Paid Search", "Events", "Outbound", "Partners")
CURRENCIES = ("USD", "EUR", "GBP")
ACTIVITY_TYPES = ("Call", "Email", "Meeting", "Task")
OUTCOMES = ("Connected", "No answer", "Left voicemail", "Completed")
LEAD_STATUSES = ("New", "Working", "Qualified", "Unqualified")

DAY_US = 86_400_000_000
START_US = 1_696_118_400_000_000  # 2023-10-01T00:00:00 UTC
SPAN_US = 3 * 365 * DAY_US  # to 2026-09-30: a recent export, so open deals are mostly young
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
XLSX_MAX_DEALS = 100_000  # openpyxl writes ~10k rows/s: bigger workbooks are not worth the wait

# Headers as the files carry them, per canonical table (canonical -> header).
DEAL_HEADERS = {
    "id": "Deal ID",
    "name": "Deal Name",
    "owner": "Deal Owner",
    "source": "Source",
    "pipeline": "Pipeline",
    "stage": "Deal Stage",
    "amount": "Amount",
    "currency": "Currency",
    "created_at": "Create Date",
    "closed_at": "Close Date",
}
HISTORY_HEADERS = {"deal_id": "Deal ID", "stage": "Stage", "entered_at": "Entered At"}
LEAD_HEADERS = {
    "id": "Lead ID",
    "owner": "Lead Owner",
    "source": "Lead Source",
    "created_at": "Created At",
    "first_contact_at": "First Contact At",
    "status": "Lead Status",
    "converted": "Converted",
}
ACTIVITY_HEADERS = {
    "id": "Activity ID",
    "type": "Activity Type",
    "owner": "Assigned To",
    "at": "Activity Date",
    "deal_id": "Deal ID",
    "outcome": "Outcome",
}
FILES = {
    "deals": ("deals.csv", DEAL_HEADERS),
    "stage_history": ("stage_history.csv", HISTORY_HEADERS),
    "leads": ("leads.csv", LEAD_HEADERS),
    "activities": ("activities.csv", ACTIVITY_HEADERS),
}


def _pick(values: tuple[str, ...], index: np.ndarray) -> pl.Series:
    """values[index] as a polars String column (no numpy unicode array: 10M rows stay small)."""
    return pl.Series(values, dtype=pl.String).gather(pl.Series(index, dtype=pl.UInt32))


def _timestamps(us: np.ndarray) -> pl.Series:
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us"))


def deal_tables(n: int, seed: int = SEED) -> dict[str, pl.DataFrame]:
    """Deals plus their stage history (about 3 rows per deal), drawn from one seed.

    A deal reaches stage k of the open pipeline (k = 1..5), then closes (97 % of deals older
    than half a year, half of the younger ones): won with a 40 % chance, lost otherwise. History
    rows are the stages entered, each a few days after the last.
    """
    rng = np.random.default_rng(seed)
    created = START_US + rng.integers(0, SPAN_US, n, dtype=np.int64)
    reached = rng.choice(np.arange(1, 6), n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    young = created > START_US + SPAN_US - 182 * DAY_US
    closed = rng.random(n) < np.where(young, 0.5, 0.97)
    won = closed & (rng.random(n) < 0.4)
    lost = closed & ~won
    step_us = rng.integers(DAY_US // 4, 9 * DAY_US, n, dtype=np.int64)
    closed_at = np.where(closed, created + step_us * (reached + 1), 0)
    stage_index = np.where(won, 5, np.where(lost, 6, reached - 1))
    amount = np.round(rng.lognormal(8.5, 1.0, n), 2)
    ids = pl.int_range(100_000, 100_000 + n, eager=True).cast(pl.String)
    deals = pl.DataFrame(
        {
            "id": ids,
            "name": "Deal " + ids,
            "owner": _pick(OWNERS, rng.integers(0, len(OWNERS), n)),
            "source": _pick(SOURCES, rng.integers(0, len(SOURCES), n)),
            "pipeline": pl.Series(np.where(rng.random(n) < 0.8, "Sales", "Renewals")),
            "stage": _pick(STAGES, stage_index),
            "amount": amount,
            "currency": _pick(CURRENCIES, rng.choice(3, n, p=[0.7, 0.2, 0.1])),
            "created_at": _timestamps(created),
            "closed_at": _timestamps(closed_at),
        }
    ).with_columns(
        pl.when(pl.Series(closed)).then(pl.col("closed_at")).otherwise(None).alias("closed_at")
    )
    # Stage history: one row per open stage reached, plus the closing stage when closed.
    steps = reached + closed.astype(np.int64)
    row_deal = np.repeat(np.arange(n), steps)
    first_row = np.repeat(np.cumsum(steps) - steps, steps)
    step_no = np.arange(row_deal.size) - first_row
    is_close = closed[row_deal] & (step_no == reached[row_deal])
    hist_stage = np.where(is_close, np.where(won[row_deal], 5, 6), step_no)
    entered = created[row_deal] + step_us[row_deal] * np.where(
        is_close, reached[row_deal] + 1, step_no
    )
    history = pl.DataFrame(
        {
            "deal_id": ids.gather(row_deal),
            "stage": _pick(STAGES, hist_stage),
            "entered_at": _timestamps(entered),
        }
    )
    return {"deals": deals, "stage_history": history}


def lead_table(n: int, seed: int = SEED + 1) -> pl.DataFrame:
    """About one lead per deal; 70 % get a first contact within two days, 25 % convert."""
    rng = np.random.default_rng(seed)
    created = START_US + rng.integers(0, SPAN_US, n, dtype=np.int64)
    contacted = rng.random(n) < 0.7
    first = created + rng.integers(60_000_000, 2 * DAY_US, n, dtype=np.int64)
    return pl.DataFrame(
        {
            "id": pl.int_range(500_000, 500_000 + n, eager=True).cast(pl.String).alias("id"),
            "owner": _pick(OWNERS, rng.integers(0, len(OWNERS), n)),
            "source": _pick(SOURCES, rng.integers(0, len(SOURCES), n)),
            "created_at": _timestamps(created),
            "first_contact_at": _timestamps(first),
            "status": _pick(LEAD_STATUSES, rng.integers(0, 4, n)),
            "converted": pl.Series(np.where(rng.random(n) < 0.25, "Yes", "No")),
        }
    ).with_columns(
        pl.when(pl.Series(contacted))
        .then(pl.col("first_contact_at"))
        .otherwise(None)
        .alias("first_contact_at")
    )


def activity_table(n: int, deals: int, seed: int = SEED + 2) -> pl.DataFrame:
    """`n` calls, e-mails, meetings and tasks, each linked to a random deal."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "id": pl.int_range(900_000, 900_000 + n, eager=True).cast(pl.String).alias("id"),
            "type": _pick(ACTIVITY_TYPES, rng.integers(0, 4, n)),
            "owner": _pick(OWNERS, rng.integers(0, len(OWNERS), n)),
            "at": _timestamps(START_US + rng.integers(0, SPAN_US, n, dtype=np.int64)),
            "deal_id": pl.Series(rng.integers(100_000, 100_000 + deals, n)).cast(pl.String),
            "outcome": _pick(OUTCOMES, rng.integers(0, 4, n)),
        }
    )


def config_text() -> str:
    """crmkpi.toml for a generated folder: every source, its headers, and the stage semantics."""
    lines = ['title = "Benchmark exports"', ""]
    for table, (file, headers) in FILES.items():
        lines += [f"[sources.{table}]", f'path = "{file}"', f'table = "{table}"', ""]
        lines += [f"[sources.{table}.columns]"]
        lines += [f'{canonical} = "{header}"' for canonical, header in headers.items()]
        lines.append("")
    order = ", ".join(f'"{s}"' for s in STAGES)
    lines += [
        "[stages]",
        f"order = [{order}]",
        f'won = ["{WON_STAGE}"]',
        f'lost = ["{LOST_STAGE}"]',
    ]
    return "\n".join(lines) + "\n"


def write_export(frame: pl.DataFrame, headers: dict[str, str], path: Path) -> None:
    frame.rename(headers).write_csv(path, datetime_format=DATETIME_FORMAT)


def write_xlsx(frame: pl.DataFrame, headers: dict[str, str], path: Path) -> None:
    """A real XLSX (openpyxl write-only): dates as Excel dates, amounts as numbers."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Deals")
    sheet.append(list(headers.values()))
    for row in frame.select(list(headers)).iter_rows():
        sheet.append(row)
    book.save(path)


def xlsx_config_text() -> str:
    """crmkpi.toml for the XLSX benchmark folder: deals only."""
    lines = ['title = "Benchmark XLSX export"', "", "[sources.deals]", 'path = "deals.xlsx"']
    lines += ['table = "deals"', "", "[sources.deals.columns]"]
    lines += [f'{canonical} = "{header}"' for canonical, header in DEAL_HEADERS.items()]
    return "\n".join(lines) + "\n"


def generate(deals: int, out: Path, xlsx: bool = False, activities_per_deal: float = 1.0) -> Path:
    """Write the exports for `deals` deals into `out/<deals>/`; returns that folder.

    With `xlsx`, the deals are also written as `out/<deals>/xlsx/deals.xlsx` (its own folder and
    config, so a report over the CSV folder never reads the deals twice).
    """
    folder = out / str(deals)
    folder.mkdir(parents=True, exist_ok=True)
    tables = deal_tables(deals)
    tables["leads"] = lead_table(deals)
    tables["activities"] = activity_table(int(deals * activities_per_deal), deals)
    for table, (file, headers) in FILES.items():
        write_export(tables[table], headers, folder / file)
    (folder / "crmkpi.toml").write_text(config_text(), encoding="utf-8")
    if xlsx:
        (folder / "xlsx").mkdir(exist_ok=True)
        write_xlsx(tables["deals"], DEAL_HEADERS, folder / "xlsx" / "deals.xlsx")
        (folder / "xlsx" / "crmkpi.toml").write_text(xlsx_config_text(), encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--xlsx",
        action="store_true",
        help=f"also write deals.xlsx for sizes up to {XLSX_MAX_DEALS:,} deals",
    )
    parser.add_argument("--force", action="store_true", help="rewrite existing folders")
    args = parser.parse_args(argv)
    for n in args.deals:
        folder = args.out / str(n)
        want_xlsx = args.xlsx and n <= XLSX_MAX_DEALS
        done = (folder / "crmkpi.toml").exists() and (
            not want_xlsx or (folder / "xlsx" / "deals.xlsx").exists()
        )
        if done and not args.force:
            print(f"{folder}: exists (use --force to rewrite)")
            continue
        started = time.perf_counter()
        generate(n, args.out, xlsx=want_xlsx)
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
        print(f"{folder}: {size:,.0f} MB in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
