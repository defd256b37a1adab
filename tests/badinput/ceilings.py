"""Running crmkpi on a hostile case under a time and memory ceiling, and checking the outcome.

A case runs `python -m crmkpi` in a child process: its wall time is bounded by the timeout,
its peak resident memory read from getrusage(RUSAGE_CHILDREN) (the largest child so far, so a
bound on this one too). In-process cases (CliRunner) are checked against this process's own
peak. Either way: under 10 s and 1 GB, or the test fails.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

CEILING_SECONDS = 10.0
CEILING_BYTES = 1024**3
HEADER = "Deal ID,Deal Name,Deal Stage,Amount,Currency,Create Date,Close Date,Deal Owner\n"
ROWS = [
    "D1,Alpha,Closed Won,1000,USD,2024-01-05,2024-02-01,Ann",
    "D2,Beta,Closed Lost,250,USD,2024-01-10,2024-01-20,Bob",
    "D3,Gamma,Proposal,400,USD,2024-02-01,,Ann",
]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


def deals_csv(folder: Path, rows: list[str] | None = None, name: str = "deals.csv") -> Path:
    path = folder / name
    path.write_text(HEADER + "".join(r + "\n" for r in (rows or ROWS)), encoding="utf-8")
    return path


def run_crmkpi(
    *args: str,
    cwd: Path,
    stdout: IO[Any] | int = subprocess.PIPE,
    stderr: IO[Any] | int = subprocess.PIPE,
    env: dict[str, str] | None = None,
) -> Run:
    """`python -m crmkpi ARGS` in a child, held to the ceilings."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "crmkpi", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=CEILING_SECONDS,
        check=False,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert peak < CEILING_BYTES, f"a child peaked at {peak / 2**20:.0f} MiB"
    out = proc.stdout.decode("utf-8", "replace") if isinstance(proc.stdout, bytes) else ""
    err = proc.stderr.decode("utf-8", "replace") if isinstance(proc.stderr, bytes) else ""
    return Run(proc.returncode, out, err, seconds)


def within_own_ceilings(start: float) -> None:
    """For in-process cases: time since `start`, and this process's peak memory."""
    assert time.perf_counter() - start < CEILING_SECONDS
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < CEILING_BYTES


def one_error_line(stderr: str, *words: str) -> str:
    """Exactly one stderr line, the CLI's error line, holding every word given."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr[:2000]
    line = lines[0]
    assert line.startswith("crmkpi: error: "), line
    assert "Traceback" not in stderr and "internal error" not in line, line
    for word in words:
        assert word in line, line
    return line
