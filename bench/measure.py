"""Run one command in a child process and measure it: wall time and the child's own peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from statistics import median
from typing import Any


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float      # user + system: steadier than wall time on a shared machine
    returncode: int
    stdout: str
    stderr: str

    def json_line(self) -> dict[str, Any]:
        """The last JSON line the child printed (bench.core and bench.splink_jp print one)."""
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"no JSON from the child (exit {self.returncode}): {self.stderr[-2000:]}")


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """``cmd`` run to completion; peak RSS from ``wait4`` is this child's alone."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})}, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode,
                        out.read(), err.read())


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def repeated(cmd: list[str], repeats: int) -> tuple[list[Measured], dict[str, float]]:
    """``repeats`` runs; medians of wall time and peak RSS."""
    runs = [measure(cmd) for _ in range(max(1, repeats))]
    for r in runs:
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return runs, {"seconds": median(r.seconds for r in runs), "cpu_seconds": median(r.cpu_seconds for r in runs),
                  "peak_rss_mb": median(r.peak_rss_mb for r in runs), "runs": len(runs)}
