"""persons.parquet: each resolved person's current department, title and rank, and who knows them.

Per the contract: a person's current department and rank are those of their latest dated record
(cards, contacts, leads, MA leads) that states one; a blank title (rank 0) states no rank. A person
is known through the internal departments of every record about them (an opportunity is about its
contact, an MA activity about its lead), at any date.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from abm.contract import ID_ANCHOR_ORDER, PERSON_KINDS
from abm.detect.touches import REFERRING_KINDS, counterparts, with_counterparts, with_dates
from abm.tables import sort_rows

#: Same-day tie-break between kinds (the curated CRM record first); then record_key.
KIND_ORDER = {k: i for i, k in enumerate(k for k in ID_ANCHOR_ORDER if k in PERSON_KINDS)}

PERSON_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.String(), "account_id": pl.String(), "name": pl.String(), "department": pl.String(),
    "title": pl.String(), "rank": pl.Int64(), "known_through": pl.List(pl.String()),
    "known_since": pl.Date(), "last_seen_on": pl.Date(), "n_records": pl.Int64(),
}


#: the record columns current_persons reads
_PERSON_INPUTS = frozenset({
    "record_key", "kind", "account_id", "person_id", "person_name", "department", "title", "rank",
    "internal_department", "makes_touch", "record_date", "last_activity_on", *REFERRING_KINDS.values()})


def _latest(value: str, when: pl.Expr) -> pl.Expr:
    """The value from the first (= latest, the frame is pre-sorted) record where ``when`` holds."""
    return pl.col(value).filter(when).first()


def current_persons(records: pl.DataFrame, as_of: date | None = None,
                    also_known: pl.DataFrame | None = None, *, about: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per person_id: person_id, account_id, name, department, title, rank, known_through, …

    Department, title and rank come from dated records only, and with ``as_of`` only from records
    dated on or before it (what was current on the as-of date). ``also_known``: the same per-person
    columns for records kept apart (bulk MA activities, ``abm.activities``), merged in. ``about``:
    ``counterparts(records)`` when the caller has it (computed once for touches, persons and gaps).
    """
    # only the columns read here: the records table is wide (≈ 60 columns), and it is joined below
    recs = with_dates(records.select(c for c in records.columns if c in _PERSON_INPUTS))
    about = (with_counterparts(recs, counterparts(recs) if about is None else about)
             .filter(pl.col("counterpart_person_id").is_not_null()))
    known = about.group_by("counterpart_person_id").agg(
        # makes_touch false: the record's owner is unknown, so it tells nothing about who knows them
        pl.col("internal_department").filter(pl.col("makes_touch").fill_null(True))
        .drop_nulls().unique().sort().alias("known_through"),
        pl.col("record_date").min().alias("known_since"),
        pl.max_horizontal("record_date", "last_activity_on").max().alias("last_seen_on"),
        pl.len().cast(pl.Int64).alias("n_records"),
    ).rename({"counterpart_person_id": "person_id"})
    if also_known is not None:
        known = pl.concat([known, also_known.select(known.columns).cast(known.schema)]).group_by("person_id").agg(
            pl.col("known_through").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique().sort(), pl.col("known_since").min(),
            pl.col("last_seen_on").max(), pl.col("n_records").sum())
    own = sort_rows(recs.filter(pl.col("kind").is_in(PERSON_KINDS) & pl.col("person_id").is_not_null())
                    .with_columns(pl.col("kind").replace_strict(KIND_ORDER, default=9, return_dtype=pl.Int8).alias("_k")),
                    ["person_id", "record_date", "_k", "record_key"], descending=[False, True, False, True],
                    nulls_last=True)
    rank = pl.col("rank").fill_null(0)
    stating = pl.col("record_date").is_not_null()
    if as_of is not None:
        stating = stating & (pl.col("record_date") <= as_of)
    current = own.group_by("person_id", maintain_order=True).agg(
        _latest("account_id", pl.col("account_id").is_not_null()).alias("account_id"),
        _latest("person_name", pl.col("person_name").is_not_null()).alias("name"),
        _latest("department", stating & pl.col("department").is_not_null()).alias("department"),
        _latest("title", stating & (rank > 0)).alias("title"),
        _latest("rank", stating & (rank > 0)).fill_null(0).cast(pl.Int64).alias("rank"),
    )
    out = (current.join(known, on="person_id", how="left")
           .with_columns(pl.col("known_through").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                         pl.col("n_records").fill_null(0))
           .sort("person_id"))
    return out.select(list(PERSON_SCHEMA)).cast(PERSON_SCHEMA)  # type: ignore[arg-type]
