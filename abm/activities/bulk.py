"""Large MA activity files: read in chunks, checked and normalised, kept in DuckDB on disk.

Each chunk of ``CHUNK_ROWS`` rows goes through the same code as a whole file does in the ordinary
stages (layout mapping and date checks of ``abm.load.frame``, owner defaults, the blank-id check of
``abm.load.validate``, ``abm.normalize.records``), so a row means the same on either path; only the
columns later stages read are kept, in a DuckDB table under a work directory beside OUT_DIR
(``memory_limit``, ``temp_directory`` there: joins and sorts spill to disk). Each chunk is written
as a Parquet file there (``chunks/``), and the table ``acts`` is a view over those files: a DuckDB
table insert costs several times the chunk's normalisation (measured: 2.7 s per 500,000 rows against
about 1 s), and every later query reads only the columns it needs from Parquet. Ids shared by two rows
(within the bulk files, or with an ordinary activity file) are settled once all chunks are in, by
the loader's own ``check_ids`` on just those rows. Every row ends in the table or in quarantine,
counted in its file's stats (``run.json`` → ``files``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from abm.contract import KINDS, LINEAGE_COLUMNS
from abm.db import literal
from abm.errors import InputError
from abm.load import validate
from abm.load.frame import file_frame
from abm.load.layouts import Layout, resolve
from abm.load.owners import TOUCH_OWNER, resolve_owners
from abm.load.parts import kind_from_stem, layout_for
from abm.load.quarantine import QUARANTINE_SCHEMA
from abm.load.read import RawTable, empty_frame, frame_of, raw_json
from abm.load.sheets import _parquet_text
from abm.load.sources import Source
from abm.load.stats import FileStats, count_row_issues
from abm.rules import Rules

log = logging.getLogger(__name__)

KIND = "ma_activities"
ID = KINDS[KIND][0]
CHUNK_ROWS = 500_000
MEMORY_LIMIT = os.environ.get("ABM_DUCKDB_MEMORY_LIMIT", "1GB")
#: the normalised columns kept per activity: what records.parquet, touches and the detectors read
KEEP = ("record_key", "kind", "source_file", "row_number", "makes_touch", "account_ref", "internal_department",
        "owner_name", "record_date", "company_name", "person_name", "department", "title", "rank")


def bulk_threshold() -> int:
    """Rows from which a Parquet activity file takes the bulk path (``ABM_BULK_ACTIVITY_ROWS``)."""
    value = os.environ.get("ABM_BULK_ACTIVITY_ROWS", "1000000")
    try:
        return max(int(value), 0)
    except ValueError as exc:
        raise InputError("ABM_BULK_ACTIVITY_ROWS", f"not a whole number: {value!r}",
                         fix="set it to a row count, e.g. 1000000 (0: every Parquet activity file)") from exc


@dataclass
class BulkFile:
    path: Path
    src: Source | None
    name: str
    stats: FileStats
    layout: Layout
    rows: int = 0


def claim(path: Path, src: Source | None, name: str, data: bytes | None, rules: Rules) -> tuple[Layout, int] | None:
    """(the ma_activities layout, rows) when ``path`` takes the bulk path (see the package doc), else None."""
    if data is not None or path.suffix.lower() != ".parquet":
        return None
    if ((src.kind if src else None) or kind_from_stem(Path(name).stem)) != KIND:
        return None
    try:
        n = pl.scan_parquet(path).select(pl.len()).collect().item()
        header = [str(c).strip() for c in pl.read_parquet_schema(path)]
    except Exception:  # noqa: BLE001 - the ordinary reader names what is wrong with the file
        return None
    if n < bulk_threshold():
        return None
    raw = RawTable(header, empty_frame(len(header)), encoding="parquet")
    try:
        layout = layout_for(raw, src, name, rules)
        if layout is None or layout.kind != KIND or ID not in resolve(header, layout, src.columns if src else {},
                                                                        name).columns:
            return None
    except InputError:
        return None
    return layout, n


@dataclass
class ActivityStore:
    """The bulk activity rows in DuckDB (view ``acts`` over the chunk files), with what the load found."""

    con: duckdb.DuckDBPyConnection
    workdir: Path
    quarantine: pl.DataFrame
    rows_read: int = 0
    rejected_other: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"source_file": pl.String, "row_number": pl.Int64}))
    facts: dict[str, Any] = field(default_factory=dict)
    chunks: int = 0                                  # chunk files written (``chunks/000000.parquet`` …)
    schema: pl.Schema | None = None                  # of the first chunk: every chunk is cast to it
    keep_alive: list[Any] = field(default_factory=list)   # Arrow tables registered for views

    def chunk_path(self, i: int) -> Path:
        return self.workdir / "chunks" / f"{i:06d}.parquet"

    def count(self, where: str = "true") -> int:
        return int(self.con.execute(f"SELECT count(*) FROM acts WHERE {where}").fetchall()[0][0])  # type: ignore[index]

    def drop_rejected(self, records: pl.DataFrame) -> pl.DataFrame:
        """``records`` without the ordinary activity rows that lost a shared id to a bulk row."""
        if self.rejected_other.height == 0:
            return records
        hit = records.select("source_file", "row_number").join(
            self.rejected_other.with_columns(pl.lit(True).alias("_x")), on=["source_file", "row_number"],
            how="left", maintain_order="left").get_column("_x").fill_null(False)
        return records.filter(~(hit & (pl.col("kind") == KIND)))

    def close(self) -> None:
        self.con.close()


def connect(workdir: Path) -> duckdb.DuckDBPyConnection:
    workdir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(workdir / "activities.duckdb"))
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'").fetchall()
    con.execute(f"SET temp_directory = {literal(workdir / 'tmp')}").fetchall()
    con.execute("SET preserve_insertion_order = false").fetchall()
    return con


def load_bulk(files: list[BulkFile], others: pl.DataFrame, all_files: list[FileStats], rules: Rules,
              workdir: Path) -> ActivityStore:
    """Every row of ``files`` into DuckDB (or quarantine); ``others``: the ordinary activity rows (for ids)."""
    from abm.normalize.records import normalize_records

    def normalize(chunk: pl.DataFrame) -> pl.DataFrame:
        return normalize_records({KIND: chunk}, rules)

    store = ActivityStore(connect(workdir), workdir, pl.DataFrame(schema=QUARANTINE_SCHEMA))
    bad: list[pl.DataFrame] = []
    for f in files:
        bad += _load_file(store, f, normalize)
    _define_acts(store)
    bad += _settle_duplicates(store, others, all_files, files)
    store.quarantine = pl.concat([store.quarantine, *bad]).sort("source_file", "row_number")
    log.info("bulk activities: %d rows read, %d kept, %d quarantined", store.rows_read, store.count(),
             store.quarantine.height)
    return store


def _define_acts(store: ActivityStore, without_gone: bool = False) -> None:
    """The view ``acts`` over the chunk files (without the rows ``gone`` lists, once ids are settled)."""
    files = literal(store.workdir / "chunks" / "*.parquet")
    anti = " ANTI JOIN gone g ON a.source_file = g.source_file AND a.row_number = g.row_number" if without_gone else ""
    store.con.execute(f"CREATE OR REPLACE VIEW acts AS SELECT a.* FROM read_parquet({files}) a{anti}").fetchall()


def _write_chunk(store: ActivityStore, out: pl.DataFrame) -> None:
    """One normalised chunk as the next Parquet file of ``acts`` (every chunk in the first one's types)."""
    if store.schema is None:
        store.schema = out.schema
        store.chunk_path(0).parent.mkdir(parents=True, exist_ok=True)
    out.cast(store.schema).write_parquet(store.chunk_path(store.chunks), compression="lz4")  # type: ignore[arg-type]
    store.chunks += 1


def _load_file(store: ActivityStore, f: BulkFile, normalize: Any) -> list[pl.DataFrame]:
    n = pl.scan_parquet(f.path).select(pl.len()).collect().item()
    f.stats.kind, f.stats.layout, f.stats.encoding = KIND, f.layout.name, "parquet"
    bad: list[pl.DataFrame] = []
    for offset in range(0, max(n, 1), CHUNK_ROWS):  # an empty file still makes the table
        df = pl.scan_parquet(f.path).slice(offset, CHUNK_ROWS).collect()
        raw = RawTable([str(c).strip() for c in df.columns],
                       frame_of([_parquet_text(df.get_column(c), f.name) for c in df.columns], df.width,
                                pl.int_range(offset + 1, offset + df.height + 1, eager=True, dtype=pl.Int64)),
                       encoding="parquet")
        del df
        scratch = FileStats(f.name)
        frame = file_frame(raw, f.layout, f.src, f.name, scratch)
        frame = resolve_owners(frame, KIND, None)
        touch = pl.col("_file_has_owner").fill_null(False) if KIND in TOUCH_OWNER else pl.lit(False)
        frame = frame.with_columns(touch.alias("makes_touch"))
        _, missing = validate.check_ids(frame.filter(pl.col(ID).is_null()), KIND, KINDS[KIND])
        kept = frame.filter(pl.col(ID).is_not_null())
        count_row_issues([scratch], kept, KIND, TOUCH_OWNER.get(KIND))
        if offset == 0:
            f.stats.ignored_columns, f.stats.notes = scratch.ignored_columns, f.stats.notes + scratch.notes
        for key, value in scratch.field_issues.items():
            f.stats.add_issue(key, value)
        if missing.height:
            texts = _raw_texts(raw, missing.get_column("row_number").to_list())
            bad.append(missing.with_columns(pl.col("row_number").replace_strict(texts, return_dtype=pl.String)
                                            .alias("raw")).select(list(QUARANTINE_SCHEMA)).cast(QUARANTINE_SCHEMA))  # type: ignore[arg-type]
        canon = kept.select(*KINDS[KIND], *LINEAGE_COLUMNS)
        out = normalize(canon).select(KEEP).with_columns(canon.select(
            pl.col(c).cast(pl.String).alias(f"c_{c}") for c in KINDS[KIND]))
        _write_chunk(store, out)
        f.stats.rows_loaded += kept.height
        f.stats.rows_quarantined += missing.height
        store.rows_read += raw.frame.height
        log.info("%s: rows %d–%d into DuckDB", f.name, offset + 1, offset + raw.frame.height)
    return bad


def _raw_texts(raw: RawTable, numbers: list[int]) -> dict[int, str]:
    rows = raw.frame.filter(pl.col("row_number").is_in(numbers))
    cols = [f"c{i}" for i in range(len(raw.header))]
    return {r[-1]: raw_json(raw.header, r[:-1]) for r in rows.select(*cols, "row_number").iter_rows()}


def _settle_duplicates(store: ActivityStore, others: pl.DataFrame, all_files: list[FileStats],
                       files: list[BulkFile]) -> list[pl.DataFrame]:
    """Rows sharing an activity id with another (bulk or ordinary) row: ``check_ids`` keeps one."""
    if not store.chunks:
        return []
    store.con.register("other_ids", others.select(pl.col(ID).cast(pl.String).alias("id")).to_arrow())
    dups = store.con.sql(f"""SELECT id FROM (SELECT c_{ID} AS id FROM acts UNION ALL SELECT id FROM other_ids)
                                 GROUP BY id HAVING count(*) > 1""").pl()
    if dups.height == 0:
        return []
    cols = ", ".join(f"c_{c} AS {c}" for c in KINDS[KIND])
    store.con.register("dup_ids", dups.to_arrow())
    bulk = store.con.sql(f"SELECT {cols}, source_file, row_number FROM acts WHERE c_{ID} IN "
                             "(SELECT id FROM dup_ids)").pl()
    other = others.filter(pl.col(ID).is_in(dups.get_column("id").to_list())).select(
        *KINDS[KIND], "source_file", "row_number")
    both = pl.concat([bulk, other.cast(bulk.schema)])  # type: ignore[arg-type]
    _, rejected = validate.check_ids(both, KIND, KINDS[KIND])
    rejected = rejected.join(both, on=["source_file", "row_number"], how="left")
    in_bulk = pl.col("source_file").is_in([f.name for f in files])
    store.con.register("gone_rows", rejected.filter(in_bulk).select("source_file", "row_number").to_arrow())
    store.con.execute("CREATE OR REPLACE TABLE gone AS SELECT source_file, row_number FROM gone_rows").fetchall()
    store.con.unregister("gone_rows")
    _define_acts(store, without_gone=True)
    store.rejected_other = rejected.filter(~in_bulk).select("source_file", "row_number")
    by_path = {f.path: f for f in all_files}
    for (name,), group in rejected.group_by(["source_file"]):
        stats = by_path[str(name)]
        stats.rows_loaded -= group.height
        stats.rows_quarantined += group.height
    texts: dict[tuple[str, int], str] = {}
    paths = {f.name: f for f in files}
    for (name,), group in rejected.filter(in_bulk).group_by(["source_file"]):
        texts |= {(str(name), n): t for n, t in _reread(paths[str(name)], group.get_column("row_number")).items()}
    # a row of an ordinary file: its values as loaded (the file itself is not read again)
    raw = [texts.get((f, n)) or raw_json(list(KINDS[KIND]), list(values))
           for f, n, *values in rejected.select("source_file", "row_number", *KINDS[KIND]).iter_rows()]
    return [rejected.with_columns(pl.Series("raw", raw, dtype=pl.String)).select(list(QUARANTINE_SCHEMA))
            .cast(QUARANTINE_SCHEMA)]  # type: ignore[arg-type]


def _reread(f: BulkFile, numbers: pl.Series) -> dict[int, str]:
    """The raw text (quarantine ``raw``) of rows ``numbers`` of a bulk file, read again."""
    df = (pl.scan_parquet(f.path).with_row_index("__row", offset=1)
          .filter(pl.col("__row").is_in(numbers.cast(pl.UInt32).implode())).collect())
    rows = df.drop("__row")
    raw = RawTable([str(c).strip() for c in rows.columns],
                   frame_of([_parquet_text(rows.get_column(c), f.name) for c in rows.columns], rows.width,
                            df.get_column("__row").cast(pl.Int64)))
    return _raw_texts(raw, numbers.to_list())
