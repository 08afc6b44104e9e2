"""Night to night: a stable ``flag_id`` for every collision and gap, its ``status`` and ``first_seen_on``,
and ``flag_history.parquet``.

A flag's ID is derived from what it is about, never from the run: its type (collision level or gap
type), the account and — per type — the counterpart department and/or person:

| type | identified by |
|---|---|
| person-level collision | account_id, person_id (the person's department may change; the flag does not) |
| department-level collision | account_id, counterpart_department |
| account-level collision | account_id |
| gap (any type) | account_id, counterpart_department, person_id |

``flag_id`` = ``F`` + the first 16 hex digits of the MD5 of those fields (joined with U+001F; a missing
field is U+0000). The previous run is read from OUT_DIR (its ``collisions.parquet`` and
``key_person_gaps.parquet``): a flag it reported is ``ongoing`` and keeps its ``first_seen_on``;
any other is ``new`` with ``first_seen_on`` = the as-of date; a previous flag that is gone is
``resolved`` in ``flag_history`` (only in the run where it disappears).

Accounts and persons can merge from one night to the next (new records link two clusters): before
matching, a previous flag's account and person IDs follow this run's ``id_history`` ``merged_into``
rows, so the flag stays ``ongoing`` (with its first_seen_on) under its new ID; ``flag_history``
names the old ID in ``previous_flag_id``. A split ID is not followed (its flags resolve, new ones start).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from abm import memory_db
from abm.db import query
from abm.history import iso_utc_text_to_timestamp

log = logging.getLogger(__name__)

COLLISION_KEYS: dict[str, tuple[str, ...]] = {
    "person": ("account_id", "person_id"),
    "department": ("account_id", "counterpart_department"),
    "account": ("account_id",),
}
GAP_KEYS = ("account_id", "counterpart_department", "person_id")
_FIELDS = ("account_id", "counterpart_department", "person_id")
_SEP, _NULL = "\x1f", "\x00"

HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "flag_id": pl.String(), "flag_type": pl.String(), "account_id": pl.String(), "status": pl.String(),
    "as_of": pl.Date(), "run_at": pl.Datetime("us"), "counterpart_department": pl.String(),
    "person_id": pl.String(), "severity": pl.String(), "first_seen_on": pl.Date(),
    "previous_flag_id": pl.String(),
}


@dataclass(frozen=True)
class Flags:
    collisions: pl.DataFrame
    gaps: pl.DataFrame
    history: pl.DataFrame          # previous history + this run's rows
    counts: dict[str, int]         # new / ongoing / resolved of this run


def _flag_type(df: pl.DataFrame) -> pl.Expr:
    return pl.col("level") if "level" in df.columns else pl.col("gap_type")


def with_flag_ids(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` (collisions: ``level``; gaps: ``gap_type``) with ``flag_type`` and ``flag_id`` columns."""
    ftype = _flag_type(df)
    is_collision = "level" in df.columns

    def part(field: str) -> pl.Expr:
        value = pl.col(field).cast(pl.String).fill_null(_NULL)
        if not is_collision:
            return value
        used = [lvl for lvl, keys in COLLISION_KEYS.items() if field in keys]
        return pl.when(ftype.is_in(used)).then(value).otherwise(pl.lit(_NULL))

    keyed = df.with_columns(ftype.alias("flag_type"),
                            pl.concat_str([ftype.fill_null(_NULL), *[part(f) for f in _FIELDS]],
                                          separator=_SEP).alias("_flag_key"))
    keys = keyed.select("_flag_key").unique()
    con = memory_db.connect()
    try:
        con.register("flag_keys", keys.to_arrow())
        hashed = query(con, "SELECT _flag_key, 'F' || substr(md5(_flag_key), 1, 16) AS flag_id FROM flag_keys")
    finally:
        con.close()
    if hashed.height == 0:
        hashed = pl.DataFrame(schema={"_flag_key": pl.String, "flag_id": pl.String})
    return keyed.join(hashed, on="_flag_key", how="left", maintain_order="left").drop("_flag_key")


def _previous(path: Path) -> pl.DataFrame | None:
    """A previous run's flag table with flag_id and first_seen_on (None: no usable previous run)."""
    if not path.exists():
        return None
    try:
        prev = pl.read_parquet(path)
    except Exception as exc:  # a damaged previous output must not stop tonight's run
        log.warning("previous %s unreadable (%s): every flag counts as new", path.name, type(exc).__name__)
        return None
    if "flag_id" not in prev.columns:
        prev = with_flag_ids(prev)
    if "first_seen_on" not in prev.columns:   # written before v1.2: the earliest date we can vouch for
        fallback = pl.col("window_end") if "window_end" in prev.columns else pl.lit(None, dtype=pl.Date)
        prev = prev.with_columns(fallback.cast(pl.Date).alias("first_seen_on"))
    for c in ("counterpart_department", "person_id", "severity"):
        if c not in prev.columns:
            prev = prev.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    kind = "level" if "level" in prev.columns else "gap_type"
    return prev.select("flag_id", kind, "account_id", "counterpart_department", "person_id", "severity",
                       "first_seen_on").unique("flag_id")


def _merged_into(history: pl.DataFrame | None, run_at: datetime, kind: str) -> pl.DataFrame:
    """old ID -> new ID of this run's ``merged_into`` rows of ``kind`` (account / person)."""
    schema = {"_old": pl.String, "_new": pl.String}
    if history is None or history.height == 0:
        return pl.DataFrame(schema=schema)
    rows = history.filter((pl.col("change") == "merged_into") & (pl.col("kind") == kind)
                          & (pl.col("run_at") == run_at))
    return rows.select(pl.col("id").alias("_old"), pl.col("new_id").alias("_new")).unique("_old")


def _follow_merges(previous: pl.DataFrame, history: pl.DataFrame | None, run_at: datetime) -> pl.DataFrame:
    """The previous flags under the IDs their account / person carry tonight (``flag_id`` re-derived,
    the old one kept as ``previous_flag_id``)."""
    out = previous.rename({"flag_id": "previous_flag_id"})
    for column, kind in (("account_id", "account"), ("person_id", "person")):
        moves = _merged_into(history, run_at, kind)
        out = (out.join(moves, left_on=column, right_on="_old", how="left", maintain_order="left")
               .with_columns(pl.coalesce("_new", column).alias(column)).drop("_new"))
    return with_flag_ids(out).drop("flag_type").unique("flag_id", keep="first")


def _with_status(current: pl.DataFrame, previous: pl.DataFrame | None, as_of: date) -> pl.DataFrame:
    flagged = with_flag_ids(current)
    if previous is None:
        seen = pl.DataFrame(schema={"flag_id": pl.String, "_prev_first": pl.Date, "previous_flag_id": pl.String})
    else:
        seen = previous.select("flag_id", pl.col("first_seen_on").alias("_prev_first"), "previous_flag_id")
    out = flagged.join(seen.with_columns(pl.lit(True).alias("_seen")), on="flag_id", how="left",
                       maintain_order="left")
    return out.with_columns(
        pl.when(pl.col("_seen").fill_null(False)).then(pl.lit("ongoing")).otherwise(pl.lit("new")).alias("status"),
        pl.coalesce(pl.col("_prev_first"), pl.lit(as_of)).cast(pl.Date).alias("first_seen_on"),
        pl.when(pl.col("previous_flag_id") != pl.col("flag_id")).then(pl.col("previous_flag_id"))
        .alias("previous_flag_id"),
    ).drop("_seen", "_prev_first", "flag_type")


def _history_rows(df: pl.DataFrame, as_of: date, run_at: datetime) -> pl.DataFrame:
    ftype = pl.col("flag_type") if "flag_type" in df.columns else _flag_type(df)
    return df.select(
        "flag_id", ftype.alias("flag_type"), "account_id", "status",
        pl.lit(as_of).alias("as_of"), pl.lit(run_at).cast(pl.Datetime("us")).alias("run_at"),
        "counterpart_department", "person_id",
        (pl.col("severity") if "severity" in df.columns else pl.lit(None, dtype=pl.String)).alias("severity"),
        "first_seen_on",
        (pl.col("previous_flag_id") if "previous_flag_id" in df.columns
         else pl.lit(None, dtype=pl.String)).alias("previous_flag_id"),
    )


def _previous_history(previous_out: Path) -> pl.DataFrame | None:
    path = previous_out / "flag_history.parquet"
    if not path.exists():
        return None
    try:
        prev = pl.read_parquet(path)
    except Exception as exc:
        log.warning("previous flag_history.parquet unreadable (%s): history restarts", type(exc).__name__)
        return None
    cols = [pl.col(c) if c in prev.columns else pl.lit(None).alias(c) for c in HISTORY_SCHEMA]
    return prev.select(cols).with_columns(  # run_at was once ISO text
        iso_utc_text_to_timestamp("run_at")
        if prev.schema.get("run_at") == pl.String else pl.col("run_at"))


def track_flags(previous_out: Path, collisions: pl.DataFrame, gaps: pl.DataFrame, as_of: date,
                run_at: datetime, id_history: pl.DataFrame | None = None) -> Flags:
    """Collisions and gaps with flag_id, status, first_seen_on; flag_history with this run's rows.
    ``id_history`` (abm.history, this run's rows stamped ``run_at``) lets flags follow merged IDs."""
    stamp = run_at.replace(tzinfo=None)  # naive UTC: DuckDB reads it as TIMESTAMP
    prev_c, prev_g = (None if p is None else _follow_merges(p, id_history, stamp)
                      for p in (_previous(previous_out / "collisions.parquet"),
                                _previous(previous_out / "key_person_gaps.parquet")))
    col_h, gap_h = _with_status(collisions, prev_c, as_of), _with_status(gaps, prev_g, as_of)
    col, gap = col_h.drop("previous_flag_id"), gap_h.drop("previous_flag_id")
    rows = [_history_rows(col_h, as_of, stamp), _history_rows(gap_h, as_of, stamp)]
    for prev, now in ((prev_c, col), (prev_g, gap)):
        if prev is not None:
            gone = (prev.join(now.select("flag_id"), on="flag_id", how="anti")
                    .with_columns(pl.col("previous_flag_id").alias("flag_id"), pl.lit("resolved").alias("status"),
                                  pl.lit(None, dtype=pl.String).alias("previous_flag_id")))
            rows.append(_history_rows(gone, as_of, stamp))
    this_run = pl.concat([r.cast(HISTORY_SCHEMA) for r in rows])  # type: ignore[arg-type]
    counts = {s: int((this_run["status"] == s).sum()) for s in ("new", "ongoing", "resolved")}
    older = _previous_history(previous_out)
    history = this_run if older is None else pl.concat([older.cast(HISTORY_SCHEMA), this_run])  # type: ignore[arg-type]
    log.info("flags: %d new, %d ongoing, %d resolved", counts["new"], counts["ongoing"], counts["resolved"])
    return Flags(collisions=_first(col), gaps=_first(gap), history=history, counts=counts)


def _first(df: pl.DataFrame) -> pl.DataFrame:
    """flag_id first, status and first_seen_on after the level / type columns (contract order)."""
    rest = [c for c in df.columns if c not in ("flag_id", "status", "first_seen_on")]
    return df.select("flag_id", *rest, "status", "first_seen_on")
