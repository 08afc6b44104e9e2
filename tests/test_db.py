"""abm.db: DuckDB helpers."""

from __future__ import annotations

import duckdb
import pytest

from abm.db import filters_kept_above_joins, literal, query


def _disabled(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {x for x in con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0].split(",") if x}


@pytest.mark.parametrize(("before", "inside"), [
    ("", {"filter_pushdown"}),
    ("join_order", {"join_order", "filter_pushdown"}),
])
def test_filters_kept_above_joins_turns_pushdown_off_then_restores_the_setting(before, inside):
    con = duckdb.connect()
    con.execute(f"SET disabled_optimizers = {literal(before)}")
    with filters_kept_above_joins(con):
        assert _disabled(con) == inside
    assert _disabled(con) == ({before} if before else set())


def test_filters_kept_above_joins_restores_the_setting_when_the_query_fails():
    con = duckdb.connect()
    with pytest.raises(duckdb.Error), filters_kept_above_joins(con):
        con.execute("SELECT no_such_column FROM range(1)")
    assert _disabled(con) == set()


@pytest.mark.parametrize(("where", "expected"), [
    ("l.v = r.v", [(1, 2)]),
    ("l.v <> r.v AND (l.w = r.w OR l.v IS NULL)", [(1, 3)]),   # (2, 3): NULL OR false
    ("l.w = r.w OR r.v IS NULL", [(1, 3), (1, 4), (3, 4)]),   # NULL = x is NULL: no row, as coalesce(…, false) gave
])
def test_a_plain_where_above_the_joins_keeps_the_rows_coalesce_false_keeps(where, expected):
    con = duckdb.connect()
    con.execute("CREATE TABLE u AS SELECT * FROM (VALUES (1, 'a', 'x'), (2, 'a', NULL), (3, 'b', 'x'), "
                "(4, NULL, NULL)) t(id, v, w)")
    con.execute("CREATE TABLE p AS SELECT * FROM (VALUES (1, 2), (1, 3), (2, 3), (1, 4), (3, 4)) t(a, b)")
    joined = "SELECT p.a, p.b FROM p JOIN u l ON l.id = p.a JOIN u r ON r.id = p.b WHERE "
    with filters_kept_above_joins(con):
        plain = query(con, joined + f"({where}) ORDER BY 1, 2").rows()
    assert plain == query(con, joined + f"coalesce(({where}), false) ORDER BY 1, 2").rows()
    assert plain == expected
