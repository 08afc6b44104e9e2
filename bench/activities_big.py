"""MA activity logs at real size: N ``ma_activities`` rows (Parquet) beside a generated world.

The rows are made and written by DuckDB in one ``COPY … TO`` (out of core: memory_limit and a temp
directory), never held in Python: each row takes a lead of the world's MA lead export, a date in
the world's two years and the type, programme and programme department of one of the world's own
activities, all chosen by a hash of the row number (deterministic). One row in ``BAD_EVERY`` is
broken on purpose — no lead, or a date that is no date — so the run's quarantine and counts show
that large files lose nothing silently.

    python -m bench.activities_big WORLD_DIR --activities 20000000 --out DIR

DIR gets the world's files (symlinked) plus ``ma_activities_bulk.parquet``; ``abm run DIR`` reads
both activity files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

BAD_EVERY = 100_000
ROW_GROUP = 1_000_000


def write_activities(world: Path, n: int, target: Path, memory_limit: str = "1GB") -> None:
    """``n`` activity rows for the MA leads of ``world`` written to the Parquet file ``target``."""
    con = duckdb.connect()
    temp = target.parent / ".duckdb_tmp"
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{temp}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"CREATE TABLE leads AS SELECT row_number() OVER () - 1 AS i, lead_id FROM "
                f"read_csv('{world / 'ma_leads.csv'}', all_varchar = true) WHERE lead_id IS NOT NULL")
    con.execute(f"CREATE TABLE acts AS SELECT row_number() OVER () - 1 AS i, activity_type, program, "
                f"program_department FROM read_parquet('{world / 'ma_activities.parquet'}')")
    leads = con.execute("SELECT count(*) FROM leads").fetchone()[0]
    acts = con.execute("SELECT count(*) FROM acts").fetchone()[0]
    con.execute(f"""
        COPY (
          SELECT 'B' || lpad(r.range::VARCHAR, 9, '0') AS activity_id,
                 CASE WHEN r.range % {BAD_EVERY} = 1 THEN NULL ELSE l.lead_id END AS lead_id,
                 CASE WHEN r.range % {BAD_EVERY} = 2 THEN 'not a date'
                      ELSE strftime(DATE '2024-11-01' + CAST(hash(r.range, 'd') % 730 AS INTEGER)
                                    + INTERVAL (hash(r.range, 't') % 86400) SECOND, '%Y-%m-%d %H:%M:%S')
                 END AS activity_on,
                 a.activity_type, a.program, a.program_department
          FROM range({n}) r
          JOIN leads l ON l.i = hash(r.range, 'l') % {leads}
          JOIN acts a ON a.i = hash(r.range, 'a') % {acts}
        ) TO '{target}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP}, COMPRESSION zstd)""")
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("world", type=Path)
    ap.add_argument("--activities", type=int, default=20_000_000)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for f in sorted(args.world.iterdir()):
        link = args.out / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    start = time.perf_counter()
    write_activities(args.world, args.activities, args.out / "ma_activities_bulk.parquet")
    print(f"{args.activities} activities -> {args.out / 'ma_activities_bulk.parquet'} "
          f"in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
