"""Registry anchors into resolution: must-links between records anchored to one corporation, and a
guard against one account holding two corporations.

Records anchored to the same 法人番号 — by the number, their name, a former name (a card printed
before a rename), the furigana or the English name — are linked whatever their scores (a must-link:
a renamed company's old and new records share no name and often no domain). Records anchored to
two different corporations may not end in one account (guard ``different_registry_corporation``).
The anchors themselves are written to ``evidence/registry_anchors.parquet`` for ``abm explain``.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from abm.linkage.spec import Guard, LinkageSpec, LinkageSpecs

GUARD = "different_registry_corporation"


def with_anchors(records: pl.DataFrame, anchors: pl.DataFrame | None) -> pl.DataFrame:
    """``records`` + registry_number (null when not anchored, or when no registry was given)."""
    if anchors is None or anchors.height == 0:
        return records.with_columns(pl.lit(None, pl.Utf8).alias("registry_number"))
    return records.join(anchors.select("record_key", "registry_number"), on="record_key", how="left")


def must_links(records: pl.DataFrame) -> pl.DataFrame:
    """(id_l, id_r) pairs: each anchored record to the smallest record key of its corporation."""
    anchored = records.filter(pl.col("registry_number").is_not_null()).select("record_key", "registry_number")
    star = anchored.with_columns(pl.col("record_key").min().over("registry_number").alias("id_l"))
    return star.filter(pl.col("record_key") != pl.col("id_l")).select("id_l", pl.col("record_key").alias("id_r"))


def registry_specs(specs: LinkageSpecs) -> LinkageSpecs:
    """The linkage specs with the registry guard on accounts."""
    accounts: LinkageSpec = specs.accounts
    if any(g.name == GUARD for g in accounts.guards):
        return specs
    guard = Guard(name=GUARD, kind="distinct_values", column="registry_number")
    return dataclasses.replace(specs, accounts=dataclasses.replace(accounts, guards=(*accounts.guards, guard)))


def registry_counts(anchors: pl.DataFrame, accounts: pl.DataFrame) -> dict[str, object]:
    """run.json: records anchored per method, records left unanchored per reason, accounts per status."""
    def counts(df: pl.DataFrame, column: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in df.drop_nulls(column).group_by(column).len().sort(column).iter_rows()}
    unanchored = anchors.filter(pl.col("registry_number").is_null())   # an in_run anchor's note says how it matched
    return {"records_anchored": counts(anchors, "anchor_method"), "records_not_anchored": counts(unanchored, "anchor_note"),
            "accounts_by_status": counts(accounts, "registry_status")}
