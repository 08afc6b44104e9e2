"""Blocking: candidate pairs from several strict equi-join rules, in DuckDB.

Each pair appears once, tagged with the first rule that found it (later rules exclude pairs an
earlier rule already produced, as Splink does). A key shared by more than ``max_block`` records is
skipped for that rule: it carries no evidence and would explode the pair count.
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
    skipped_blocks: dict[str, int]  # keys skipped per rule for being too common


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


def _flag_blocks(prepared: pl.DataFrame, rules: tuple[BlockingRule, ...]) -> tuple[pl.DataFrame, dict[str, int]]:
    """Per rule, mark rows whose key is complete and whose block is small enough."""
    flags, skipped = [], {}
    for i, rule in enumerate(rules):
        complete = pl.all_horizontal([pl.col(c).is_not_null() for c in rule.on])
        size = pl.len().over(list(rule.on))
        flags.append((complete & (size <= rule.max_block)).alias(_ok_flag(i)))
        sizes = prepared.filter(complete).group_by(list(rule.on)).len()
        skipped[rule.name] = int(sizes.filter(pl.col("len") > rule.max_block).height)
    return prepared.with_columns(flags), skipped


def _equal(rule: BlockingRule, i: int) -> str:
    conds = [f'l."{c}" = r."{c}"' for c in rule.on]
    return "(" + " AND ".join([f"l.{_ok_flag(i)}", f"r.{_ok_flag(i)}", *conds]) + ")"


def block(units: pl.DataFrame, spec: LinkageSpec, con: duckdb.DuckDBPyConnection | None = None) -> Blocked:
    """Candidate pairs for ``units`` under ``spec.blocking``."""
    con = con or duckdb.connect()
    prepared = prepare(units, spec, con)
    flagged, skipped = _flag_blocks(prepared, spec.blocking)
    key_cols = sorted({c for r in spec.blocking for c in r.on})
    slim = flagged.select([RID, *key_cols, *[_ok_flag(i) for i in range(len(spec.blocking))]])
    con.register("__b", slim.to_arrow())
    parts, counts = [], {}
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
        counts[rule.name] = part.height
        log.info("blocking %s rule %s: %d candidate pairs (%d keys skipped as too common)",
                 spec.name, rule.name, part.height, skipped[rule.name])
        parts.append(part)
    con.unregister("__b")
    schema = {f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32, "rule": pl.Utf8}
    pairs = (
        pl.concat([p.cast(schema) for p in parts]) if parts else pl.DataFrame(schema=schema)
    ).sort([f"{RID}_l", f"{RID}_r"])
    return Blocked(prepared=prepared, pairs=pairs, counts=counts, skipped_blocks=skipped)
