"""Write a synthetic 法人番号 download of N rows (default 5 M, the size of the real 全件データ) and time
``abm registry import`` on it: wall time and peak memory (RSS of this process and DuckDB's threads).

    python -m bench.registry_scale --rows 5000000 --out /tmp/registry5m.csv

The file is not committed (about 1 GB); names are drawn from the fixture word lists, so that
distinct names, furigana and English names are about as many as in the real download.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import duckdb

from abm.registry.store import import_registry
from fixtures.synth import names as N


def _list(items: list[str]) -> str:
    return "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in items) + "]"


def write_file(rows: int, out: Path) -> None:
    heads = N.FAMILY + N.PLACE + N.ABSTRACT
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    h = (_list([x[0] for x in heads]), _list([x[1] for x in heads]), _list([x[2] for x in heads]))
    ind = (_list([x[0] for x in N.INDUSTRY]), _list([x[1] for x in N.INDUSTRY]), _list([x[3] for x in N.INDUSTRY]))
    prefs = _list([p[0] for p in N.PREFECTURES])
    con.execute(f"""
    COPY (
      WITH g AS (
        SELECT i, (1 + hash(i, 1) % len({h[0]}))::BIGINT AS a, (1 + hash(i, 2) % len({ind[0]}))::BIGINT AS b,
               (1 + hash(i, 3) % len({prefs}))::BIGINT AS p, (hash(i, 4) % 100)::BIGINT AS r, (hash(i, 5) % 1000)::BIGINT AS n
        FROM range({rows}) t(i))
      SELECT i + 1, lpad(CAST((1000000000000 + i * 7919) % 10000000000000 AS VARCHAR), 13, '0'), '01', '0',
             '2026-10-30', '2015-10-05',
             CASE WHEN r < 60 THEN '株式会社' ELSE '' END || {h[0]}[a] || {ind[0]}[b] ||
               CASE WHEN n < 700 THEN CAST(n AS VARCHAR) ELSE '' END || CASE WHEN r >= 60 THEN '有限会社' ELSE '' END,
             '', CASE WHEN r < 60 THEN '301' ELSE '302' END, {prefs}[p], '中央区', '1-2-3', '', '13', '101',
             lpad(CAST(hash(i, 6) % 10000000 AS VARCHAR), 7, '0'), '', '', '', '', '', '', '2015-10-05',
             '1', CASE WHEN r < 20 THEN {h[2]}[a] || ' ' || {ind[2]}[b] || ' Co., Ltd.' ELSE '' END, '', '', '',
             {h[1]}[a] || {ind[1]}[b], '0'
      FROM g
    ) TO '{out}' (FORMAT csv, HEADER false, QUOTE '"', FORCE_QUOTE *)""")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.registry_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--out", type=Path, required=True, help="the synthetic CSV to write (then import)")
    parser.add_argument("--cache", type=Path, default=None, help="cache directory (default: beside --out)")
    args = parser.parse_args(argv)
    if not args.out.exists():
        t = time.perf_counter()
        write_file(args.rows, args.out)
        print(f"wrote {args.rows} rows in {time.perf_counter() - t:.1f} s -> {args.out}")
    t = time.perf_counter()
    reg = import_registry(args.out, args.cache or args.out.with_suffix(".cache"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"imported in {time.perf_counter() - t:.1f} s, peak RSS {peak:.0f} MiB: {reg.manifest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
