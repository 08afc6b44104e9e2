"""The one place that talks to DuckDB's result API (it moved between DuckDB 1.x and 2.x)."""

from __future__ import annotations

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
