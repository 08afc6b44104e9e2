"""Run one command in a child process and measure it: wall time and the child's own peak RSS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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


def fresh_out(out: Path) -> Callable[[], None]:
    """Before each run: no OUT_DIR and no ``.OUT_DIR.cache`` (a first run, as another tool would be timed)."""
    def clear() -> None:
        for path in (out, out.with_name(f".{out.name}.cache"), out.with_name(f".{out.name}.runs")):
            if path.is_symlink():  # OUT_DIR is published as a link into .OUT_DIR.runs/
                path.unlink()
            shutil.rmtree(path, ignore_errors=True)
    return clear


def repeated(cmd: list[str], repeats: int, before: Callable[[], None] | None = None,
             ) -> tuple[list[Measured], dict[str, float]]:
    """``repeats`` runs, ``before`` called ahead of each; medians of wall time, CPU time and peak RSS."""
    runs = []
    for _ in range(max(1, repeats)):
        if before is not None:
            before()
        runs.append(measure(cmd))
    for r in runs:
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return runs, {"seconds": median(r.seconds for r in runs), "cpu_seconds": median(r.cpu_seconds for r in runs),
                  "peak_rss_mb": median(r.peak_rss_mb for r in runs), "runs": len(runs)}
