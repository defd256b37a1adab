"""Time what runs after the KPIs: targets and alerts, saving a run, and diffing two exports.

Uses a generated benchmark folder (benchmarks/generate.py) and its crmkpi.toml, adds team and
per-owner targets, and reports in-process timings (median of N) so the cost of each step is
seen apart from reading and computing the report:

    python benchmarks/judge_history_diff.py --deals 100000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TARGETS = """
[targets]
win_rate = ">= 0.45"
sales_cycle_days_median = "<= 40"
deals_won = { min = 1000, warn = 50000 }
[targets.by_owner]
deals_won = ">= 890"
win_rate = ">= 0.4"
"""


def median_seconds(step, runs: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import polars as pl

    import crmkpi.api as api
    from crmkpi.config import load_config
    from crmkpi.diff.compare import compare
    from crmkpi.history.store import HistoryStore
    from crmkpi.reporting.alerts import check_report, owner_values, report_grain
    from crmkpi.reporting.build import ReportOptions, build_report

    folder = HERE / "data" / str(args.deals)
    if not (folder / "crmkpi.toml").is_file():
        sys.exit(f"no {folder}: run python benchmarks/generate.py --deals {args.deals}")
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "crmkpi.toml"
        text = (folder / "crmkpi.toml").read_text(encoding="utf-8")
        text = text.replace('path = "', f'path = "{folder}/')
        config_path.write_text(text + TARGETS, encoding="utf-8")
        config = load_config(config_path)
        ds = api.load([], config=config)
        report = build_report(ds, config, ReportOptions())
        alerts_before = len(report.alerts)

        def judge() -> None:
            report.alerts.clear()
            check_report(report, ds, config)

        def save() -> None:
            ids = [k for k, v in report.kpis.items() if v.value is not None]
            by_owner, _ = owner_values(ids, ds, config, report_grain(report, config))
            with HistoryStore(Path(tmp) / "h.sqlite", create=True) as store:
                store.save_report(report, by_owner)

        # The "new" export: every tenth open deal moved one day later and re-priced.
        deals = ds.frames["deals"]
        moved = deals.with_columns(
            pl.when(pl.int_range(pl.len()) % 10 == 0)
            .then(pl.col("amount") * 1.1)
            .otherwise(pl.col("amount"))
            .alias("amount")
        )
        old_ds = replace(ds, frames={"deals": deals})
        new_ds = replace(ds, frames={"deals": moved})

        def diff() -> None:
            compare([old_ds, new_ds], ["old", "new"])

        print(f"{args.deals:,} deals, {len(report.kpis)} KPIs, {alerts_before} alerts")
        print(f"targets + alerts (check_report): {median_seconds(judge, args.runs):.3f} s")
        print(f"save run with per-owner values:  {median_seconds(save, args.runs):.3f} s")
        print(f"diff of two deal exports:        {median_seconds(diff, args.runs):.3f} s")


if __name__ == "__main__":
    main()
