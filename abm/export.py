"""Writing outputs: Parquet (the contract), the same tables in DuckDB, Excel-safe CSV for BI.

A run writes into a staging directory beside OUT_DIR and swaps it in only when everything is
written, so a failed run leaves the previous outputs untouched.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from abm.bi import create_bi_objects

#: a cell starting with one of these is a formula to Excel / LibreOffice / Google Sheets
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


@contextmanager
def staged(out_dir: Path) -> Iterator[Path]:
    """Yield a fresh staging directory; on success it replaces ``out_dir`` (else it is removed)."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.staging-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = out_dir.parent / f".{out_dir.name}.previous-{os.getpid()}"
    if out_dir.exists():
        out_dir.rename(old)
    stage.rename(out_dir)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


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
