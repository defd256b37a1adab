"""Time to render the report of the sample data in each output format (model built once).

Generates the demo company's exports into a temporary folder, loads them, builds the report,
then renders each format several times and prints the best time. The workbook must stay under
a second.

    .venv/bin/python benchmarks/report_outputs.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def best_of(repeat: int, func) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import crmkpi
    from crmkpi.reporting.output import renderer

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, str(ROOT / "sample_data" / "generate.py"), "--out", folder],
            check=True,
            capture_output=True,
        )
        start = time.perf_counter()
        ds = crmkpi.load(Path(folder))
        loaded = time.perf_counter() - start
        built = best_of(args.repeat, lambda: crmkpi.report(ds))
        rep = crmkpi.report(ds)
        print(f"load sample data      {loaded:7.3f} s")
        counts = f"{len(rep.kpis)} KPIs, {len(rep.tables)} tables"
        print(f"build report model    {built:7.3f} s  ({counts})")
        for fmt in ("excel", "json", "markdown", "html", "csv", "terminal"):
            seconds = best_of(args.repeat, lambda fmt=fmt: renderer(fmt).render(rep))
            size = len(renderer(fmt).render(rep))
            print(f"render {fmt:<14} {seconds:7.3f} s  {size:>9,} bytes")


if __name__ == "__main__":
    main()
