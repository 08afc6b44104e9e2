"""abm.memory_db: connections of one in-memory DuckDB database behave as databases of their own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm import memory_db
from abm.db import filters_kept_above_joins, query


def _instance_marker(con: duckdb.DuckDBPyConnection) -> int:
    """Something one database instance shares between its connections: a table in it."""
    return int(con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'abm_test_marker'").fetchall()[0][0])


def test_connections_share_one_instance_and_a_fork_gets_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = memory_db.connect(), memory_db.connect()
    a.execute("CREATE OR REPLACE TABLE abm_test_marker (x INTEGER)")
    try:
        assert _instance_marker(b) == 1                      # one instance, not one per connection
        monkeypatch.setattr(memory_db.os, "getpid", lambda: -1)  # as in a forked child
        assert _instance_marker(memory_db.connect()) == 0    # a fresh instance of the child's own
    finally:
        a.execute("DROP TABLE abm_test_marker")


@pytest.mark.parametrize("close", [True, False])
def test_a_registered_frame_is_the_connections_own(close: bool) -> None:
    a, b = memory_db.connect(), memory_db.connect()
    a.register("frame", pl.DataFrame({"x": [1, 2, 3]}).to_arrow())
    b.register("frame", pl.DataFrame({"x": [10]}).to_arrow())   # the same name elsewhere: no clash
    assert query(a, "SELECT sum(x) AS s FROM frame").item() == 6
    assert query(b, "SELECT sum(x) AS s FROM frame").item() == 10
    if close:
        a.close()
    else:
        del a
    with pytest.raises(duckdb.CatalogException):
        memory_db.connect().sql("SELECT * FROM frame")           # a new connection sees none of them


def test_the_optimizer_setting_is_restored_for_the_other_connections() -> None:
    a, b = memory_db.connect(), memory_db.connect()
    before = b.sql("SELECT current_setting('disabled_optimizers')").fetchall()
    with filters_kept_above_joins(a):
        pass
    assert b.sql("SELECT current_setting('disabled_optimizers')").fetchall() == before


@settings(max_examples=20, deadline=None)
@given(st.lists(st.lists(st.integers(-1000, 1000), min_size=1, max_size=30), min_size=1, max_size=6))
def test_threads_each_with_a_connection_get_their_own_answers(frames: list[list[int]]) -> None:
    def total(values: list[int]) -> int:
        con = memory_db.connect()
        con.register("v", pl.DataFrame({"x": values}, schema={"x": pl.Int64}).to_arrow())
        return int(query(con, "SELECT sum(x) AS s FROM v").item())

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(total, frames)) == [sum(f) for f in frames]
