"""Import a 法人番号 download (CSV, zip of CSVs, or a directory of them) into an indexed cache.

DuckDB's CSV reader does the reading (out of core, both cores, a memory cap), polars the probe
keys. The cache is a directory of Parquet files plus ``manifest.json``:

- ``corporations.parquet``: one row per 法人番号, its latest state, ``registry_status``
  (active / closed / absorbed) and successor;
- ``names/part-*.parquet``: every name a corporation is known by (current, former, furigana,
  English), with its probe key (``abm.registry.keys``), written batch by batch;
- ``places.parquet``: every (prefecture, postal code) a corporation has had;
- ``rejects.parquet``: rows that could not be read, with file, line and reason.

Default location: ``$ABM_CACHE_DIR/registry/<fingerprint>`` (else ``$XDG_CACHE_HOME/abm/…``, else
``~/.cache/abm/…``), the fingerprint being the source files' paths, sizes and modification times,
so a new download gets a new cache and a re-run reuses the old one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from abm import __version__
from abm.db import literal, query
from abm.errors import InputError
from abm.registry.keys import PROBE_VERSION, ProbeRules, latin_probe, name_probe, probe_rules, reading_probe
from abm.registry.layout import CLOSE_CAUSE_MERGER, COLUMNS
from abm.rules import Rules, load_rules
from abm.settings import cache_home

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
MANIFEST = "manifest.json"
#: more than this share of unreadable rows means the file is not in the registry layout
MAX_REJECT_SHARE = 0.5


@dataclass(frozen=True)
class Registry:
    """An imported registry: the cache directory and what its manifest says."""

    root: Path
    manifest: dict

    def path(self, table: str) -> str:
        """What DuckDB's read_parquet reads for ``table`` (names are written in parts)."""
        if table == "names":
            return str(self.root / "names" / "*.parquet")
        return str(self.root / f"{table}.parquet")


def source_files(source: Path) -> list[Path]:
    """The CSV and zip files a source names (a directory: every *.csv / *.zip in it, sorted)."""
    if not source.exists():
        raise InputError(str(source), "no such file or directory", fix="give --registry the downloaded CSV, zip or folder")
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in (".csv", ".zip"))
        if not files:
            raise InputError(str(source), "the folder holds no .csv or .zip file of the 法人番号 download")
        return files
    if source.suffix.lower() not in (".csv", ".zip"):
        raise InputError(str(source), "expected a .csv or .zip file of the 法人番号 download (Unicode edition)")
    return [source]


def fingerprint(files: list[Path]) -> str:
    h = hashlib.sha1()
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def default_cache(source: Path) -> Path:
    return cache_home() / "registry" / fingerprint(source_files(source))


def is_cache(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def _read_manifest(root: Path) -> dict:
    try:
        return json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(root / MANIFEST), f"not a readable registry cache manifest ({exc})",
                         fix="delete the folder and run `abm registry import` again") from exc


def _usable(manifest: dict) -> bool:
    return manifest.get("format") == CACHE_FORMAT and manifest.get("probe_version") == PROBE_VERSION


def open_registry(path: Path, cache: Path | None = None, rules: Rules | None = None) -> Registry:
    """A registry cache for ``path``: ``path`` itself when it is a cache, else the cache of that
    source (``cache`` or the default location), imported now when missing or out of date."""
    if is_cache(path):
        manifest = _read_manifest(path)
        if not _usable(manifest):
            raise InputError(str(path), "the registry cache was built by another abm version",
                             fix=f"run `abm registry import {manifest.get('source', 'SOURCE')}` again")
        return Registry(path, manifest)
    files = source_files(path)
    target = cache or cache_home() / "registry" / fingerprint(files)
    if is_cache(target):
        manifest = _read_manifest(target)
        if _usable(manifest) and manifest.get("fingerprint") == fingerprint(files):
            return Registry(target, manifest)
    return import_registry(path, target, rules)


def _expand(files: list[Path], tmp: Path) -> list[str]:
    """CSV paths for DuckDB: zip members are extracted (stream by stream) to ``tmp``."""
    out: list[str] = []
    for f in files:
        if f.suffix.lower() != ".zip":
            out.append(str(f))
            continue
        try:
            with zipfile.ZipFile(f) as z:
                members = [m for m in z.infolist() if not m.is_dir() and m.filename.lower().endswith(".csv")]
                if not members:
                    raise InputError(str(f), "the zip holds no .csv file")
                for i, m in enumerate(members):
                    dest = tmp / f"{f.stem}_{i}.csv"
                    with z.open(m) as src, dest.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 22)
                    out.append(str(dest))
        except zipfile.BadZipFile as exc:
            raise InputError(str(f), f"not a readable zip file ({exc})") from exc
    return out


_COLS = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS) + "}"
#: the published columns the cache keeps (image ids, English addresses and the like are not used)
_KEPT = ("sequenceNumber", "corporateNumber", "process", "updateDate", "changeDate", "name", "kind", "prefectureName",
         "cityName", "streetNumber", "postCode", "closeDate", "closeCause", "successorCorporateNumber", "latest",
         "enName", "furigana")
_VALID = "regexp_full_match(corporateNumber, '[0-9]{13}')"
#: names are probed in batches of this many rows, so memory does not grow with the registry
PROBE_BATCH = 1_000_000


def _read_states(con: duckdb.DuckDBPyConnection, csvs: list[str]) -> None:
    """One table ``states``: every readable row (kept columns), ranked per 法人番号 (1 = latest state)."""
    files = "[" + ", ".join(literal(p) for p in csvs) + "]"
    try:
        con.execute(f"""
            CREATE TABLE states AS
            SELECT {", ".join(_KEPT)}, filename AS source_file,
                   row_number() OVER (PARTITION BY corporateNumber
                       ORDER BY (latest = '1') DESC, updateDate DESC NULLS LAST, changeDate DESC NULLS LAST,
                                try_cast(sequenceNumber AS BIGINT) DESC NULLS LAST) AS state_rank
            FROM read_csv({files}, header = false, delim = ',', quote = '"', escape = '"', columns = {_COLS},
                          store_rejects = true, filename = true, parallel = true, null_padding = false,
                          strict_mode = true)
        """)
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0]
        raise InputError(files, f"cannot be read as the 法人番号 download ({msg})",
                         fix="download the Unicode (UTF-8) edition of the CSV and pass it unchanged") from exc


def _rejects(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Unreadable rows (DuckDB's rejects) and rows whose 法人番号 is not 13 digits."""
    parts = []
    try:
        parts.append(query(con, """
            SELECT s.file_path AS source_file, e.line::BIGINT AS line, e.error_type::VARCHAR AS reason,
                   left(coalesce(e.csv_line, ''), 200) AS raw
            FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id)"""))
    except duckdb.Error:
        pass
    parts.append(query(con, f"""
        SELECT source_file, NULL::BIGINT AS line, 'corporateNumber is not 13 digits' AS reason,
               left(concat_ws(',', sequenceNumber, corporateNumber, process, name), 200) AS raw
        FROM states WHERE NOT coalesce({_VALID}, false)"""))
    return pl.concat([p.cast({"line": pl.Int64}) for p in parts if p.height]
                     or [pl.DataFrame(schema={"source_file": pl.Utf8, "line": pl.Int64, "reason": pl.Utf8,
                                              "raw": pl.Utf8})]).unique(maintain_order=True)


_STATUS = f"""CASE WHEN coalesce(successorCorporateNumber, '') <> '' OR process = '71'
                   OR closeCause = '{CLOSE_CAUSE_MERGER}' THEN 'absorbed'
              WHEN coalesce(closeDate, '') <> '' OR process = '21' THEN 'closed' ELSE 'active' END"""


def _build(con: duckdb.DuckDBPyConnection, out: Path, pr: ProbeRules) -> dict[str, int]:
    con.execute(f"""COPY (
        SELECT corporateNumber AS corporate_number, name AS official_name, kind, prefectureName AS prefecture,
               cityName AS city, streetNumber AS street, postCode AS post_code, process, updateDate AS update_date,
               changeDate AS change_date, closeDate AS close_date, closeCause AS close_cause,
               nullif(successorCorporateNumber, '') AS successor_corporate_number, furigana, enName AS en_name,
               {_STATUS} AS registry_status
        FROM states WHERE state_rank = 1 AND {_VALID}
    ) TO '{out / "corporations.parquet"}' (FORMAT parquet)""")
    con.execute(f"""COPY (
        SELECT DISTINCT corporateNumber AS corporate_number, prefectureName AS prefecture,
               nullif(postCode, '') AS post_code FROM states WHERE {_VALID}
    ) TO '{out / "places.parquet"}' (FORMAT parquet)""")
    # current, furigana and English names; former names unless the corporation still has that name
    reader = con.sql(f"""
        WITH cur AS (SELECT corporateNumber, name FROM states WHERE state_rank = 1 AND {_VALID})
        SELECT corporateNumber AS corporate_number, 'current' AS name_type, name AS value FROM cur
        UNION ALL SELECT DISTINCT s.corporateNumber, 'former', s.name FROM states s
            JOIN cur c ON c.corporateNumber = s.corporateNumber AND c.name IS DISTINCT FROM s.name
            WHERE s.state_rank > 1
        UNION ALL SELECT corporateNumber, 'furigana', furigana FROM states WHERE state_rank = 1 AND {_VALID}
            AND coalesce(furigana, '') <> ''
        UNION ALL SELECT corporateNumber, 'english', enName FROM states WHERE state_rank = 1 AND {_VALID}
            AND coalesce(enName, '') <> ''
    """).to_arrow_reader(PROBE_BATCH)
    (out / "names").mkdir()
    n_names = 0
    for i, batch in enumerate(reader):
        names = pl.from_arrow(batch)
        assert isinstance(names, pl.DataFrame)
        probed = probe_table(names.filter(pl.col("value").str.len_bytes() > 0), pr)
        probed.write_parquet(out / "names" / f"part-{i:04d}.parquet")
        n_names += probed.height
    rows = query(con, "SELECT count(*) AS n FROM states").item()
    n_corp = query(con, f"SELECT count(*) AS n FROM states WHERE state_rank = 1 AND {_VALID}").item()
    return {"rows": int(rows), "corporations": int(n_corp), "names": n_names}


def probe_table(names: pl.DataFrame, pr: ProbeRules) -> pl.DataFrame:
    """(corporate_number, name_type, value) -> + probe_kind, probe: one row per name and probe."""
    is_name = pl.col("name_type").is_in(["current", "former"])
    value = pl.col("value")
    parts = [  # a furigana is probed by its reading only: a kana record name has a romaji key too
        names.filter(is_name).with_columns(pl.lit("name").alias("probe_kind"), name_probe(value, pr).alias("probe")),
        names.filter(pl.col("name_type") == "furigana").with_columns(
            pl.lit("reading").alias("probe_kind"), reading_probe(value, pr).alias("probe")),
        names.filter(pl.col("name_type") == "english").with_columns(
            pl.lit("latin").alias("probe_kind"), latin_probe(value, pr).alias("probe")),
    ]
    return pl.concat(parts).drop_nulls("probe")


def import_registry(source: Path, cache: Path | None = None, rules: Rules | None = None) -> Registry:
    """Read ``source`` and write its cache (default location: ``default_cache``); returns it."""
    started = time.perf_counter()
    files = source_files(source)
    target = cache or cache_home() / "registry" / fingerprint(files)
    pr = (rules or load_rules(None)).view(probe_rules)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=target.parent))
    try:
        con = duckdb.connect()
        con.execute(f"SET temp_directory = '{staging / 'spill'}'")
        con.execute("SET memory_limit = '1GB'")
        con.execute("SET preserve_insertion_order = false")
        csvs = _expand(files, staging)
        _read_states(con, csvs)
        rejects = _rejects(con)
        counts = _build(con, staging, pr)
        total = counts["rows"] + rejects.filter(pl.col("line").is_not_null()).height
        if counts["corporations"] == 0 or rejects.height > MAX_REJECT_SHARE * max(total, 1):
            first: dict[str, Any] = rejects.row(0, named=True) if rejects.height else {
                "source_file": str(source), "line": None, "reason": "no rows"}
            raise InputError(str(first["source_file"]), f"{rejects.height} of {total} rows are not in the 法人番号 "
                             f"layout (30 columns, no header; 13-digit corporateNumber second): {first['reason']}",
                             row=first["line"],
                             fix="download the 全件データ or 差分データ, Unicode edition, CSV, and pass it unchanged")
        rejects.write_parquet(staging / "rejects.parquet")
        con.close()
        manifest = {
            "format": CACHE_FORMAT, "probe_version": PROBE_VERSION, "abm_version": __version__,
            "source": str(source), "files": [str(f) for f in files], "fingerprint": fingerprint(files),
            "rejected_rows": rejects.height, **counts,
            "built_in_s": round(time.perf_counter() - started, 1),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for tmp in staging.glob("*.csv"):
            tmp.unlink()
        shutil.rmtree(staging / "spill", ignore_errors=True)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("registry %s: %d corporations, %d rows rejected, cached in %s", source, counts["corporations"],
             rejects.height, target)
    return Registry(target, manifest)
