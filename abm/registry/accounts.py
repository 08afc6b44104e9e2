"""Accounts + what the registry says about them: official name, 法人番号, status, successor.

An account's corporation is the one its records are anchored to (``abm.registry.match``) — its own
records' 法人番号 first — when they name exactly one; an account whose records name two stays
unanchored. Its display ``name`` becomes the official name (商号) where the registry gives one.
``registry_status``: ``active``, ``closed`` (登記記録の閉鎖) or ``absorbed`` (merged into
``successor_corporate_number``); null when the account has no registry corporation or no registry
was given. The report marks closed and absorbed accounts from these columns.
"""

from __future__ import annotations

import duckdb
import polars as pl

from abm.db import query
from abm.registry.store import Registry

REGISTRY_COLUMNS = {"official_name": pl.Utf8, "registry_status": pl.Utf8, "successor_corporate_number": pl.Utf8,
                    "registry_anchor": pl.Utf8}


def account_anchors(resolved: pl.DataFrame) -> pl.DataFrame:
    """account_id -> registry_number, when its records name exactly one corporation."""
    anchored = resolved.filter(pl.col("registry_number").is_not_null() & pl.col("account_id").is_not_null())
    own = anchored.filter(pl.col("registry_number") == pl.col("corporate_number"))
    by_own = own.group_by("account_id").agg(pl.col("registry_number").unique())
    by_any = anchored.group_by("account_id").agg(pl.col("registry_number").unique().alias("__any"))
    both = by_any.join(by_own, on="account_id", how="left")
    pick = pl.when(pl.col("registry_number").list.len() == 1).then(pl.col("registry_number").list.first()) \
        .when(pl.col("__any").list.len() == 1).then(pl.col("__any").list.first())
    return both.select("account_id", pick.alias("registry_number")).drop_nulls("registry_number")


def enrich_accounts(accounts: pl.DataFrame, resolved: pl.DataFrame, registry: Registry | None) -> pl.DataFrame:
    """``accounts`` + official_name, registry_status, successor_corporate_number, registry_anchor;
    ``name`` and ``corporate_number`` from the registry where it names the account's corporation."""
    if registry is None or "registry_number" not in resolved.columns:
        return accounts.with_columns(pl.lit(None, t).alias(c) for c, t in REGISTRY_COLUMNS.items())
    anchors = account_anchors(resolved)
    con = duckdb.connect()
    con.register("__anchors", anchors.to_arrow())
    corp = query(con, f"""
        SELECT a.account_id, c.corporate_number AS registry_anchor, c.official_name, c.registry_status,
               c.successor_corporate_number
        FROM __anchors a JOIN read_parquet('{registry.path("corporations")}') c
          ON c.corporate_number = a.registry_number""")
    con.close()
    if corp.height == 0:
        corp = pl.DataFrame(schema={"account_id": pl.Utf8, **REGISTRY_COLUMNS})
    out = accounts.join(corp, on="account_id", how="left")
    return out.with_columns(
        pl.coalesce("official_name", "name").alias("name"),
        pl.coalesce("corporate_number", "registry_anchor").alias("corporate_number"),
    ).select(*accounts.columns, *REGISTRY_COLUMNS)
