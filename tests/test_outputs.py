"""Output writers side by side and ahead of the block (abm.outputs), abm.duckdb written from memory and in
parts (abm.export)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.bi import BI_OBJECTS
from abm.errors import AbmError, InputError
from abm.export import DatabaseWriter, write_database, write_parquet
from abm.outputs import Ahead, run_concurrently


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

    names = [("a",), ("b", "e"), ("c",), ("d", "f")]
    lanes = [{name: _boom(failing[name]) if name in failing else ok(name) for name in lane} for lane in names]
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


# --- writers started ahead of the outputs block (abm.outputs.Ahead) -------------------------------

class _Closed:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def close(self) -> None:
        self.log.append("closed")


@pytest.mark.parametrize(("failing", "ran"), [
    ((), ["a", "b", "c"]),
    (("b",), ["a"]),             # a failed job skips the ones after it, as in a lane
    (("a", "c"), []),            # the first failure, in submission order, is the one raised
])
def test_ahead_runs_in_order_and_raises_the_first_failure(failing: tuple[str, ...], ran: list[str]):
    log: list[str] = []
    errors = {name: OSError(name) for name in failing}

    def job(name: str):
        def run() -> None:
            if name in errors:
                raise errors[name]
            log.append(name)
        return run

    ahead = Ahead()
    ahead.closing(_Closed(log))
    if failing:   # settle raises it, and so does leaving the block (whatever did not catch it)
        with pytest.raises(OSError) as caught, ahead:
            for name in "abc":
                ahead.submit(name, job(name))
            ahead.settle()
        assert caught.value is errors[failing[0]]
    else:
        with ahead:
            for name in "abc":
                ahead.submit(name, job(name))
        assert set(ahead.times) == set("abc")
    assert log == [*ran, "closed"]   # every job ended before the close


def test_ahead_leaves_a_failed_block_with_its_own_error_after_the_jobs_end():
    """The block's error is reported, not a job's; a job still running ends before the thing it
    writes to is closed (nothing writes into the staging directory once it is discarded)."""
    log: list[str] = []
    started = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.2)
        log.append("slow")

    with pytest.raises(KeyError):
        with Ahead() as ahead:
            ahead.closing(_Closed(log))
            ahead.submit("fails", _boom(OSError("job")))
            ahead.submit("skipped", lambda: log.append("skipped"))
            raise KeyError("block")
    assert log == ["closed"]
    with pytest.raises(KeyError):
        with Ahead() as ahead:
            ahead.closing(_Closed(log := []))
            ahead.submit("slow", slow)
            started.wait(5)
            raise KeyError("block")
    assert log == ["slow", "closed"]


def test_ahead_with_no_jobs_settles_at_once():
    with Ahead() as ahead:
        ahead.settle()
    assert ahead.times == {}


def _database_objects(path: Path) -> dict[str, tuple[str, list[tuple[object, ...]], pl.DataFrame]]:
    """Every table and view of a DuckDB file: its kind, its DESCRIBE, and its rows sorted."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall()
        out = {}
        for name, kind in names:
            rows = pl.from_arrow(con.sql(f'SELECT * FROM "{name}"').to_arrow_table())
            assert isinstance(rows, pl.DataFrame)
            scalar = [c for c, t in rows.schema.items() if not isinstance(t, pl.List | pl.Struct)]
            out[name] = (kind, con.execute(f'DESCRIBE "{name}"').fetchall(), rows.sort(scalar, nulls_last=True))
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_tables(demo_run: Path) -> dict[str, pl.DataFrame]:
    """The demo run's output tables, in the pipeline's order (the BI objects need them)."""
    return {path.stem: pl.read_parquet(path) for path in sorted(demo_run.glob("*.parquet"))}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_database_written_in_parts_equals_one_transaction(tmp_path_factory: pytest.TempPathFactory,
                                                          demo_tables: dict[str, pl.DataFrame], data: st.DataObject):
    """abm.duckdb written in parts (tables handed over as they become final, the rest and the BI
    objects at the end) holds the same tables and views, typed and filled alike, as one transaction."""
    names = data.draw(st.permutations(list(demo_tables)))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(names)), max_size=4)))
    parts = [names[a:b] for a, b in zip([0, *cuts], [*cuts, len(names)], strict=True)]
    root = tmp_path_factory.mktemp("parts")
    write_database(root, demo_tables)
    writer = DatabaseWriter(root / "parts.duckdb")
    for part in parts[:-1]:
        writer.add({name: demo_tables[name] for name in part})
    writer.finish({name: demo_tables[name] for name in parts[-1]})
    whole, in_parts = _database_objects(root / "abm.duckdb"), _database_objects(root / "parts.duckdb")
    assert set(whole) == set(in_parts) and {"v_collisions", "run_info"} <= set(whole)
    for name, (kind, described, rows) in whole.items():
        assert in_parts[name][:2] == (kind, described), name
        assert in_parts[name][2].equals(rows), name


def test_pipeline_database_holds_every_table_and_bi_object(demo_run: Path, demo_tables: dict[str, pl.DataFrame]):
    """The run writes abm.duckdb's large tables ahead of the others: every output table is there,
    equal to its Parquet file, and so is every BI object."""
    objects = _database_objects(demo_run / "abm.duckdb")
    assert set(BI_OBJECTS) | set(demo_tables) == set(objects)
    for name, df in demo_tables.items():
        scalar = [c for c, t in df.schema.items() if not isinstance(t, pl.List | pl.Struct)]
        assert objects[name][2].equals(df.sort(scalar, nulls_last=True)), name
