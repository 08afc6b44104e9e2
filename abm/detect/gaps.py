"""Key-person gaps of engaged counterpart departments (contract: "Definitions, precisely").

- engaged: a counterpart department with an open opportunity, or with ``engaged_min_touches`` or more
  touches in the last ``engagement_window_days`` days (inclusive).
- a department's people: persons whose current department it is; its decision makers: its people of
  current rank >= ``decision_maker_rank``.
- ``no_decision_maker``: engaged, no decision maker of its own and nobody of current rank >=
  ``account_decision_maker_rank`` anywhere in the account (person_id null).
- ``hidden_key_person``: engaged, has decision makers, and none of them is known through an internal
  department that touched it in the last ``holder_window_days`` days: one row per decision maker,
  with who holds the contact: holder_internal_departments and holder_owners (our people named on
  the records about that decision maker), and known_since.
- ``single_threaded``: engaged with exactly one person (person_id = that person).
Evidence: the touches that make the department engaged (+ for hidden_key_person the records about
that decision maker). ``flag_id``, ``status`` and ``first_seen_on`` are added by ``abm.detect.flags``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import polars as pl

from abm.detect.collisions import window_touches
from abm.detect.policy import Policy
from abm.detect.touches import counterparts

log = logging.getLogger(__name__)

GAP_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(), "counterpart_department": pl.String(), "gap_type": pl.String(),
    "person_id": pl.String(), "evidence": pl.List(pl.String()),
    "holder_internal_departments": pl.List(pl.String()), "holder_owners": pl.List(pl.String()),
    "known_since": pl.Date(),
    "engaging_internal_departments": pl.List(pl.String()), "n_touches": pl.Int64(),
    "has_open_opportunity": pl.Boolean(), "n_people": pl.Int64(), "n_decision_makers": pl.Int64(),
}
_DEPT = ["account_id", "counterpart_department"]
_STRINGS = pl.List(pl.String)


def engaged_departments(touches: pl.DataFrame, policy: Policy, as_of: date) -> pl.DataFrame:
    """account_id, counterpart_department, n_touches, has_open_opportunity, evidence, engaging_internal_departments."""
    counted = window_touches(touches, policy, as_of, max(policy.engagement_window_days, 0)).filter(
        pl.col("counterpart_department").is_not_null())
    in_window = counted.group_by(_DEPT).agg(
        pl.len().cast(pl.Int64).alias("n_touches"),
        pl.col("is_open_opportunity").any().alias("_open_in_window"),
        pl.col("record_key").alias("_keys"))
    # an open opportunity always touches on the as-of date, so it is inside any window
    holders = window_touches(touches, policy, as_of, policy.holder_window_days).filter(
        pl.col("counterpart_department").is_not_null()).group_by(_DEPT).agg(
        pl.col("internal_department").drop_nulls().unique().sort().alias("engaging_internal_departments"))
    return (in_window
            .filter((pl.col("n_touches") >= policy.engaged_min_touches) | pl.col("_open_in_window"))
            .join(holders, on=_DEPT, how="left")
            .select(*_DEPT, "n_touches", pl.col("_open_in_window").alias("has_open_opportunity"),
                    pl.col("_keys").list.unique().list.sort().alias("evidence"),
                    pl.col("engaging_internal_departments").fill_null(pl.lit([], dtype=_STRINGS))))


def detect_gaps(touches: pl.DataFrame, persons: pl.DataFrame, records: pl.DataFrame, policy: Policy,
                as_of: date, also_about: Callable[[list[str]], pl.DataFrame] | None = None, *,
                about: pl.DataFrame | None = None) -> pl.DataFrame:
    """key_person_gaps.parquet: account_id, counterpart_department, gap_type, person_id, evidence, …
    ``also_about(person_ids)``: counterpart_person_id, record_key, _owner of records kept apart
    (bulk MA activities, ``abm.activities``) about those persons. ``about``: ``counterparts(records)``
    when the caller has it (computed once for touches, persons and gaps)."""
    engaged = engaged_departments(touches, policy, as_of)
    people = persons.filter(pl.col("department").is_not_null()).select(
        "account_id", pl.col("department").alias("counterpart_department"), "person_id",
        pl.col("rank").fill_null(0), "known_through", "known_since")
    dm = pl.col("rank") >= policy.decision_maker_rank
    staff = people.group_by(_DEPT).agg(
        pl.len().cast(pl.Int64).alias("n_people"),
        pl.col("person_id").sort().first().alias("_only_person"),
        dm.sum().cast(pl.Int64).alias("n_decision_makers"))
    top = persons.group_by("account_id").agg(pl.col("rank").fill_null(0).max().alias("_account_top"))
    depts = (engaged.join(staff, on=_DEPT, how="left").join(top, on="account_id", how="left")
             .with_columns(pl.col("n_people").fill_null(0), pl.col("n_decision_makers").fill_null(0)))

    no_dm = depts.filter((pl.col("n_decision_makers") == 0)
                         & (pl.col("_account_top").fill_null(0) < policy.account_decision_maker_rank)
                         ).with_columns(pl.lit("no_decision_maker").alias("gap_type"),
                                        pl.lit(None, dtype=pl.String).alias("person_id"))
    single = depts.filter(pl.col("n_people") == 1).with_columns(
        pl.lit("single_threaded").alias("gap_type"), pl.col("_only_person").alias("person_id"))

    makers = people.filter(dm).join(depts, on=_DEPT)
    holds = (makers.with_columns(pl.col("known_through").list.set_intersection("engaging_internal_departments")
                                 .list.len().alias("_shared"))
             .group_by(_DEPT).agg((pl.col("_shared") > 0).any().alias("_reached")))
    hidden_makers = makers.join(holds.filter(~pl.col("_reached")), on=_DEPT, how="semi")
    hidden_ids = hidden_makers.select(pl.col("person_id").alias("counterpart_person_id")).unique()
    # the records about the hidden key persons only (their lists are sorted below): not every person's
    rows = (counterparts(records) if about is None else about).join(hidden_ids, on="counterpart_person_id", how="semi")
    # and their owners looked up for those records alone: a join against every record hashed all the keys
    owners = records.select("record_key", pl.when(pl.col("makes_touch").fill_null(True))
                            .then(pl.col("owner_name")).alias("_owner")).filter(
        pl.col("record_key").is_in(rows.get_column("record_key").implode()))
    rows = rows.join(owners, on="record_key", how="left").select("counterpart_person_id", "record_key", "_owner")
    if also_about is not None:
        rows = pl.concat([rows, also_about(hidden_ids.get_column("counterpart_person_id").to_list())
                          .cast(rows.schema)])  # type: ignore[arg-type]
    about = (rows
             .group_by("counterpart_person_id").agg(pl.col("record_key").alias("_records"),
                                                    pl.col("_owner").drop_nulls().unique().sort()
                                                    .alias("holder_owners")))
    hidden = (hidden_makers
              .join(about, left_on="person_id", right_on="counterpart_person_id", how="left")
              .with_columns(pl.lit("hidden_key_person").alias("gap_type"),
                            pl.concat_list("evidence", pl.col("_records").fill_null(pl.lit([], dtype=_STRINGS)))
                            .list.unique().list.sort().alias("evidence"),
                            pl.col("known_through").alias("holder_internal_departments")))

    gaps = pl.concat([no_dm, single, hidden], how="diagonal_relaxed")
    log.info("key-person gaps as of %s: %d engaged departments; %d no_decision_maker, %d single_threaded, "
             "%d hidden_key_person", as_of, engaged.height, no_dm.height, single.height, hidden.height)
    return (gaps.select([pl.col(c) if c in gaps.columns else pl.lit(None).alias(c) for c in GAP_SCHEMA])
            .with_columns(pl.col("known_since").cast(pl.Date))
            .cast(GAP_SCHEMA)  # type: ignore[arg-type]
            .sort(["account_id", "counterpart_department", "gap_type", "person_id"], nulls_last=True))
