"""Writing outputs: Parquet (the contract), the same tables in DuckDB, Excel-safe CSV for BI.

Where the files go and how a run replaces the previous one is ``abm.publish``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from abm.bi import create_bi_objects

#: a cell starting with one of these is a formula to Excel / LibreOffice / Google Sheets
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _formula_start(col: pl.Expr) -> pl.Expr:
    """The cell starts with a formula prefix: one look-up of the first character (the prefixes are
    single characters; a longer one would be checked with starts_with)."""
    single = [p for p in FORMULA_PREFIXES if len(p) == 1]
    longer = [col.str.starts_with(p) for p in FORMULA_PREFIXES if len(p) != 1]
    return pl.any_horizontal([col.str.slice(0, 1).is_in(single), *longer])


def excel_safe(df: pl.DataFrame) -> pl.DataFrame:
    """Lists joined by ' | ', and text cells that would run as formulas prefixed with a quote.

    A text column none of whose cells starts like a formula is passed through as it is (one scan
    finds the columns that have one), so the usual case copies no strings."""
    lists = {name for name, dtype in df.schema.items() if isinstance(dtype, pl.List)}
    texts = [name for name, dtype in df.schema.items() if dtype == pl.Utf8 or name in lists]
    joined = {name: pl.col(name).cast(pl.List(pl.Utf8)).list.join(" | ") for name in lists}
    if not texts:
        return df
    hits = df.select(_formula_start(joined.get(name, pl.col(name))).any().alias(name) for name in texts).row(0)
    risky = {name for name, hit in zip(texts, hits, strict=True) if hit}
    out = []
    for name in df.columns:
        col = joined.get(name, pl.col(name))
        if name in risky:
            col = pl.when(_formula_start(col).fill_null(False)).then(pl.lit("'") + col).otherwise(col)
        out.append(col.alias(name))
    return df.select(out)


def write_csv(df: pl.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (Excel opens Japanese text correctly), formula-safe."""
    excel_safe(df).write_csv(path, include_bom=True)


PARQUET_ZSTD_LEVEL = 1


def write_parquet(stage: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    """``<name>.parquet`` for each table (the contract's files), zstd at level 1: at 20 k ≈ 30 % less CPU
    than polars' default level and a slightly smaller file (the tables read back the same)."""
    for name, df in tables.items():
        df.write_parquet(stage / f"{name}.parquet", compression="zstd", compression_level=PARQUET_ZSTD_LEVEL)


#: DuckDB threads for writing abm.duckdb: one, because the other writers run beside it (abm.outputs);
#: at 20 k it spends ≈ 25 % less CPU time than DuckDB's default (a thread per core) for the same file
DB_THREADS = 1


class DatabaseWriter:
    """``abm.duckdb`` written in parts, each part's tables in one transaction: the pipeline hands over
    the large tables as soon as they are final (records after resolve, touches, persons, the
    committee edges), so their inserts and compression run beside the later stages (abm.outputs.Ahead),
    and ``finish`` adds the rest and the BI objects (abm.bi) in the outputs block. The tables are read
    from memory (Arrow), not from the Parquet files, so this can run beside write_parquet. A failed
    run leaves a half-written file in the staging directory, which is discarded (abm.publish) as
    before. One part at a time (the caller orders them); any thread may write the next part."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._con: duckdb.DuckDBPyConnection | None = None
        self._names: set[str] = set()

    def add(self, tables: Mapping[str, pl.DataFrame]) -> None:
        """Create and commit ``tables``."""
        self._part(tables, bi=False)

    def finish(self, tables: Mapping[str, pl.DataFrame]) -> None:
        """Create ``tables`` and the BI objects over every table written, commit and close."""
        try:
            self._part(tables, bi=True)
        finally:
            self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _part(self, tables: Mapping[str, pl.DataFrame], bi: bool) -> None:
        if self._con is None:
            self._con = duckdb.connect(str(self._path), config={"threads": DB_THREADS})
        con = self._con
        con.execute("BEGIN")
        for name, df in tables.items():
            # polars' own Arrow layout (string views): no copy to large strings; DuckDB stores the same VARCHARs
            con.register("_abm_export", df.to_arrow(compat_level=pl.CompatLevel.newest()))
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _abm_export')
            con.unregister("_abm_export")
        self._names |= set(tables)
        if bi:
            create_bi_objects(con, self._names)
        con.execute("COMMIT")


def write_database(stage: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    """The same tables in ``abm.duckdb`` with the BI objects (abm.bi), in one transaction."""
    DatabaseWriter(stage / "abm.duckdb").finish(tables)


def write_csvs(stage: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    """``csv/<name>.csv`` for each table (write_csv)."""
    (stage / "csv").mkdir(exist_ok=True)
    for name, df in tables.items():
        write_csv(df, stage / "csv" / f"{name}.csv")


def export_lanes(stage: Path, tables: Mapping[str, pl.DataFrame], csv: bool = True,
                 database: Callable[[], None] | None = None) -> list[dict[str, Callable[[], None]]]:
    """write_tables as lanes for abm.outputs: the DuckDB file (one DuckDB thread) beside the polars
    writers (Parquet, then CSV; polars spreads each over the cores). ``database``: the job that ends
    abm.duckdb when parts of it were written ahead (DatabaseWriter); by default it is written whole."""
    files: dict[str, Callable[[], None]] = {"export_parquet": lambda: write_parquet(stage, tables)}
    if csv:
        files["export_csv"] = lambda: write_csvs(stage, tables)
    return [{"export_duckdb": database or (lambda: write_database(stage, tables))}, files]


def write_tables(stage: Path, tables: Mapping[str, pl.DataFrame], csv: bool = True) -> None:
    """``<name>.parquet`` for each table, the same tables in ``abm.duckdb``, and ``csv/<name>.csv``."""
    for lane in export_lanes(stage, tables, csv):
        for job in lane.values():
            job()


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
