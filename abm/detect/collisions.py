"""社内バッティング: two or more of OUR departments touched the same counterpart in the window.

Per the contract: as of the as-of date, ``as_of - window_days <= touched_on <= as_of``; internal
departments compared after normalisation, empty ones (and the policy's excluded ones) do not count.
Levels: the same person, the same counterpart department, the same account. A department-level
collision is reported only when no person-level collision (of a person touched in that
department) covers all of its internal departments; an account-level one only when no person- or
department-level collision of the account covers all of its internal departments.
Severity: ``critical`` when open opportunities come from two departments, or the same product from
two departments (policy thresholds); otherwise by level (person high, department medium, account low).
Each row names ``internal_owners`` (our people whose touches in the window make it) and the open
opportunities behind it (count, summed amount, products, stages). ``flag_id``, ``status`` and
``first_seen_on`` are added by ``abm.detect.flags``.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import polars as pl

from abm.detect.current import current_persons
from abm.detect.policy import LEVELS, Policy

log = logging.getLogger(__name__)

COLLISION_SCHEMA: dict[str, pl.DataType] = {
    "level": pl.String(), "account_id": pl.String(), "counterpart_department": pl.String(),
    "person_id": pl.String(), "internal_departments": pl.List(pl.String()),
    "internal_owners": pl.List(pl.String()), "window_start": pl.Date(),
    "window_end": pl.Date(), "severity": pl.String(), "evidence": pl.List(pl.String()),
    "products": pl.List(pl.String()), "open_opportunity_departments": pl.List(pl.String()),
    "critical_products": pl.List(pl.String()), "first_touched_on": pl.Date(), "last_touched_on": pl.Date(),
    "n_touches": pl.Int64(), "open_opportunities": pl.Int64(), "open_opportunity_amount": pl.Float64(),
    "open_opportunity_products": pl.List(pl.String()), "open_opportunity_stages": pl.List(pl.String()),
}
_KEYS = {"person": ["account_id", "person_id"], "department": ["account_id", "counterpart_department"],
         "account": ["account_id"]}


def window_touches(touches: pl.DataFrame, policy: Policy, as_of: date, days: int) -> pl.DataFrame:
    """Touches of the last ``days`` days (inclusive) that count: an account, a non-excluded department."""
    start = as_of - timedelta(days=days)
    return touches.filter(pl.col("touched_on").is_between(start, as_of, closed="both")
                          & pl.col("account_id").is_not_null()
                          & ~pl.col("internal_department").is_in(sorted(policy.excluded_internal_departments))
                          .fill_null(False))


def _groups(touches: pl.DataFrame, level: str, policy: Policy) -> pl.DataFrame:
    keys = _KEYS[level]
    sorted_unique = pl.col("internal_department").unique().sort()
    # the touches of the groups that collide (enough of our departments) first: the lists below are
    # built for those groups only, not for every person / department / account touched
    touched = touches.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
    colliding = (touched.group_by(keys).agg(pl.col("internal_department").n_unique().alias("_n"))
                 .filter(pl.col("_n") >= policy.min_internal_departments).select(keys))
    touches = touched.join(colliding, on=keys, how="semi")
    groups = (touches
              .group_by(keys).agg(
                  sorted_unique.alias("internal_departments"),
                  pl.col("owner_name").drop_nulls().unique().sort().alias("internal_owners"),
                  pl.col("record_key").unique().sort().alias("evidence"),
                  pl.col("product").drop_nulls().unique().sort().alias("products"),
                  pl.col("internal_department").filter(pl.col("is_open_opportunity")).unique().sort()
                  .alias("open_opportunity_departments"),
                  pl.col("touched_on").min().alias("first_touched_on"),
                  pl.col("touched_on").max().alias("last_touched_on"),
                  pl.len().cast(pl.Int64).alias("n_touches"))
              .filter(pl.col("internal_departments").list.len() >= policy.min_internal_departments))
    # the open opportunities behind it, each counted once
    opened = (touches.filter(pl.col("is_open_opportunity").fill_null(False)
                             & pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
              .unique([*keys, "record_key"])
              .group_by(keys).agg(
                  pl.len().cast(pl.Int64).alias("open_opportunities"),
                  pl.col("amount").sum().alias("open_opportunity_amount"),
                  pl.col("product").drop_nulls().unique().sort().alias("open_opportunity_products"),
                  pl.col("stage").drop_nulls().unique().sort().alias("open_opportunity_stages")))
    groups = groups.join(opened, on=keys, how="left").with_columns(
        pl.col("open_opportunities").fill_null(0), pl.col("open_opportunity_amount").fill_null(0.0),
        pl.col("open_opportunity_products").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("open_opportunity_stages").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    products = (touches.filter(pl.col("product").is_not_null()
                               & pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
                .group_by([*keys, "product"]).agg(pl.col("internal_department").n_unique().alias("_n"))
                .filter(pl.col("_n") >= max(policy.critical_same_product_departments, 1))
                .group_by(keys).agg(pl.col("product").sort().alias("critical_products")))
    if policy.critical_same_product_departments == 0:
        products = products.clear()
    return (groups.join(products, on=keys, how="left")
            .with_columns(pl.col("critical_products").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                          pl.lit(level).alias("level")))


def _covered(upper: pl.DataFrame, lower: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """Rows of ``upper`` (by its keys) whose internal departments are all in one ``lower`` row joined on ``on``."""
    joined = upper.join(lower.select(*on, pl.col("internal_departments").alias("_lower")), on=on)
    return joined.filter(pl.col("internal_departments").list.set_difference("_lower").list.len() == 0)


def detect_collisions(touches: pl.DataFrame, records: pl.DataFrame, policy: Policy, as_of: date,
                      persons: pl.DataFrame | None = None) -> pl.DataFrame:
    """collisions.parquet: one row per active collision, with its evidence record keys. ``persons``:
    ``current_persons(records, as_of)`` when the caller has it already (only person_id and department
    are read, which records kept apart do not change); computed here otherwise."""
    window = window_touches(touches, policy, as_of, policy.collision_window_days).filter(
        pl.col("internal_department").is_not_null() & (pl.col("internal_department") != ""))
    person, dept, account = (_groups(window, level, policy) for level in LEVELS)

    # a person-level collision names the person's current department (null when none is stated)
    current = (persons if persons is not None else current_persons(records, as_of)).select(
        "person_id", pl.col("department").alias("counterpart_department"))
    person = person.join(current, on="person_id", how="left")

    met_in = (window.filter(pl.col("person_id").is_not_null() & pl.col("counterpart_department").is_not_null())
              .select("account_id", "counterpart_department", "person_id").unique())
    dept_cover = _covered(dept.join(met_in, on=["account_id", "counterpart_department"]), person,
                          ["account_id", "person_id"]).select("account_id", "counterpart_department").unique()
    account_cover = _covered(account, pl.concat([person.select("account_id", "internal_departments"),
                                                 dept.select("account_id", "internal_departments")]),
                             ["account_id"]).select("account_id").unique()
    reported = pl.concat([
        person,
        dept.join(dept_cover, on=["account_id", "counterpart_department"], how="anti"),
        account.join(account_cover, on="account_id", how="anti"),
    ], how="diagonal_relaxed")

    critical = (((pl.col("open_opportunity_departments").list.len() >= policy.critical_open_opportunity_departments)
                 & (policy.critical_open_opportunity_departments > 0))
                | (pl.col("critical_products").list.len() > 0))
    level_order = {level: i for i, level in enumerate(LEVELS)}
    out = (reported.with_columns(
        pl.lit(as_of - timedelta(days=policy.collision_window_days)).alias("window_start"),
        pl.lit(as_of).alias("window_end"),
        pl.when(critical).then(pl.lit("critical"))
        .otherwise(pl.col("level").replace_strict(policy.severity_by_level, return_dtype=pl.String))
        .alias("severity"),
        pl.col("level").replace_strict(level_order, return_dtype=pl.Int8).alias("_order"))
        .sort(["account_id", "_order", "counterpart_department", "person_id"], nulls_last=True))
    log.info("collisions as of %s: %d (%d person, %d department, %d account candidates; %d touches in window)",
             as_of, out.height, person.height, dept.height, account.height, window.height)
    return out.select(list(COLLISION_SCHEMA)).cast(COLLISION_SCHEMA)  # type: ignore[arg-type]
