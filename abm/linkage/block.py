"""Blocking: candidate pairs from several strict equi-join rules, in DuckDB.

Each pair appears once, tagged with the first rule that found it (later rules exclude pairs an
earlier rule already produced, as Splink does). A key shared by more than ``max_block`` records
(one very large customer, a common name) would explode the pair count: inside such a block,
records are sorted by the spec's comparison columns and paired only with their next ``window``
neighbours (sorted neighbourhood), so the block stays connected at a linear cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import polars as pl

from abm.db import query
from abm.linkage.spec import BlockingRule, LinkageSpec

log = logging.getLogger(__name__)

RID = "__rid"


@dataclass(frozen=True)
class Blocked:
    prepared: pl.DataFrame          # units + derived columns + __rid (0..n-1, ordered by id)
    pairs: pl.DataFrame             # __rid_l < __rid_r, rule
    counts: dict[str, int]          # candidate pairs per rule
    windowed_blocks: dict[str, int]  # keys per rule too common for all pairs: paired within a window


def prepare(units: pl.DataFrame, spec: LinkageSpec, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Add the spec's derived columns and a dense row id ordered by the id column (deterministic)."""
    base = units.sort(spec.id_column).with_row_index(RID)
    if not spec.derived:
        return base
    con.register("__units", base.to_arrow())
    exprs = ", ".join(f"({expr}) AS \"{col}\"" for col, expr in spec.derived)
    out = query(con, f"SELECT *, {exprs} FROM __units ORDER BY {RID}")
    con.unregister("__units")
    return out


def _ok_flag(i: int) -> str:
    return f"__ok_{i}"


def _big_flag(i: int) -> str:
    return f"__big_{i}"


def _pos(i: int) -> str:
    return f"__pos_{i}"


def _flag_blocks(prepared: pl.DataFrame, spec: LinkageSpec) -> tuple[pl.DataFrame, dict[str, int]]:
    """Per rule, mark rows whose key is complete and whose block is small enough (``__ok_i``), or
    too large (``__big_i``, with ``__pos_i`` its rank in the block sorted by the compared columns)."""
    order = list(dict.fromkeys(c.column for c in spec.comparisons)) + [RID]
    flagged, windowed = prepared, {}
    for i, rule in enumerate(spec.blocking):
        keys = list(rule.on)
        complete = pl.all_horizontal([pl.col(c).is_not_null() for c in keys])
        size = pl.len().over(keys)
        flagged = flagged.with_columns(
            (complete & (size <= rule.max_block)).alias(_ok_flag(i)),
            (complete & (size > rule.max_block)).alias(_big_flag(i)),
        )
        big = flagged.filter(pl.col(_big_flag(i)))
        windowed[rule.name] = int(big.select(keys).n_unique()) if big.height else 0
        if big.height:
            ranked = big.sort([*keys, *order], nulls_last=True).with_columns(
                pl.int_range(pl.len()).over(keys).alias(_pos(i))).select(RID, _pos(i))
            flagged = flagged.join(ranked, on=RID, how="left")
        else:
            flagged = flagged.with_columns(pl.lit(None, dtype=pl.Int64).alias(_pos(i)))
    return flagged.sort(RID), windowed


def _equal(rule: BlockingRule, i: int) -> str:
    conds = [f'l."{c}" = r."{c}"' for c in rule.on]
    return "(" + " AND ".join([f"l.{_ok_flag(i)}", f"r.{_ok_flag(i)}", *conds]) + ")"


def block(units: pl.DataFrame, spec: LinkageSpec, con: duckdb.DuckDBPyConnection | None = None) -> Blocked:
    """Candidate pairs for ``units`` under ``spec.blocking``."""
    con = con or duckdb.connect()
    prepared = prepare(units, spec, con)
    flagged, windowed = _flag_blocks(prepared, spec)
    key_cols = sorted({c for r in spec.blocking for c in r.on})
    n_rules = range(len(spec.blocking))
    slim = flagged.select([RID, *key_cols, *[_ok_flag(i) for i in n_rules], *[_big_flag(i) for i in n_rules],
                           *[_pos(i) for i in n_rules]])
    con.register("__b", slim.to_arrow())
    parts = []
    for i, rule in enumerate(spec.blocking):
        earlier = [f"NOT coalesce({_equal(r, j)}, false)" for j, r in enumerate(spec.blocking[:i])]
        where = " AND ".join([f"l.{RID} < r.{RID}", *earlier])
        sql = (
            f"SELECT l.{RID} AS {RID}_l, r.{RID} AS {RID}_r, '{rule.name}' AS rule "
            f"FROM (SELECT * FROM __b WHERE {_ok_flag(i)}) l "
            f"JOIN (SELECT * FROM __b WHERE {_ok_flag(i)}) r ON "
            + " AND ".join(f'l."{c}" = r."{c}"' for c in rule.on)
            + f" WHERE {where}"
        )
        part = query(con, sql)
        if windowed[rule.name]:
            part = pl.concat([part, query(con, _window_sql(rule, i))])
        log.info("blocking %s rule %s: %d candidate pairs (%d keys too common: sorted window of %d)",
                 spec.name, rule.name, part.height, windowed[rule.name], rule.window)
        parts.append(part.with_columns(pl.lit(i).alias("__rule_index")))
    con.unregister("__b")
    schema = pl.Schema({f"{RID}_l": pl.UInt32(), f"{RID}_r": pl.UInt32(), "rule": pl.String()})
    pairs = (
        # window pairs are not excluded by earlier rules in SQL: keep each pair's first rule here
        pl.concat([p.cast(pl.Schema({**schema, "__rule_index": pl.Int32()})) for p in parts])
        .sort("__rule_index").unique([f"{RID}_l", f"{RID}_r"], keep="first").drop("__rule_index")
        if parts else pl.DataFrame(schema=schema)
    ).sort([f"{RID}_l", f"{RID}_r"])
    found = dict(pairs.group_by("rule").len().iter_rows()) if pairs.height else {}
    counts = {r.name: int(found.get(r.name, 0)) for r in spec.blocking}
    return Blocked(prepared=prepared, pairs=pairs, counts=counts, windowed_blocks=windowed)


def _window_sql(rule: BlockingRule, i: int) -> str:
    """Pairs of neighbours (1 … window apart) inside the blocks too large for all pairs."""
    keys = " AND ".join(f'l."{c}" = r."{c}"' for c in rule.on)
    return (
        f"SELECT least(l.{RID}, r.{RID}) AS {RID}_l, greatest(l.{RID}, r.{RID}) AS {RID}_r, "
        f"'{rule.name}' AS rule "
        f"FROM (SELECT * FROM __b WHERE {_big_flag(i)}) l CROSS JOIN range(1, {rule.window + 1}) t(k) "
        f"JOIN (SELECT * FROM __b WHERE {_big_flag(i)}) r ON {keys} AND r.{_pos(i)} = l.{_pos(i)} + t.k"
    )
