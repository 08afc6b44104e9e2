"""A sorted ``COPY … TO parquet`` that stays inside DuckDB's memory limit, whatever the row count.

DuckDB spills a sort to disk, but a sort of tens of millions of wide rows (the records table beside
20 M bulk activities) still ran out of memory under ``ABM_DUCKDB_MEMORY_LIMIT`` (measured: 20 M rows
at 1 GB, 2 M rows at 250 MB). So the rows are cut into ranges of the sort's leading column — range
boundaries from a reservoir sample, ties never split, nulls last as ``ORDER BY`` puts them — each
range is sorted on its own into a part file, and the parts are concatenated in order. The result is
the same file a single ``ORDER BY`` writes. The number of ranges follows the memory limit
(``ABM_BULK_SORT_ROWS`` rows per range overrides it); a range that still runs out of memory makes
the copy start again with four times as many ranges.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import duckdb

from abm.db import literal

log = logging.getLogger(__name__)

#: bytes of memory limit per row of a range (wide records rows, with the sort's own overhead)
BYTES_PER_ROW = 1_000
SAMPLE_ROWS = 100_000
MAX_TRIES = 4
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_bytes(limit: str) -> int | None:
    """``'1GB'`` → 10⁹ (DuckDB's units); None when DuckDB's own wording is not recognised."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", limit)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def rows_per_range(limit: str) -> int:
    """``ABM_BULK_SORT_ROWS``, else what the memory limit holds (at least 50,000)."""
    raw = os.environ.get("ABM_BULK_SORT_ROWS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    limit_bytes = memory_bytes(limit)
    return max(50_000, (limit_bytes or 10**9) // BYTES_PER_ROW)


def _bounds(con: duckdb.DuckDBPyConnection, source: str, lead: str, ranges: int) -> list[str]:
    """At most ``ranges - 1`` distinct boundaries of ``lead``, from a repeatable reservoir sample."""
    sample = con.execute(f"SELECT {lead} AS k FROM ({source}) t "
                         f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)").fetchall()
    keys = sorted(k for (k,) in sample if k is not None)  # code-point order = DuckDB's UTF-8 byte order
    picked = {keys[len(keys) * i // ranges] for i in range(1, ranges)} if keys else set()
    return sorted(picked)


def copy_sorted(con: duckdb.DuckDBPyConnection, source: str, lead: str | None, order: str, target: Path,
                limit: str) -> int:
    """``COPY (SELECT * FROM (source) t ORDER BY order) TO target`` (Parquet, zstd), in ranges of
    ``lead`` (a VARCHAR expression over ``t``, the first key of ``order``; None: one sort). Returns
    the ranges used."""
    rows = con.execute(f"SELECT count(*) FROM ({source}) t").fetchone()[0]  # type: ignore[index]
    ranges = max(1, -(-rows // rows_per_range(limit))) if lead is not None else 1
    for attempt in range(MAX_TRIES):
        try:
            return _copy(con, source, lead, order, target, ranges)
        except duckdb.OutOfMemoryException:
            if lead is None or attempt == MAX_TRIES - 1 or ranges >= rows:
                raise
            log.warning("sorted copy of %s: out of DuckDB memory with %d range(s); again with %d",
                        target.name, ranges, ranges * 4)
            ranges *= 4
    raise AssertionError("unreachable")


def _copy(con: duckdb.DuckDBPyConnection, source: str, lead: str | None, order: str, target: Path,
          ranges: int) -> int:
    con.execute("SET preserve_insertion_order = false").fetchall()  # a sort spills more freely
    bounds = _bounds(con, source, lead, ranges) if lead is not None and ranges > 1 else []
    if not bounds:
        con.execute(f"COPY (SELECT * FROM ({source}) t ORDER BY {order}) TO {literal(target)} "
                    "(FORMAT parquet, COMPRESSION zstd)").fetchall()
        return 1
    # [-, b0), [b0, b1), …, [b_last, -), then the nulls (NULL fails every comparison)
    below = [f"{lead} < {literal(b)}" for b in bounds]
    from_ = [f"{lead} >= {literal(b)}" for b in bounds]
    conditions = [below[0], *(f"{lo} AND {hi}" for lo, hi in zip(from_, below[1:], strict=False)),
                  from_[-1], f"{lead} IS NULL"]
    parts = [target.with_name(f".{target.name}.part{i:04d}") for i in range(len(conditions))]
    try:
        for part, condition in zip(parts, conditions, strict=True):
            con.execute(f"COPY (SELECT * FROM ({source}) t WHERE {condition} ORDER BY {order}) "
                        f"TO {literal(part)} (FORMAT parquet, COMPRESSION uncompressed)").fetchall()
        # the parts in list order, each in its own order: DuckDB keeps both with insertion order on
        con.execute("SET preserve_insertion_order = true").fetchall()
        files = ", ".join(literal(p) for p in parts)
        con.execute(f"COPY (SELECT * FROM read_parquet([{files}])) TO {literal(target)} "
                    "(FORMAT parquet, COMPRESSION zstd)").fetchall()
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    return len(conditions)
