"""The one place that talks to DuckDB's result API (it moved between DuckDB 1.x and 2.x)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl


def literal(value: str | Path) -> str:
    """``value`` as an SQL string literal (a path or a value spliced where DuckDB takes no parameter:
    ``read_parquet``, ``COPY … TO``, ``ATTACH``, ``SET``)."""
    return "'" + str(value).replace("'", "''") + "'"


def query(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run ``sql`` (named ``$params``) and return the result as a polars DataFrame."""
    rel = con.sql(sql, params=params) if params else con.sql(sql)
    if rel is None:
        return pl.DataFrame()
    table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
    return pl.from_arrow(table)  # type: ignore[return-value]


@contextmanager
def filters_kept_above_joins(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within the block, DuckDB leaves a ``WHERE`` where it is written, above the joins (its
    ``filter_pushdown`` optimiser off; the connection's setting is restored after).

    For a predicate over two rows joined by id (``l.x = r.x OR …``, a guard): pushed down, its
    cross-side comparisons become join conditions and the join order may pair the rows by them
    instead of by id (a guard took 350 s so). Left above the joins, its ``AND``s are still
    evaluated in turn, each on the rows the earlier ones kept."""
    old = con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0]
    off = ",".join(x for x in (old, "filter_pushdown") if x)
    con.execute(f"SET disabled_optimizers = {literal(off)}")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = {literal(old)}")
