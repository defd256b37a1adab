"""Time crmkpi end to end against the parse floor and a pandas baseline; write RESULTS.md.

Every timing is a fresh process (interpreter start, imports, reading, computing, writing), run N
times; medians are reported with the peak resident memory of the slowest-memory run. The parse
floor (floor.py) is polars alone reading the same files with the same column types; the pandas
and DuckDB baselines (pandas_baseline.py, duckdb_baseline.py) are the scripts a user would
otherwise write. The headline KPIs and the funnel of crmkpi and of each baseline are compared on
every size, so a fast wrong answer cannot pass.

    python benchmarks/run.py                  # make bench: 100k deals, imports and catalog at 1M
    python benchmarks/run.py --sizes 100000 1000000          # what RESULTS.md shows
    python benchmarks/run.py --sizes 100000 1000000 10000000   # all of it, 10M run once
    python benchmarks/run.py --sizes 10000000 --runs 1 --no-imports --no-help --append
    python benchmarks/run.py --quick          # 100k, 1 run, nothing else: a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from generate import DATA_DIR, FILES, LOST_STAGE, STAGES, WON_STAGE, generate

HERE = Path(__file__).parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
PYTHON = sys.executable
CRMKPI = str(Path(sys.executable).with_name("crmkpi"))

MAX_RSS_KB = 10 * 1024**2  # --max-rss-gb

# Goals on the reference machine (2 cores): (what, limit, unit of the limit).
GOALS = {
    "help": 0.2,  # seconds
    "xlsx_100k": 2.0,  # seconds, "well under"
    "csv_1m": 3.0,  # seconds, "well under"
    "catalog_vs_floor": 1.5,
    "cache_vs_parquet": 1.3,
    "report_vs_floor_1m": 1.5,
    "report_vs_floor_10m": 2.0,
    "pandas_vs_report_1m": 2.0,
    "pandas_vs_report_10m": 3.0,
    "duckdb_vs_report": 1.0,  # beat it: DuckDB's time over crmkpi's above 1
    "memory_10m_gb": 4.0,
}


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    peak_kb: list[int] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # user + system: load-independent
    killed_after: float | None = None  # seconds until a run passed --max-rss-gb and was stopped

    @property
    def killed(self) -> bool:
        return self.killed_after is not None

    def cell(self, value: float, unit: str = "s") -> str:
        if self.killed:
            return f"killed at {MAX_RSS_KB / 1024**2:.0f} GB after {self.killed_after:.0f} s"
        return f"{value:.2f} {unit}"

    @property
    def median(self) -> float:
        return math.inf if self.killed else statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return math.inf if self.killed else statistics.median(self.cpu_seconds)

    @property
    def peak_mb(self) -> float:
        return max([*self.peak_kb, MAX_RSS_KB if self.killed else 0]) / 1024


class OverMemory(Exception):
    """A run passed the resident-size limit and was killed."""


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_once(
    args: list[str], stdout: Path | None = None, cwd: Path | None = None
) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one child, via wait4's own rusage.

    The child is killed when its resident size passes MAX_RSS_KB: on a shared machine a run that
    would swap everyone out is reported as over the limit instead.
    """
    out = stdout.open("wb") if stdout else subprocess.DEVNULL
    killed = threading.Event()
    try:
        with tempfile.TemporaryFile() as err_file:
            started = time.perf_counter()
            proc = subprocess.Popen(args, stdout=out, stderr=err_file, cwd=cwd)
            done = threading.Event()

            def watch() -> None:  # a thread, so the wait below returns the moment it exits
                while not done.wait(0.1):
                    if _rss_kb(proc.pid) > MAX_RSS_KB:
                        killed.set()
                        proc.kill()
                        return

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - started
            done.set()
            watcher.join()
            proc.returncode = os.waitstatus_to_exitcode(status)
            err_file.seek(0)
            err = err_file.read()
    finally:
        if stdout:
            out.close()  # type: ignore[union-attr]
    if killed.is_set():
        raise OverMemory(elapsed)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def measure(args: list[str], runs: int, stdout: Path | None = None) -> Timing:
    timing = Timing()
    for _ in range(runs):
        try:
            seconds, peak, cpu = run_once(args, stdout)
        except OverMemory as exc:
            timing.killed_after = exc.args[0]
            print(f"    killed above {MAX_RSS_KB / 1024**2:.1f} GiB after {exc.args[0]:.0f} s")
            break
        timing.seconds.append(seconds)
        timing.peak_kb.append(peak)
        timing.cpu_seconds.append(cpu)
    return timing


def in_process(snippet: str, runs: int) -> dict[str, Timing]:
    """Medians of the seconds a snippet reports itself (imports excluded), each in a new process.

    The snippet prints one JSON object of named durations; each name gets its own Timing.
    """
    return alternating([snippet], runs)[0]


def alternating(snippets: list[str], runs: int) -> list[dict[str, Timing]]:
    """`in_process` for several snippets taking turns, one run of each per round, so that a
    change of load on a shared machine weighs on all of them alike (their ratio is taken per
    round, see `paired_ratio`)."""
    timings: list[dict[str, Timing]] = [{} for _ in snippets]
    for _ in range(runs):
        for snippet, timing in zip(snippets, timings, strict=True):
            out = subprocess.run(
                [PYTHON, "-c", snippet], capture_output=True, text=True, cwd=HERE, check=False
            )
            if out.returncode != 0:
                raise SystemExit(f"snippet failed: {out.stderr[-2000:]}")
            for name, seconds in json.loads(out.stdout.strip().splitlines()[-1]).items():
                timing.setdefault(name, Timing()).seconds.append(seconds)
    return timings


def paired_ratio(numerator: Timing, denominator: Timing) -> float:
    """Median over rounds of numerator / denominator timed in the same round."""
    pairs = zip(numerator.seconds, denominator.seconds, strict=True)
    return statistics.median(a / b for a, b in pairs)


def machine() -> dict[str, str]:
    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    import numpy
    import polars

    try:
        import pandas

        pandas_version = pandas.__version__
    except ImportError:
        pandas_version = "not installed"
    try:
        import duckdb

        duckdb_version = duckdb.__version__
    except ImportError:
        duckdb_version = "not installed"
    from crmkpi import __version__

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    mem_kb = int(first("/proc/meminfo", "MemTotal").split()[0] or 0)
    return {
        "cpu": first("/proc/cpuinfo", "model name"),
        "nproc": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024**2:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "polars": polars.__version__,
        "pandas": pandas_version,
        "duckdb": duckdb_version,
        "numpy": numpy.__version__,
        "crmkpi": f"{__version__} ({commit or 'no git'})",
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def deals_only_config(folder: Path, out: Path) -> Path:
    """A crmkpi.toml reading only `folder`'s deals.csv (for the CSV import timing)."""
    return _config(out / "deals.toml", {"deals": folder / "deals.csv"})


def catalog_config(folder: Path, out: Path) -> Path:
    """Deals, stage history and leads of `folder` (the catalog benchmark's inputs)."""
    tables = {t: folder / FILES[t][0] for t in ("deals", "stage_history", "leads")}
    return _config(out / "catalog.toml", tables)


def shuffled_deals(folder: Path, out: Path) -> Path:
    """`folder`'s catalog inputs with the deals' rows shuffled: the history no longer lists the
    deals in their order (an export sorted by another column), so crmkpi joins them on the id.
    The other two files are linked, not copied."""
    out.mkdir(parents=True, exist_ok=True)
    import polars as pl

    deals = pl.read_csv(folder / FILES["deals"][0], infer_schema=False)
    deals.sample(fraction=1.0, shuffle=True, seed=7).write_csv(out / FILES["deals"][0])
    for table in ("stage_history", "leads"):
        link = out / FILES[table][0]
        if not link.exists():
            link.symlink_to(folder / FILES[table][0])
    return out


def _config(path: Path, tables: dict[str, Path]) -> Path:
    lines = []
    for table, file in tables.items():
        lines += [f"[sources.{table}]", f"path = {json.dumps(str(file))}", f'table = "{table}"']
        lines += [f"[sources.{table}.columns]"]
        lines += [f"{c} = {json.dumps(h)}" for c, h in FILES[table][1].items()]
    lines += ["[stages]", f"order = {json.dumps(list(STAGES))}"]
    lines += [f"won = {json.dumps([WON_STAGE])}", f"lost = {json.dumps([LOST_STAGE])}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


LOAD_SNIPPET = """
import json, time
import crmkpi.api as api
started = time.perf_counter()
ds = api.load([], config={config!r}, cache=False)
print(json.dumps({{"load": time.perf_counter() - started}}))
"""

CATALOG_SNIPPET = """
import json, time
started = time.perf_counter()
import crmkpi.api as api
from crmkpi.metrics import CATALOG, TABLE_CATALOG
from crmkpi.metrics.evaluate import evaluate, evaluate_tables
ds = api.load([], config={config!r}, cache=False)
loaded = time.perf_counter()
evaluate(ds, list(CATALOG), skipped={{}})
evaluate_tables(ds, list(TABLE_CATALOG), skipped={{}})
done = time.perf_counter()
print(json.dumps({{"load": loaded - started, "catalog": done - loaded}}))
"""

CACHED_SNIPPET = """
import json, time
started = time.perf_counter()
import crmkpi.api as api
from crmkpi.metrics import CATALOG, TABLE_CATALOG
from crmkpi.metrics.evaluate import evaluate, evaluate_tables
imported = time.perf_counter()
ds = api.load([], config={config!r}, cache=True, cache_dir={cache!r})
loaded = time.perf_counter()
evaluate(ds, list(CATALOG), skipped={{}})
evaluate_tables(ds, list(TABLE_CATALOG), skipped={{}})
done = time.perf_counter()
print(json.dumps({{"cached_load": loaded - imported, "cached_catalog": done - loaded}}))
"""

PARQUET_SNIPPET = """
import json, time
from pathlib import Path
import polars as pl
started = time.perf_counter()
frames = [pl.read_parquet(p) for p in sorted(Path({cache!r}).rglob("*.parquet"))]
print(json.dumps({{"parquet": time.perf_counter() - started}}))
"""

FLOOR_SNIPPET = """
import json, time
from floor import read_floor
from pathlib import Path
started = time.perf_counter()
read_floor(Path({folder!r}), {tables!r})
print(json.dumps({{"floor": time.perf_counter() - started}}))
"""


def cross_check(report_json: Path, pandas_json: Path) -> list[str]:
    """Headline KPIs and funnel of crmkpi vs a baseline's; the differences, if any."""
    report = json.loads(report_json.read_text(encoding="utf-8"))
    baseline = json.loads(pandas_json.read_text(encoding="utf-8"))
    problems = []
    for kpi, expected in baseline["kpis"].items():
        got = report["kpis"].get(kpi, {})
        value = got.get("by_currency") if isinstance(expected, dict) else got.get("value")
        if not _close(value, expected):
            problems.append(f"{kpi}: crmkpi {value!r} vs baseline {expected!r}")
    ours = {row["stage"]: row["reached"] for row in report["tables"].get("funnel", [])}
    theirs = {row["stage"]: row["reached"] for row in baseline["funnel"]}
    if ours != theirs:
        problems.append(f"funnel: crmkpi {ours} vs baseline {theirs}")
    return problems


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


BASELINES = {"pandas": "pandas_baseline.py", "DuckDB": "duckdb_baseline.py"}
LARGE = 10_000_000  # from this size on, one run per measurement (--large-runs)


@dataclass
class SizeResult:
    deals: int
    report: Timing
    floor: Timing
    baselines: dict[str, Timing]
    cached: Timing | None
    load_before: str
    load_after: str
    problems: list[str]


def bench_size(n: int, runs: int, baselines: list[str], scratch: Path) -> SizeResult:
    folder = DATA_DIR / str(n)
    config = folder / "crmkpi.toml"
    before = load_average()
    report_out = scratch / f"report-{n}.json"
    report_args = [CRMKPI, "report", "--config", str(config), "--format", "json"]
    print(f"  {n:,} deals: crmkpi report", flush=True)
    report = measure([*report_args, "--no-cache"], runs, report_out)
    cache_args = [*report_args, "--cache", "--cache-dir", str(scratch / "cache")]
    cached = None
    if not report.killed:  # a run over the memory limit would not fill the cache either
        print(f"  {n:,} deals: crmkpi report --cache (warm)", flush=True)
        run_once(cache_args)  # fills the cache
        cached = measure(cache_args, runs)
    print(f"  {n:,} deals: polars floor", flush=True)
    floor = measure([PYTHON, str(HERE / "floor.py"), str(folder)], runs)
    problems: list[str] = []
    timings: dict[str, Timing] = {}
    for name in baselines:
        print(f"  {n:,} deals: {name} baseline", flush=True)
        out = scratch / f"{name}-{n}.json"
        timings[name] = measure([PYTHON, str(HERE / BASELINES[name]), str(folder)], runs, out)
        if not (report.killed or timings[name].killed):  # a killed run's output is no report
            problems += [f"{name}: {p}" for p in cross_check(report_out, out)]
    return SizeResult(n, report, floor, timings, cached, before, load_average(), problems)


def bench_imports(runs: int, scratch: Path) -> dict[str, Timing]:
    out: dict[str, Timing] = {}
    xlsx = DATA_DIR / "100000" / "xlsx" / "crmkpi.toml"
    if xlsx.exists():
        print("  XLSX import, 100k deals", flush=True)
        out["xlsx_100k"] = in_process(LOAD_SNIPPET.format(config=str(xlsx)), runs)["load"]
    big = DATA_DIR / "1000000"
    if (big / "deals.csv").exists():
        print("  CSV import, 1M deals", flush=True)
        config = deals_only_config(big, scratch)
        out["csv_1m"] = in_process(LOAD_SNIPPET.format(config=str(config)), runs)["load"]
        floor = FLOOR_SNIPPET.format(folder=str(big), tables=["deals"])
        out["csv_1m_floor"] = in_process(floor, runs)["floor"]
        print("  catalog, 1M deals + 3M stage history + 1M leads", flush=True)
        catalog, floor = _catalog_and_floor(big, scratch, runs)
        out["catalog_load"], out["catalog"], out["catalog_floor"] = (
            catalog["load"], catalog["catalog"], floor
        )  # fmt: skip
        print("  the cache as the fast path: cached load + catalog vs its Parquet + catalog")
        out.update(_cache_and_parquet(big, scratch, runs))
        print("  catalog, the same with the deals' rows shuffled", flush=True)
        shuffled = shuffled_deals(big, scratch / "shuffled")
        catalog, floor = _catalog_and_floor(shuffled, shuffled, runs)
        out["catalog_shuffled"], out["catalog_shuffled_floor"] = catalog["catalog"], floor
    return out


def _catalog_and_floor(folder: Path, scratch: Path, runs: int) -> tuple[dict[str, Timing], Timing]:
    """The catalog on `folder`'s deals, history and leads, and the floor reading them, in turns:
    at least five rounds, as the ratio of two sub-second timings moves with the load."""
    config = catalog_config(folder, scratch)
    floor = FLOOR_SNIPPET.format(folder=str(folder), tables=["deals", "stage_history", "leads"])
    catalog, floors = alternating([CATALOG_SNIPPET.format(config=str(config)), floor], max(runs, 5))
    return catalog, floors["floor"]


def _cache_and_parquet(folder: Path, scratch: Path, runs: int) -> dict[str, Timing]:
    """A re-run over unchanged exports (the parse cache filled by a first run) against reading
    the cache's own Parquet files, in turns; the catalog's time is added to both sides."""
    config = catalog_config(folder, scratch)
    cache = scratch / "cache-catalog"
    cached = CACHED_SNIPPET.format(config=str(config), cache=str(cache))
    in_process(cached, 1)  # fills the cache
    timed, parquet = alternating([cached, PARQUET_SNIPPET.format(cache=str(cache))], max(runs, 5))
    return {**timed, **parquet}


def bench_help(runs: int = 10) -> Timing:
    print("  crmkpi --help", flush=True)
    return measure([CRMKPI, "--help"], runs)


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if math.isfinite(value) and value > 0 else "–"


def _verdict(value: float, limit: float) -> str:
    if not math.isfinite(value) or value <= 0:
        return "missed (the crmkpi run was killed)"
    if value <= limit:
        return "met"
    return f"missed by {value / limit - 1:.0%}"


def _speedup_verdict(speedup: float, limit: float, killed: bool) -> str:
    if killed:
        return "missed (the crmkpi run was killed)"
    return "met" if speedup >= limit else f"missed ({speedup / limit:.0%} of the goal)"


def size_goals(r: SizeResult) -> list[tuple[str, str, str]]:
    """The issue's goals for one size: against the floor, pandas and DuckDB (wall and CPU), and
    memory at 10M. Sizes other than 1M and 10M set no goal against the floor or pandas."""
    goals: list[tuple[str, str, str]] = []
    label = {1_000_000: "1m", 10_000_000: "10m"}.get(r.deals)
    if label:
        limit = GOALS[f"report_vs_floor_{label}"]
        vs_floor = r.report.median / r.floor.median
        cpu = r.report.cpu_median / r.floor.cpu_median
        measured = f"{_ratio(vs_floor)} ({_ratio(cpu)} CPU)"
        goal = f"report within {limit}x of the floor at {r.deals:,}"
        goals.append((goal, measured, _verdict(vs_floor, limit)))
    for name, timing in r.baselines.items():
        if timing.killed:
            continue
        if name == "pandas" and label:
            limit = GOALS[f"pandas_vs_report_{label}"]
        elif name == "DuckDB" and r.deals >= 1_000_000:
            limit = GOALS["duckdb_vs_report"]
        else:
            continue
        for what, speedup in (
            ("wall", timing.median / r.report.median),
            ("CPU", timing.cpu_median / r.report.cpu_median),
        ):
            goal = f"at least {limit}x faster than {name}" if limit > 1 else f"faster than {name}"
            goals.append((f"{goal} at {r.deals:,}, {what} time", _ratio(speedup),
                          _speedup_verdict(speedup, limit, r.report.killed)))  # fmt: skip
    if r.deals == 10_000_000:
        gb = r.report.peak_mb / 1024
        limit = GOALS["memory_10m_gb"]
        measured = f"over {gb:.0f} GB (killed)" if r.report.killed else f"{gb:.2f} GB"
        verdict = f"missed by over {gb / limit - 1:.0%}" if r.report.killed else (
            _verdict(gb, limit))  # fmt: skip
        goals.append((f"peak memory under {limit} GB at 10M", measured, verdict))
    return goals


def render(
    info: dict[str, str],
    sizes: list[SizeResult],
    imports: dict[str, Timing],
    help_timing: Timing | None,
    runs: str,
    command: str,
) -> str:
    """The generated part of RESULTS.md: machine, load, medians, ratios and goal verdicts."""
    lines = [
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}; medians of {runs} "
        "(`--help`: 10), each a fresh process.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
    ]
    goals: list[tuple[str, str, str]] = []
    if sizes:
        names = [name for name in BASELINES if any(name in r.baselines for r in sizes)]
        lines += [
            "### Full report (`crmkpi report --config ... --format json`)",
            "",
            "Wall time is what a user waits; CPU time (user + system, all threads) is the work "
            "done, which a loaded machine inflates less.",
            "",
            "| deals | crmkpi | CPU | peak RSS | warm cache | polars floor | CPU | RSS "
            + "".join(f"| {name} | CPU | RSS " for name in names)
            + "| load avg before → after |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|---:|---:|" * len(names) + "---|",
        ]
        ratios = [
            "",
            "| deals | crmkpi / floor | (CPU) |"
            + "".join(f" {name} / crmkpi | (CPU) |" for name in names),
            "|---:|---:|---:|" + "---:|---:|" * len(names),
        ]
        for r in sizes:
            vs_floor = r.report.median / r.floor.median
            vs_floor_cpu = r.report.cpu_median / r.floor.cpu_median
            baseline_cells: list[str] = []
            speed_cells: list[str] = []
            for name in names:
                timing = r.baselines.get(name)
                if timing is None:
                    baseline_cells += ["–"] * 3
                    speed_cells += ["–"] * 2
                    continue
                baseline_cells += [timing.cell(timing.median), timing.cell(timing.cpu_median),
                                   f"{timing.peak_mb:,.0f} MB"]  # fmt: skip
                speed_cells += [_ratio(timing.median / r.report.median),
                                _ratio(timing.cpu_median / r.report.cpu_median)]  # fmt: skip
            cached = f"{r.cached.median:.2f} s" if r.cached else "–"
            lines.append(
                f"| {r.deals:,} | {r.report.cell(r.report.median)} "
                f"| {r.report.cell(r.report.cpu_median)} | {r.report.peak_mb:,.0f} MB | {cached} "
                f"| {r.floor.median:.2f} s | {r.floor.cpu_median:.2f} s "
                f"| {r.floor.peak_mb:,.0f} MB | {' | '.join([*baseline_cells, ''])}"
                f"{r.load_before} → {r.load_after} |"
            )
            ratios.append(
                f"| {r.deals:,} | {_ratio(vs_floor)} | {_ratio(vs_floor_cpu)} | "
                + "".join(f"{cell} | " for cell in speed_cells).rstrip()
            )
            goals += size_goals(r)
        lines += ratios
        lines.append("")
        for r in sizes:
            for name in names:
                timing = r.baselines.get(name)
                if timing is None:
                    lines.append(f"- {r.deals:,} deals: {name} not run.")
                    continue
                ours = [p for p in r.problems if p.startswith(f"{name}: ")]
                status = "agree" if not ours else "DISAGREE: " + "; ".join(ours)
                if r.report.killed or timing.killed:
                    status = "were not compared (a run was killed)"
                lines.append(f"- {r.deals:,} deals: crmkpi and {name} headline KPIs and funnel "
                             f"{status}.")  # fmt: skip
        lines.append("")
    if imports:
        lines += ["### Imports and catalog (in-process, imports excluded)", "", "| what | median |"]
        lines.append("|---|---:|")
        names = {
            "xlsx_100k": "100k-row XLSX import (`crmkpi.load`)",
            "csv_1m": "1M-row CSV import (`crmkpi.load`, deals only)",
            "csv_1m_floor": "1M-row CSV, polars floor",
            "catalog_load": "load 1M deals + 3M stage history + 1M leads",
            "catalog": "every catalog KPI and table on them",
            "catalog_floor": "polars floor reading the same three files",
            "cached_load": "the same three files again, from the parse cache",
            "cached_catalog": "the catalog on them",
            "parquet": "polars reading the cache's Parquet files",
            "catalog_shuffled": "the catalog, deals' rows shuffled (joined to history on the id)",
            "catalog_shuffled_floor": "polars floor reading those three files",
        }
        lines += [f"| {names[k]} | {t.median:.2f} s |" for k, t in imports.items()]
        lines.append("")
        for key in ("xlsx_100k", "csv_1m"):
            if key in imports:
                limit = GOALS[key]
                goals.append((f"{names[key]} under {limit} s", f"{imports[key].median:.2f} s",
                              _verdict(imports[key].median, limit)))  # fmt: skip
        layouts = {"catalog": "history listing the deals in their order",
                   "catalog_shuffled": "deals' rows shuffled"}  # fmt: skip
        for key, layout in layouts.items():
            if key not in imports:
                continue
            ratio = paired_ratio(imports[key], imports[f"{key}_floor"])
            limit = GOALS["catalog_vs_floor"]
            rounds = len(imports[key].seconds)
            goals.append((f"catalog within {limit}x of the read floor, {layout} (median of "
                          f"{rounds} rounds, each timing both in turn)", f"{ratio:.2f}x",
                          _verdict(ratio, limit)))  # fmt: skip
        if "cached_load" in imports:
            rounds = zip(imports["cached_load"].seconds, imports["cached_catalog"].seconds,
                         imports["parquet"].seconds, strict=True)  # fmt: skip
            ratio = statistics.median((c + k) / (p + k) for c, k, p in rounds)
            limit = GOALS["cache_vs_parquet"]
            goals.append((f"re-run from the parse cache within {limit}x of reading its Parquet, "
                          f"the catalog on both (median of {len(imports['parquet'].seconds)} "
                          "rounds)", f"{ratio:.2f}x", _verdict(ratio, limit)))  # fmt: skip
    if help_timing:
        limit = GOALS["help"]
        measured = f"{help_timing.median:.3f} s ({help_timing.cpu_median:.3f} s CPU)"
        goals.append((f"`crmkpi --help` under {limit} s", measured,
                      _verdict(help_timing.median, limit)))  # fmt: skip
    if goals:
        lines += ["### Goals", "", "| goal | measured | verdict |", "|---|---:|---|"]
        lines += [f"| {g} | {m} | {v} |" for g, m, v in goals]
    return "\n".join(lines) + "\n"


def write_results(generated: str, append: bool) -> None:
    """Replace (or, with `append`, extend) the generated block; hand-written notes stay."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        old, tail = rest.split(END, 1)
        body = (old.strip() + "\n\n" + generated) if append else generated
    else:
        head, tail = "# Benchmark results\n\n", "\n## Notes\n\n(analysis goes here)\n"
        body = generated
    RESULTS.write_text(f"{head}{BEGIN}\n{body.strip()}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="100k deals, 1 run, no imports")
    parser.add_argument(
        "--large-runs", type=int, default=1, help=f"runs per measurement from {LARGE:,} deals"
    )
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB baseline")
    parser.add_argument("--data", type=Path, help="where the exports are (benchmarks/data)")
    parser.add_argument("--no-imports", action="store_true", help="skip import/catalog timings")
    parser.add_argument("--no-help", action="store_true", help="skip the --help timing")
    parser.add_argument("--append", action="store_true", help="add to RESULTS.md, not replace")
    parser.add_argument(
        "--max-rss-gb", type=float, default=10.0, help="kill a run above this resident size"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.no_imports, args.no_help = [100_000], 1, True, True
    global MAX_RSS_KB, DATA_DIR
    MAX_RSS_KB = int(args.max_rss_gb * 1024**2)
    DATA_DIR = args.data or DATA_DIR
    baselines = [name for name, skip in (("pandas", args.no_pandas), ("DuckDB", args.no_duckdb))
                 if not skip]  # fmt: skip
    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"machine load before: {load_average()}", flush=True)
    for n in sorted(set(args.sizes) | ({100_000, 1_000_000} if not args.no_imports else set())):
        if not (DATA_DIR / str(n) / "crmkpi.toml").exists() or (
            n == 100_000 and not (DATA_DIR / str(n) / "xlsx" / "deals.xlsx").exists()
        ):
            print(f"generating {n:,} deals into {DATA_DIR / str(n)}", flush=True)
            generate(n, DATA_DIR, xlsx=n == 100_000)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="crmkpi-bench-") as tmp:
        scratch = Path(tmp)
        help_timing = None if args.no_help else bench_help()
        sizes = [
            bench_size(n, args.large_runs if n >= LARGE else args.runs, baselines, scratch)
            for n in args.sizes
        ]
        imports = {} if args.no_imports else bench_imports(args.runs, scratch)
    runs = f"{args.runs} runs" + (
        f" ({args.large_runs} from {LARGE:,} deals)" if max(args.sizes) >= LARGE else ""
    )
    generated = render(info, sizes, imports, help_timing, runs, command.strip())
    print(generated)
    if not args.no_write:
        write_results(generated, args.append)
        print(f"wrote {RESULTS}")
    return 1 if any(r.problems for r in sizes) else 0


if __name__ == "__main__":
    sys.exit(main())
