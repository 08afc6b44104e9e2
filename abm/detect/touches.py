"""The touch table: one dated contact between one of OUR departments and a counterpart.

Reads the resolved records table (NORMALIZED_SCHEMA + account_id + person_id). Per the contract:

| kind | touched_on | internal department |
|---|---|---|
| cards | record_date (exchanged_on) | internal_department |
| crm_contacts | record_date (created_on), and last_activity_on | internal_department |
| crm_leads | record_date (created_on) | internal_department |
| crm_opportunities | record_date (created_on); an open one also on the as-of date | internal_department |
| ma_activities | record_date (activity_on) | internal_department (program_department) |

A touch's counterpart is the person the record is about and the department written on that record;
an opportunity's is its contact's (contact_ref), an activity's its MA lead's (account_ref).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from abm.contract import TOUCH_OWNER, TOUCH_VIA
from abm.tables import sort_rows, strictly_increasing

TOUCH_KINDS = tuple(TOUCH_OWNER)
#: Kinds whose counterpart is another record: kind -> the column holding that record's key.
REFERRING_KINDS = TOUCH_VIA

TOUCH_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(), "person_id": pl.String(), "counterpart_department": pl.String(),
    "internal_department": pl.String(), "touched_on": pl.Date(), "record_key": pl.String(),
    "kind": pl.String(), "owner_name": pl.String(), "product": pl.String(), "stage": pl.String(),
    "amount": pl.Float64(), "is_open_opportunity": pl.Boolean(), "date_source": pl.String(),
}


#: the record columns build_touches reads
_TOUCH_INPUTS = frozenset({
    "account_id", "person_id", "department", "internal_department", "record_date", "last_activity_on", "close_on",
    "record_key", "kind", "owner_name", "product", "stage", "amount", "is_closed", "makes_touch",
    *REFERRING_KINDS.values()})


def as_date(name: str) -> pl.Expr:
    """A date column that may arrive as an ISO string (the loader's form) or as a Date."""
    col = pl.col(name)
    return col.cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias(name)


def with_dates(records: pl.DataFrame) -> pl.DataFrame:
    cols = [c for c in ("record_date", "last_activity_on", "close_on") if c in records.columns]
    return records.with_columns(as_date(c) for c in cols if records.schema[c] != pl.Date)


def is_open_opportunity(as_of: date) -> pl.Expr:
    """Open on the as-of date: is_closed false (an unknown is_closed is not "false"), created by then."""
    return ((pl.col("kind") == "crm_opportunities")
            & pl.col("is_closed").not_().fill_null(False)
            & (pl.col("record_date").is_null() | (pl.col("record_date") <= as_of))).fill_null(False)


def counterparts(records: pl.DataFrame) -> pl.DataFrame:
    """record_key -> counterpart person and department (an opportunity's contact, an activity's lead)."""
    ref = pl.lit(None, dtype=pl.String)
    for kind, column in REFERRING_KINDS.items():
        ref = pl.when(pl.col("kind") == kind).then(pl.col(column)).otherwise(ref)
    targets = records.select(pl.col("record_key").alias("_ref"), pl.col("person_id").alias("_ref_person"),
                             pl.col("department").alias("_ref_department"))
    if not keys_once(records):   # each key once already (the loader's records): nothing to drop
        targets = targets.unique("_ref", keep="first")
    return (records.select("record_key", "person_id", "department", ref.alias("_ref"))
            .join(targets, on="_ref", how="left", maintain_order="left")   # row for row: see with_counterparts
            .select("record_key",
                    pl.coalesce("_ref_person", "person_id").alias("counterpart_person_id"),
                    pl.when(pl.col("_ref").is_not_null())
                    .then(pl.coalesce("_ref_department", "department"))
                    .otherwise(pl.col("department")).alias("counterpart_department")))


def keys_once(records: pl.DataFrame) -> bool:
    """Every record_key present and distinct: true of the loader's records (an id repeated within a kind
    is quarantined), and what lets a touch be matched to its own record without a hash join."""
    keys = records.get_column("record_key")
    if keys.null_count():
        return False
    # the resolved records come sorted by key: neighbours tell, without hashing every key
    return strictly_increasing(keys) or keys.n_unique() == keys.len()


def with_counterparts(recs: pl.DataFrame, about: pl.DataFrame, once: bool | None = None) -> pl.DataFrame:
    """``recs`` left-joined with ``about`` (``counterparts``) on record_key. When ``about`` holds the same
    keys in the same order, each once (it was computed from these rows: the pipeline's case), its
    columns are set beside ``recs``: the same rows as the join, without hashing every key (touches and
    persons both did, ≈ 0.1 s CPU each at 20 k records). ``once``: ``keys_once(recs)`` when the caller
    knows it already."""
    if (about.height == recs.height and about.get_column("record_key").equals(recs.get_column("record_key"))
            and (keys_once(recs) if once is None else once)):
        return recs.hstack(about.drop("record_key"))
    return recs.join(about, on="record_key", how="left")


def build_touches(records: pl.DataFrame, as_of: date, about: pl.DataFrame | None = None) -> pl.DataFrame:
    """touches.parquet: the contract's columns (… record_key, kind, owner_name = our person, null when
    unknown), then the opportunity's product, stage and amount, is_open_opportunity, date_source.
    ``about``: ``counterparts(records)`` when the caller has it (the pipeline computes it once for the
    touches, persons and gaps stages)."""
    # only the columns a touch reads: the records table is wide, and an MA activity log may be most of it
    recs = with_dates(records.select(c for c in records.columns if c in _TOUCH_INPUTS))
    once = keys_once(recs)
    recs = (with_counterparts(recs, counterparts(recs) if about is None else about, once)
            .filter(pl.col("kind").is_in(TOUCH_KINDS) & pl.col("makes_touch").fill_null(True))
            .with_columns(is_open_opportunity(as_of).alias("is_open_opportunity")))
    # one touch per record and day (a contact created and last active the same day touches once, the
    # first source's row kept): with each record once, only a later source's row on its record_date repeats
    later_day = (pl.col("touched_on") != pl.col("record_date")).fill_null(True) if once else pl.lit(True)
    sources = [
        recs.with_columns(pl.col("record_date").alias("touched_on"), pl.lit("record_date").alias("date_source")),
        recs.filter(pl.col("kind") == "crm_contacts").with_columns(
            pl.col("last_activity_on").alias("touched_on"), pl.lit("last_activity_on").alias("date_source"))
        .filter(later_day),
        recs.filter(pl.col("is_open_opportunity")).with_columns(
            pl.lit(as_of).alias("touched_on"), pl.lit("open_on_as_of").alias("date_source")).filter(later_day),
    ]
    touches = (pl.concat([s.select(
        "account_id", pl.col("counterpart_person_id").alias("person_id"), "counterpart_department",
        "internal_department", pl.col("touched_on").cast(pl.Date), "record_key", "kind", "owner_name", "product",
        "stage", "amount", "is_open_opportunity", "date_source") for s in sources])
        .filter(pl.col("touched_on").is_not_null() & (pl.col("touched_on") <= as_of)))
    if not once:   # a repeated record_key: the hash pass over (record_key, touched_on)
        touches = touches.unique(["record_key", "touched_on"], keep="first", maintain_order=True)
    # (record_key, touched_on) is unique here: no tie is left for date_source to break
    return sort_rows(touches, ["account_id", "touched_on", "record_key"], nulls_last=True).cast(TOUCH_SCHEMA)  # type: ignore[arg-type]
