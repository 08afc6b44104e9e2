"""Links the source systems already record, as candidate pairs of the engine's own.

A spec's ``system_links`` name columns: a ``ref`` column holds another unit's id (a converted lead
names the account it became), a ``shared`` column groups units one system judged the same (a card
service's person key). Each link becomes a pair that is compared and scored like any other, carries
the link's name into the evidence, and is accepted with the spec's link weight unless a veto (or a
guard) says the two differ. Knows nothing about leads or cards: the spec names the columns.
"""

from __future__ import annotations

import logging

import duckdb
import polars as pl

from abm.db import filters_kept_above_joins, query
from abm.linkage.block import RID, columns_in
from abm.linkage.spec import LinkageSpec

log = logging.getLogger(__name__)

L, R = f"{RID}_l", f"{RID}_r"
SCHEMA = {L: pl.UInt32, R: pl.UInt32, "system_link": pl.Utf8, "finding": pl.Utf8, "from_rid": pl.UInt32}


def system_pairs(prepared: pl.DataFrame, spec: LinkageSpec) -> pl.DataFrame:
    """One row per linked pair (__rid_l < __rid_r; ``from_rid`` states the link): the first link listed
    in the spec names it."""
    parts = []
    ids = prepared.select(pl.col(spec.id_column).alias("__target"), pl.col(RID).alias("__other"))
    for link in spec.system_links.links:
        if link.column not in prepared.columns:
            continue
        if link.kind == "ref":
            found = (prepared.select(RID, pl.col(link.column).alias("__target")).drop_nulls("__target")
                     .join(ids, on="__target").select(RID, "__other"))
        else:
            groups = prepared.select(RID, pl.col(link.column).alias("__key")).drop_nulls("__key").with_columns(
                pl.len().over("__key").alias("__n"), pl.col(RID).min().over("__key").alias("__other"))
            too_big = groups.filter(pl.col("__n") > link.max_group).get_column("__key").n_unique()
            if too_big:
                log.warning("linkage %s: %d values of %s shared by more than %d units ignored",
                            spec.name, too_big, link.column, link.max_group)
            found = groups.filter(pl.col("__n") <= link.max_group).select(RID, "__other")
        parts.append(found.filter(pl.col(RID) != pl.col("__other")).select(
            pl.min_horizontal(RID, "__other").alias(L), pl.max_horizontal(RID, "__other").alias(R),
            pl.lit(link.name).alias("system_link"), pl.lit(link.finding).alias("finding"),
            pl.col(RID).alias("from_rid"),  # the unit that states the link
        ).cast(SCHEMA))  # type: ignore[arg-type]
    if not parts:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat(parts).unique([L, R], keep="first", maintain_order=True).sort(L, R)


def vetoes(con: duckdb.DuckDBPyConnection, prepared: pl.DataFrame, pairs: pl.DataFrame,
           spec: LinkageSpec) -> pl.DataFrame:
    """Linked pairs a veto rejects, with the first veto's name (``system_veto``)."""
    schema = {L: pl.UInt32, R: pl.UInt32, "system_veto": pl.Utf8}
    if not spec.system_links.vetoes or pairs.height == 0:
        return pl.DataFrame(schema=schema)
    con.register("__sl_prep", prepared.select(columns_in(prepared, *(v.sql or "" for v in spec.system_links.vetoes)))
                 .to_arrow())
    con.register("__sl_pairs", pairs.select(L, R).to_arrow())
    # a plain WHERE (NULL keeps no row, as coalesce(…, false) did), kept above the joins: its ANDs
    # are evaluated in turn on the pairs the earlier ones kept, not every one on every pair (as the
    # guards, abm.linkage.guards)
    with filters_kept_above_joins(con):
        parts = [
            query(con, f"SELECT p.{L}, p.{R}, '{v.name}' AS system_veto FROM __sl_pairs p "
                       f"JOIN __sl_prep l ON l.{RID} = p.{L} JOIN __sl_prep r ON r.{RID} = p.{R} "
                       f"WHERE ({v.sql})").cast(schema)  # type: ignore[arg-type]
            for v in spec.system_links.vetoes
        ]
    con.unregister("__sl_prep")
    con.unregister("__sl_pairs")
    return pl.concat(parts).unique([L, R], keep="first", maintain_order=True)
