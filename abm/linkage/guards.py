"""Pair-level (``sql``) guards: which candidate pairs a guard forbids (cannot-link), in DuckDB.

A guard is a SQL predicate over two units ``l`` and ``r`` and reads only the columns it names, so
each guard is evaluated once per distinct pair of *its own* columns' values (pairs inside one block
mostly repeat them) and the verdict is spread to every pair with the same values: a guard that reads
two name columns is evaluated on far fewer pairs than one that also reads the phone and the domain.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from abm.db import filters_kept_above_joins, query
from abm.linkage.block import RID, columns_in
from abm.linkage.columns import Columns
from abm.linkage.distinct import dense_codes, first_and_inverse
from abm.linkage.spec import Guard, LinkageSpec

L, R = f"{RID}_l", f"{RID}_r"
SCHEMA = pl.Schema({L: pl.UInt32(), R: pl.UInt32(), "cannot_link": pl.String()})
_INDEX = "__guard_pair"


#: a guard profile stays below this, so a pair of profiles packs into one int64
_PROFILE_LIMIT = 2**31
#: while columns are combined, the product stays below this (int64 never overflows)
_PACK_LIMIT = 2**62
#: a guard whose columns' values are distinct for at least this share of the units is evaluated on
#: every pair: its distinct pairs of values are ~ all pairs (at 20 k: 97 % of 1.18 M), and finding
#: them (a sort of 1.2 M keys, ≈ 0.25 s) would save only DuckDB evaluating the other 3 % (≈ 0.02 s)
_NEARLY_UNIQUE = 0.9


def _profile(cols: Columns, values: list[str]) -> np.ndarray:
    """One id per distinct row of ``values`` (nulls are values too), below ``_PROFILE_LIMIT``: the
    columns' codes (shared with blocking and comparisons) combined as integers, renumbered densely
    only when the product would grow too large — not a rank of a struct of strings, which sorts them."""
    profile = np.zeros(cols.prepared.height, dtype=np.int64)
    for column in values:
        codes = cols.keys(column) + 1   # 0: null
        top = int(codes.max(initial=0)) + 1
        if (int(profile.max(initial=0)) + 1) * top >= _PACK_LIMIT:
            profile = dense_codes(pl.Series(profile))
        profile = profile * top + codes
    return dense_codes(pl.Series(profile)) if int(profile.max(initial=0)) >= _PROFILE_LIMIT else profile


def _forbidden(con: duckdb.DuckDBPyConnection, cols: Columns, guard: Guard,
               left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Boolean mask over the pairs: ``guard`` forbids the pair."""
    prepared = cols.prepared
    read = columns_in(prepared, guard.sql or "")
    profile = _profile(cols, [c for c in read if c != RID])
    if pl.Series(profile).n_unique() >= _NEARLY_UNIQUE * len(profile):
        # nearly every unit its own values (a guard reading phone, domain, …): pairs of values hardly
        # repeat (3 % at 20 k), so finding the distinct ones would cost more than it saves
        first, inverse = np.arange(len(left)), None
    else:
        first, inverse = first_and_inverse(profile[left] * np.int64(int(profile.max()) + 1) + profile[right])
    con.register("__guard_units", prepared.select(read).to_arrow(compat_level=pl.CompatLevel.newest()))
    con.register("__guard_pairs", pl.DataFrame({L: left[first], R: right[first],
                                                _INDEX: np.arange(len(first), dtype=np.int64)}).to_arrow())
    try:
        # a plain WHERE (NULL keeps no row, as false), kept above the joins: its ANDs are evaluated
        # in turn on the pairs the earlier ones kept (wrapped in coalesce, every one on every pair:
        # 0.65 → 0.32 s CPU for same_reading_other_kanji on 1.18 M pairs)
        with filters_kept_above_joins(con):
            hits = query(con, f"SELECT p.{_INDEX} FROM __guard_pairs p JOIN __guard_units l ON l.{RID} = p.{L} "
                              f"JOIN __guard_units r ON r.{RID} = p.{R} WHERE ({guard.sql})",
                         {k: list(v) for k, v in guard.params})
    finally:
        con.unregister("__guard_units")
        con.unregister("__guard_pairs")
    forbidden = np.zeros(len(first), dtype=bool)
    forbidden[hits.get_column(_INDEX).to_numpy()] = True
    return forbidden if inverse is None else forbidden[inverse]


def cannot_links(con: duckdb.DuckDBPyConnection, prepared: pl.DataFrame, pairs: pl.DataFrame,
                 spec: LinkageSpec, cols: Columns | None = None) -> pl.DataFrame:
    """Candidate pairs a pair-level (``sql``) guard forbids, with the guard's name (the first guard
    listed in the spec wins), in pair order. ``cols``: the ``Columns`` of ``prepared`` when the
    caller has them (blocking's), so the guards' columns are not coded again."""
    sql_guards = [g for g in spec.guards if g.kind == "sql"]
    if not sql_guards or pairs.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    cols = cols if cols is not None else Columns(prepared)
    left = pairs.get_column(L).to_numpy()
    right = pairs.get_column(R).to_numpy()
    verdict = np.full(len(left), -1, dtype=np.int64)
    for i, guard in reversed(list(enumerate(sql_guards))):  # the first guard listed wins: written last
        verdict[_forbidden(con, cols, guard, left, right)] = i
    hit = verdict >= 0
    names = [g.name for g in sql_guards]
    return pl.DataFrame({L: left[hit], R: right[hit]}).with_columns(
        pl.Series("cannot_link", verdict[hit]).replace_strict(list(range(len(names))), names,
                                                              return_dtype=pl.String)).cast(SCHEMA)
