"""A user's other obvious choice: DuckDB SQL over the generated exports.

The same work as pandas_baseline.py, written the way a DuckDB user would: `read_csv` with the
column types and the date-time format given, status from the stage, then the headline KPIs (money
per currency), the funnel and the owners table as SQL. Prints the same JSON as the pandas
baseline, so the benchmark cross-checks crmkpi's numbers against a third implementation that
shares none of its code.

    python benchmarks/duckdb_baseline.py benchmarks/data/1000000
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
from generate import (
    DATETIME_FORMAT,
    DEAL_HEADERS,
    HISTORY_HEADERS,
    LOST_STAGE,
    OPEN_STAGES,
    WON_STAGE,
)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read(path: Path, headers: dict[str, str], types: dict[str, str]) -> str:
    """A read_csv call typing every column at its known type, renamed to the canonical names."""
    columns = ", ".join(f"{_sql_text(h)}: {_sql_text(types.get(c, 'VARCHAR'))}"
                        for c, h in headers.items())  # fmt: skip
    renamed = ", ".join(f'"{h}" AS {c}' for c, h in headers.items())
    return (
        f"SELECT {renamed} FROM read_csv({_sql_text(str(path))}, header = true, "
        f"columns = {{{columns}}}, timestampformat = {_sql_text(DATETIME_FORMAT)})"
    )


def load(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    deal_types = {"amount": "DOUBLE", "created_at": "TIMESTAMP", "closed_at": "TIMESTAMP"}
    con.execute(
        f"CREATE TABLE deals AS SELECT *, CASE stage WHEN {_sql_text(WON_STAGE)} THEN 'won' "
        f"WHEN {_sql_text(LOST_STAGE)} THEN 'lost' ELSE 'open' END AS status "
        f"FROM ({_read(folder / 'deals.csv', DEAL_HEADERS, deal_types)})"
    )
    history_types = {"entered_at": "TIMESTAMP"}
    con.execute(
        "CREATE TABLE history AS "
        + _read(folder / "stage_history.csv", HISTORY_HEADERS, history_types)
    )


def headline(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Counts, win rate and cycle over all deals; money per currency (amounts are not mixed)."""
    total, open_, won, lost, cycle = con.execute(
        "SELECT count(*), count(*) FILTER (status = 'open'), count(*) FILTER (status = 'won'), "
        "count(*) FILTER (status = 'lost'), "
        # crmkpi's rule: a close at exactly midnight is a date, counted in whole days.
        "median(CASE WHEN closed_at = date_trunc('day', closed_at) "
        "THEN date_diff('day', created_at::DATE, closed_at::DATE)::DOUBLE "
        "ELSE date_diff('microsecond', created_at, closed_at) / 86400e6 END) "
        "FILTER (status = 'won') FROM deals"
    ).fetchone()
    money = con.execute(
        "SELECT currency, avg(amount), sum(amount) FROM deals "
        "WHERE status = 'won' AND currency IS NOT NULL GROUP BY currency ORDER BY currency"
    ).fetchall()
    closed = won + lost
    return {
        "deals_total": float(total),
        "deals_open": float(open_),
        "deals_won": float(won),
        "deals_lost": float(lost),
        "win_rate": won / closed if closed else None,
        "avg_deal_size": {code: mean for code, mean, _ in money},
        "revenue_won": {code: total for code, _, total in money},
        "sales_cycle_days_median": cycle,
    }


def funnel(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Deals that reached each open stage or went past it (a won deal passed every stage)."""
    ranks = [*OPEN_STAGES, WON_STAGE]
    rank_rows = ", ".join(f"({_sql_text(s)}, {i})" for i, s in enumerate(ranks))
    counts = con.execute(
        f"WITH rank(stage, r) AS (VALUES {rank_rows}), "
        "reached AS ("
        "  SELECT h.deal_id AS id, r FROM history h JOIN rank USING (stage) "
        "  UNION ALL SELECT d.id, r FROM deals d JOIN rank USING (stage)), "
        "furthest AS (SELECT id, max(r) AS r FROM reached GROUP BY id) "
        "SELECT rank.r, count(furthest.id) FROM rank "
        "LEFT JOIN furthest ON furthest.r >= rank.r GROUP BY rank.r ORDER BY rank.r"
    ).fetchall()
    rows = []
    previous = None
    for (_, count), stage in zip(counts, ranks, strict=True):
        label = "(won)" if stage == WON_STAGE else stage
        rows.append(
            {"stage": label, "reached": count, "conversion": count / previous if previous else None}
        )
        previous = count
    return rows


def owners(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    rows = con.execute(
        "SELECT owner, count(*) AS deals, count(*) FILTER (status = 'won') AS deals_won, "
        "count(*) FILTER (status = 'lost') AS deals_lost, "
        "coalesce(sum(amount) FILTER (status = 'won'), 0) AS revenue_won "
        "FROM deals GROUP BY owner ORDER BY revenue_won DESC, owner"
    ).fetchall()
    out = []
    for owner, deals, won, lost, revenue in rows:
        closed = won + lost
        win_rate = won / closed if closed else None
        out.append({"owner": owner, "deals": deals, "deals_won": won, "deals_lost": lost,
                    "revenue_won": revenue, "win_rate": win_rate})  # fmt: skip
    return out


def run(folder: Path) -> dict[str, object]:
    con = duckdb.connect()  # in memory, all cores: DuckDB's own defaults
    load(con, folder)
    return {"kpis": headline(con), "funnel": funnel(con), "owners": owners(con)}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: duckdb_baseline.py FOLDER", file=sys.stderr)
        return 2
    json.dump(run(Path(argv[0])), sys.stdout, default=float)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
