"""Run `crmkpi` in a child process with a time and memory ceiling, and measure both.

The child's peak resident size comes from wait4 (its own rusage, not every child's). Address
space is capped too (RLIMIT_AS), as a guard that stops a runaway reader before it takes the
machine down: polars reserves ~1.2 GB of address space at start, so the cap is looser than the
resident-size ceiling each test asserts.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ADDRESS_SPACE_CAP = 6 * 1024**3
_SCRIPT = "import sys\nfrom crmkpi.cli import main\nsys.argv[0] = 'crmkpi'\nmain()\n"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    def one_line_error(self, *words: str) -> str:
        """Exit 2 with exactly one stderr line; every word in it."""
        assert self.code == 2, (self.code, self.stderr[-2000:])
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr[:2000]
        assert lines[0].startswith("crmkpi: error: "), lines[0]
        for word in words:
            assert word in lines[0], lines[0]
        return lines[0]


def run_bounded(
    *args: str | Path,
    cwd: Path,
    seconds: float = 10,
    memory_mb: float = 1024,
    stdin: int | None = subprocess.DEVNULL,
) -> Run:
    """`crmkpi *args`, killed after `seconds`; asserts it stayed under both ceilings."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CRMKPI_DEBUG", None)
    out, err = cwd / ".run.out", cwd / ".run.err"
    start = time.monotonic()
    with out.open("wb") as fo, err.open("wb") as fe:
        child = subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, *map(str, args)],
            cwd=cwd, stdin=stdin, stdout=fo, stderr=fe, env=env, preexec_fn=limit,
        )  # fmt: skip
        status, usage = _wait(child, start + seconds)
    elapsed = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    run = Run(
        code,
        out.read_text(encoding="utf-8", errors="replace"),
        err.read_text(encoding="utf-8", errors="replace"),
        elapsed,
        usage.ru_maxrss / 1024,
    )
    out.unlink()
    err.unlink()
    assert elapsed < seconds, f"took {elapsed:.1f} s (ceiling {seconds} s): {run.stderr[-500:]}"
    assert run.peak_mb < memory_mb, f"peak {run.peak_mb:.0f} MB (ceiling {memory_mb} MB)"
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    return run


def _wait(child: subprocess.Popen[bytes], deadline: float) -> tuple[int, resource.struct_rusage]:
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        if time.monotonic() > deadline:
            child.kill()
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = -9
            return status, usage
        time.sleep(0.02)
