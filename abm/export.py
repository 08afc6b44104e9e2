"""Writing outputs: Parquet (the contract), the same tables in DuckDB, Excel-safe CSV for BI.

Where the files go and how a run replaces the previous one is ``abm.publish``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from abm.bi import create_bi_objects

#: a cell starting with one of these is a formula to Excel / LibreOffice / Google Sheets
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def excel_safe(df: pl.DataFrame) -> pl.DataFrame:
    """Lists joined by ' | ', and text cells that would run as formulas prefixed with a quote."""
    out = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            col = col.cast(pl.List(pl.Utf8)).list.join(" | ")
            dtype = pl.String()
        if dtype == pl.Utf8:
            starts = pl.any_horizontal([col.str.starts_with(p) for p in FORMULA_PREFIXES])
            col = pl.when(starts.fill_null(False)).then(pl.lit("'") + col).otherwise(col)
        out.append(col.alias(name))
    return df.select(out)


def write_csv(df: pl.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (Excel opens Japanese text correctly), formula-safe."""
    excel_safe(df).write_csv(path, include_bom=True)


def write_tables(stage: Path, tables: Mapping[str, pl.DataFrame], csv: bool = True) -> None:
    """``<name>.parquet`` for each table, the same tables in ``abm.duckdb``, and ``csv/<name>.csv``."""
    for name, df in tables.items():
        df.write_parquet(stage / f"{name}.parquet")
    con = duckdb.connect(str(stage / "abm.duckdb"))
    try:
        for name in tables:
            path = str(stage / f"{name}.parquet").replace("'", "''")
            con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_parquet('{path}')")
        create_bi_objects(con, set(tables))
    finally:
        con.close()
    if csv:
        (stage / "csv").mkdir(exist_ok=True)
        for name, df in tables.items():
            write_csv(df, stage / "csv" / f"{name}.csv")


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
