"""The ``abm`` console script's quick exit (``abm.cli.entry``): same status, streams, atexit handlers
and outputs as the interpreter's normal exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from abm.cli import BATCH_GC_THRESHOLDS, _exit_status


def _entry(*args: str, prelude: str = "") -> subprocess.CompletedProcess[bytes]:
    code = f"{prelude}\nimport sys\nfrom abm.cli import entry\nsys.argv = ['abm', *sys.argv[1:]]\nentry()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=600, check=False)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), (141, 141), (256, 0), (-1, 255),
                                              (True, 1), ("a message", 1)])
def test_exit_status_is_what_sys_exit_gives(code: str | int | None, status: int) -> None:
    assert _exit_status(code) == status
    normal = subprocess.run([sys.executable, "-c", f"import sys; sys.exit({code!r})"], capture_output=True, check=False)
    assert normal.returncode == status


def test_streams_are_flushed_and_atexit_handlers_run(tmp_path: Path) -> None:
    mark = tmp_path / "atexit-ran"
    done = _entry("--version", prelude=f"import atexit, pathlib\natexit.register(pathlib.Path({str(mark)!r}).touch)")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("abm, version")
    assert mark.exists()


def test_the_console_script_collects_garbage_at_batch_thresholds() -> None:
    done = _entry("--version", prelude="import atexit, gc\natexit.register(lambda: print(gc.get_threshold()))")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines()[-1] == str(BATCH_GC_THRESHOLDS)
    assert BATCH_GC_THRESHOLDS[0] > 700   # fewer collections than Python's default, the point of it


def test_usage_errors_keep_their_status() -> None:
    done = _entry("run", "/nonexistent/input")
    assert done.returncode == 2
    assert b"does not exist" in done.stderr


def test_a_run_leaves_the_same_outputs(demo_run: Path, demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _entry("run", str(demo_dir), "--out", str(out), "-q", "--no-cache")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(demo_run)) for p in demo_run.rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith(".wal")]  # DuckDB files complete, no log left to replay
    for name in ("records.parquet", "accounts.parquet", "collisions.parquet"):
        assert pl.read_parquet(out / name).equals(pl.read_parquet(demo_run / name))


def test_a_reader_that_stops_early_still_ends_with_141(demo_run: Path, demo_dir: Path, tmp_path: Path) -> None:
    code = "import sys\nfrom abm.cli import entry\nsys.argv = ['abm', *sys.argv[1:]]\nentry()"
    cmd = [sys.executable, "-c", code, "evaluate", str(demo_run), "--truth", str(demo_dir / "truth"),
           "--json", str(tmp_path / "e.json")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141, err.decode()
    assert b"Traceback" not in err
