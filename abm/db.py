"""The one place that talks to DuckDB's result API (it moved between DuckDB 1.x and 2.x)."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl


def query(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run ``sql`` and return the result as a polars DataFrame."""
    cur = con.execute(sql, params) if params else con.execute(sql)
    table = cur.to_arrow_table() if hasattr(cur, "to_arrow_table") else cur.arrow()
    return pl.from_arrow(table)  # type: ignore[return-value]
