"""Bulk activities after resolution: each takes its MA lead's account and person (a DuckDB join on
``account_ref``), and the later stages get from DuckDB only what they read:

- the touches of the collision and gap windows, as rows (``window_touches``);
- per person, what ``persons.parquet`` counts (``known``: known_through, known_since, last_seen_on,
  n_records); per account, the records and kinds of ``accounts.parquet`` (``adjust_accounts``);
- the committee graph's ``knows`` counts and counterpart departments (``graph_parts``);
- the records about given persons, for a hidden key person's evidence (``about``);
- the counts of run.json.

``records.parquet`` and ``touches.parquet`` (and their copies in ``abm.duckdb`` and ``csv/``) get
the bulk rows from DuckDB (``export``), sorted as the ordinary writer sorts them. Each function
means what the ordinary stage means for the same rows (``abm.detect.touches``, ``abm.detect.current``,
``abm.graph``, ``abm.detect.gaps``, ``abm.tables``).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from abm.activities.bulk import MEMORY_LIMIT, ActivityStore
from abm.activities.sorted_copy import copy_sorted
from abm.db import literal
from abm.detect.policy import Policy
from abm.detect.touches import TOUCH_SCHEMA
from abm.export import FORMULA_PREFIXES

log = logging.getLogger(__name__)

_TOUCHES = """
    SELECT account_id, person_id, counterpart_department, internal_department, record_date AS touched_on,
           record_key, kind, owner_name, NULL::VARCHAR AS product, NULL::VARCHAR AS stage, NULL::DOUBLE AS amount,
           false AS is_open_opportunity, 'record_date' AS date_source
    FROM racts WHERE coalesce(makes_touch, true) AND record_date IS NOT NULL AND record_date <= DATE '{as_of}'"""


def latest_touch(store: ActivityStore) -> date | None:
    """The latest date of a bulk activity that makes a touch (for the default as-of date)."""
    value = store.con.execute("SELECT max(record_date) FROM acts WHERE coalesce(makes_touch, true)").fetchall()[0]
    return value[0] if value else None


def attach(store: ActivityStore, resolved: pl.DataFrame, as_of: date) -> None:
    """Each bulk activity with its lead's account, person and department (``resolved``: every record
    after resolution, departments and detachment), and the view of its touches as of ``as_of``."""
    # a view, not a table: writing every activity into a DuckDB table again cost more than the
    # handful of later queries that each join the chunk files with the leads' 'refs' (Arrow, kept alive)
    refs = resolved.select("record_key", "account_id", "person_id", "department").to_arrow()
    store.keep_alive.append(refs)
    store.con.register("refs", refs)
    store.con.execute("""CREATE OR REPLACE VIEW racts AS
        SELECT a.*, r.account_id, r.person_id,
               CASE WHEN a.account_ref IS NOT NULL THEN coalesce(r.department, a.department) ELSE a.department END
                   AS counterpart_department
        FROM acts a LEFT JOIN refs r ON r.record_key = a.account_ref""").fetchall()
    store.con.execute(f"CREATE OR REPLACE VIEW atouches AS {_TOUCHES.format(as_of=as_of.isoformat())}").fetchall()
    touch = f"coalesce(makes_touch, true) AND record_date IS NOT NULL AND record_date <= DATE '{as_of.isoformat()}'"
    row = store.con.execute(f"""SELECT count(*), count(*) FILTER (WHERE {touch}),
               count(*) FILTER (WHERE account_id IS NULL), count(*) FILTER (WHERE NOT coalesce(makes_touch, true))
        FROM racts""").fetchall()[0]
    store.facts = dict(zip(("records", "touches", "without_lead", "without_touch_owner"),
                           (int(v) for v in row), strict=True))


def window_touches(store: ActivityStore, policy: Policy, as_of: date) -> pl.DataFrame:
    """The bulk touches the collision and gap windows can read (the longest window, inclusive)."""
    days = max(policy.collision_window_days, policy.engagement_window_days, policy.holder_window_days, 0)
    since = (as_of - timedelta(days=days)).isoformat()
    df = store.con.sql(f"SELECT * FROM atouches WHERE touched_on >= DATE '{since}'").pl()
    return df.cast(TOUCH_SCHEMA)  # type: ignore[arg-type]


def with_window(touches: pl.DataFrame, store: ActivityStore | None, policy: Policy, as_of: date) -> pl.DataFrame:
    """``touches`` plus the bulk touches of the windows (``touches`` itself without a store)."""
    return touches if store is None else pl.concat([touches, window_touches(store, policy, as_of)])


def known(store: ActivityStore) -> pl.DataFrame:
    """Per person: the bulk activities' part of persons.parquet's known_through … n_records."""
    return store.con.sql("""
        SELECT person_id,
               coalesce(list_sort(list_distinct(list(internal_department)
                   FILTER (WHERE coalesce(makes_touch, true) AND internal_department IS NOT NULL))), [])
                   AS known_through,
               min(record_date) AS known_since, max(record_date) AS last_seen_on, count(*) AS n_records
        FROM racts WHERE person_id IS NOT NULL GROUP BY person_id""").pl().cast(
        {"known_through": pl.List(pl.String), "known_since": pl.Date, "last_seen_on": pl.Date, "n_records": pl.Int64})


def graph_parts(store: ActivityStore) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(account_id, department) of the bulk touches' counterparts, and their ``knows`` counts
    (account_id, internal_department, person_id, n, f, l)."""
    depts = store.con.sql("""SELECT DISTINCT account_id, counterpart_department AS department FROM atouches
        WHERE account_id IS NOT NULL AND counterpart_department IS NOT NULL""").pl()
    knows = store.con.sql("""SELECT account_id, internal_department, person_id, count(*) AS n,
               min(touched_on) AS f, max(touched_on) AS l FROM atouches
        WHERE person_id IS NOT NULL AND internal_department IS NOT NULL AND account_id IS NOT NULL
        GROUP BY ALL""").pl()
    return depts.cast(pl.String), knows.cast({"n": pl.UInt32, "f": pl.Date, "l": pl.Date})


def about(store: ActivityStore, person_ids: list[str]) -> pl.DataFrame:
    """counterpart_person_id, record_key, _owner of the bulk activities about ``person_ids``."""
    store.con.register("wanted", pl.DataFrame({"p": person_ids}, schema={"p": pl.String}).to_arrow())
    df = store.con.sql("""SELECT person_id AS counterpart_person_id, record_key,
               CASE WHEN coalesce(makes_touch, true) THEN owner_name END AS _owner
        FROM racts WHERE person_id IN (SELECT p FROM wanted)""").pl()
    store.con.unregister("wanted")
    return df.cast(pl.String)


def adjust_accounts(accounts: pl.DataFrame, store: ActivityStore | None) -> pl.DataFrame:
    """accounts.parquet's n_records and kinds with the bulk activities of each account."""
    if store is None:
        return accounts
    per = store.con.sql("SELECT account_id, count(*) AS _n FROM racts WHERE account_id IS NOT NULL "
                            "GROUP BY account_id").pl().cast({"account_id": pl.String})
    joined = accounts.join(per, on="account_id", how="left", maintain_order="left")
    has = pl.col("_n").fill_null(0) > 0
    return joined.with_columns(
        (pl.col("n_records") + pl.col("_n").fill_null(0)).cast(accounts.schema["n_records"]).alias("n_records"),
        pl.when(has).then(pl.concat_list("kinds", pl.lit(["ma_activities"])).list.unique().list.sort())
        .otherwise(pl.col("kinds")).alias("kinds"),
    ).drop("_n")


def export(store: ActivityStore, stage: Path, csv: bool = True) -> None:
    """Add the bulk rows to records and touches: Parquet, ``abm.duckdb`` and ``csv/`` (already
    written with the other rows), sorted as the ordinary writer sorts them."""
    bulk = {"records": "SELECT *, NULL AS account_score, NULL AS person_score FROM racts",
            "touches": "SELECT * FROM atouches"}
    order = {"records": "t.record_key",
             "touches": "t.account_id NULLS LAST, t.touched_on NULLS LAST, t.record_key, t.date_source"}
    lead = {"records": "t.record_key", "touches": "t.account_id"}
    con = store.con
    # sorted once, into the Parquet file; the CSV and the database copy read that file in its order
    # (insertion order preserved for those reads only: the sort itself spills more freely without it)
    for name, sql in bulk.items():
        con.execute("SET preserve_insertion_order = false").fetchall()
        path = stage / f"{name}.parquet"
        cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(path)})").fetchall()
        part = ", ".join(f"CAST(b.\"{c}\" AS {t}) AS \"{c}\"" for c, t, *_ in cols)
        source = f"SELECT * FROM read_parquet({literal(path)}) UNION ALL SELECT {part} FROM ({sql}) b"
        tmp = stage / f".{name}.bulk.parquet"
        t0 = time.perf_counter()
        text_lead = dict((c, t) for c, t, *_ in cols).get(lead[name].removeprefix("t.")) == "VARCHAR"
        ranges = copy_sorted(con, source, lead[name] if text_lead else None, order[name], tmp, MEMORY_LIMIT)
        log.info("bulk activities: %s.parquet sorted and written in %.1fs (%d range(s))", name,
                 time.perf_counter() - t0, ranges)
        con.execute("SET preserve_insertion_order = true").fetchall()
        if csv and (stage / "csv").is_dir():
            t0 = time.perf_counter()
            _csv(store, tmp, [(c, t) for c, t, *_ in cols], stage / "csv" / f"{name}.csv")
            log.info("bulk activities: csv/%s.csv written in %.1fs", name, time.perf_counter() - t0)
        os.replace(tmp, path)
    con.execute(f"ATTACH {literal(stage / 'abm.duckdb')} AS out").fetchall()
    try:
        for name in bulk:
            t0 = time.perf_counter()
            con.execute(f"CREATE OR REPLACE TABLE out.\"{name}\" AS SELECT * FROM "
                        f"read_parquet({literal(stage / (name + '.parquet'))})").fetchall()
            log.info("bulk activities: abm.duckdb %s written in %.1fs", name, time.perf_counter() - t0)
    finally:
        con.execute("DETACH out").fetchall()


def _formula_start(column: str) -> str:
    """``abm.export._formula_start`` in SQL: every prefix, the single characters by one look-up."""
    single = ", ".join(literal(p) for p in FORMULA_PREFIXES if len(p) == 1)
    longer = [f"starts_with(t.\"{column}\", {literal(p)})" for p in FORMULA_PREFIXES if len(p) != 1]
    return " OR ".join([f"left(t.\"{column}\", 1) IN ({single})", *longer])


def _csv(store: ActivityStore, parquet: Path, cols: list[tuple[str, str]], target: Path) -> None:
    """``abm.export.write_csv`` in DuckDB: UTF-8 with BOM, text cells that would run as formulas quoted;
    rows in the order of ``parquet`` (the connection preserves insertion order)."""
    exprs = [f"CASE WHEN {_formula_start(c)} THEN '''' || t.\"{c}\" ELSE t.\"{c}\" END AS \"{c}\""
             if t == "VARCHAR" else f"t.\"{c}\"" for c, t in cols]
    body = target.with_name(f".{target.name}.body")
    # one thread: DuckDB's parallel CSV writer put blocks of rows out of order (measured at 2 M rows,
    # insertion order preserved or not); the Parquet and database copies keep their order
    threads = store.con.execute("SELECT current_setting('threads')").fetchone()[0]  # type: ignore[index]
    store.con.execute("SET threads = 1").fetchall()
    try:
        store.con.execute(f"COPY (SELECT {', '.join(exprs)} FROM read_parquet({literal(parquet)}) t) "
                          f"TO {literal(body)} (FORMAT csv, HEADER true)").fetchall()
    finally:
        store.con.execute(f"SET threads = {int(threads)}").fetchall()
    with target.open("wb") as out, body.open("rb") as src:
        out.write("\ufeff".encode())
        shutil.copyfileobj(src, out, 1 << 20)
    body.unlink()
