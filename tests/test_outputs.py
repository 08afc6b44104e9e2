"""Output writers side by side (abm.outputs) and abm.duckdb written from memory (abm.export)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import duckdb
import polars as pl
import pytest

from abm.errors import AbmError, InputError
from abm.export import write_database, write_parquet
from abm.outputs import run_concurrently


def _boom(error: BaseException):
    def job() -> None:
        raise error
    return job


@pytest.mark.parametrize("failing", [
    {},                                                    # all succeed
    {"b": AbmError("disk")},                               # an AbmError as raised, for the CLI
    {"c": InputError("x", "late"), "a": OSError("first")},  # the first in lane order, not in time
    {"d": KeyboardInterrupt()},
    {"e": ValueError("second in its lane")},
])
def test_every_lane_ends_and_the_first_failure_is_raised(failing: dict[str, BaseException]):
    done: list[str] = []
    lock = threading.Lock()

    def ok(name: str):
        def job() -> None:
            with lock:
                done.append(name)
        return job

    lanes = [{"a": None}, {"b": None, "e": None}, {"c": None}, {"d": None, "f": None}]
    lanes = [{name: _boom(failing[name]) if name in failing else ok(name) for name in lane} for lane in lanes]
    first = next((failing[name] for lane in lanes for name in lane if name in failing), None)
    if first is None:
        times = run_concurrently(lanes)
        assert set(times) == set("abcdef") and all(t.wall >= 0 and t.cpu >= 0 for t in times.values())
    else:
        with pytest.raises(type(first)) as caught:
            run_concurrently(lanes)
        assert caught.value is first
    # a failed job ends its lane; every other job ran
    skipped = {"e"} if "b" in failing else {"f"} if "d" in failing else set()
    assert sorted(done) == sorted(set("abcdef") - set(failing) - skipped)


def test_lanes_overlap():
    """Two lanes that each wait for the other can only finish when they run at the same time."""
    barrier = threading.Barrier(2, timeout=10)
    times = run_concurrently([{"x": barrier.wait}, {"y": barrier.wait}])
    assert set(times) == {"x", "y"}


TABLES = {
    "records": pl.DataFrame({
        "s": ["株式会社テスト", None, "=1"], "i": [1, None, 3], "f": [1.5, None, float("nan")],
        "d": [dt.date(2026, 1, 1), None, dt.date(2026, 2, 1)], "b": [True, None, False],
        "l": [["a", None], None, []], "n": [None, None, None],
        "ts": [dt.datetime(2026, 1, 1, 9), None, None], "c": ["x", "y", None],
    }, schema_overrides={"c": pl.Categorical, "ts": pl.Datetime("us", "UTC")}),
    "empty": pl.DataFrame(schema={"a": pl.String, "b": pl.List(pl.String)}),
}


def test_database_from_memory_matches_the_parquet_files(tmp_path: Path):
    """abm.duckdb holds what reading the Parquet files would give: the same types and rows."""
    write_parquet(tmp_path, TABLES)
    write_database(tmp_path, TABLES)
    con = duckdb.connect(str(tmp_path / "abm.duckdb"), read_only=True)
    try:
        for name in TABLES:
            parquet = f"read_parquet('{tmp_path / (name + '.parquet')}')"
            assert con.execute(f'DESCRIBE "{name}"').fetchall() == \
                con.execute(f"DESCRIBE SELECT * FROM {parquet}").fetchall()
            for left, right in ((f'"{name}"', parquet), (parquet, f'"{name}"')):
                assert con.execute(f"SELECT count(*) FROM (SELECT * FROM {left} EXCEPT ALL "
                                   f"SELECT * FROM {right})").fetchall() == [(0,)]
    finally:
        con.close()
