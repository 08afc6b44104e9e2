"""Comparison vectors: one int8 level code per comparison per pair, computed column-wise.

Kinds: exact, prefix, abs_diff, jaro_winkler/ratio/token_set (a similarity threshold), and overlap
(two ``|a|b|`` sets of alternatives share an element: every reading of a kanji name against one).

Codes: -1 null (either side missing: no evidence), 0 … k-1 the spec's levels in order (the first
that holds wins), k 'else'. Similarities come from rapidfuzz's vectorised ``cpdist`` and are only
computed for pairs no earlier level has claimed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from rapidfuzz import distance, fuzz, process

from abm.linkage.block import RID
from abm.linkage.spec import Comparison, Level, LinkageSpec

if TYPE_CHECKING:
    from abm.linkage.reuse import SpecReuse

NULL_LEVEL = -1

#: level kind -> (rapidfuzz scorer, its maximum); native scorers keep cpdist in C (no Python per pair)
#: level kind -> (rapidfuzz scorer, the scale of its scores)
_SCORERS: dict[str, tuple[Any, float]] = {
    "jaro_winkler": (distance.JaroWinkler.normalized_similarity, 1.0),
    "ratio": (distance.Indel.normalized_similarity, 1.0),
    "token_set": (fuzz.token_set_ratio, 100.0),
}


def gamma_column(comp: Comparison) -> str:
    return f"gamma_{comp.name}"


def any_level(spec: LinkageSpec, levels: tuple[tuple[str, str], ...]) -> pl.Expr:
    """True where any of the (comparison, level) pairs holds in a comparison-vector table."""
    if not levels:
        return pl.lit(False)
    names = {c.name: c.level_names() for c in spec.comparisons}
    return pl.any_horizontal(pl.col(f"gamma_{comp}") == names[comp].index(level) for comp, level in levels)


def _sides(prepared: pl.DataFrame, column: str, left: np.ndarray, right: np.ndarray) -> tuple[pl.Series, pl.Series]:
    col = prepared.get_column(column)
    return col.gather(left), col.gather(right)


def _level_holds(level: Level, a: pl.Series, b: pl.Series, todo: np.ndarray,
                 sims: dict[tuple[str, str], np.ndarray] | None = None) -> np.ndarray:
    """Boolean mask (over all pairs) of pairs in ``todo`` for which ``level`` holds. ``sims`` keeps
    each (column, scorer)'s similarities, so two levels of one scorer (JW ≥ 0.9, JW ≥ 0.75) score a
    pair once."""
    present = (a.is_not_null() & b.is_not_null()).to_numpy()
    idx = np.flatnonzero(todo & present)
    holds = np.zeros(len(a), dtype=bool)
    if idx.size == 0:
        return holds
    sa, sb = a.gather(idx), b.gather(idx)
    if level.kind == "exact":
        holds[idx] = (sa == sb).to_numpy()
    elif level.kind == "prefix":
        la, lb = pl.col("a"), pl.col("b")
        prefix = pl.DataFrame({"a": sa.cast(pl.Utf8), "b": sb.cast(pl.Utf8)}).select(
            (la.str.starts_with(lb) | lb.str.starts_with(la)).fill_null(False)).to_series()
        holds[idx] = prefix.to_numpy()
    elif level.kind == "overlap":  # "|a|b|" sets of alternatives that share one element
        sets_a = sa.cast(pl.Utf8).str.strip_chars("|").str.split("|")
        sets_b = sb.cast(pl.Utf8).str.strip_chars("|").str.split("|")
        holds[idx] = (sets_a.list.set_intersection(sets_b).list.len() > 0).fill_null(False).to_numpy()
    elif level.kind == "abs_diff":
        holds[idx] = ((sa.cast(pl.Float64) - sb.cast(pl.Float64)).abs() <= level.threshold).fill_null(False).to_numpy()
    else:
        scorer, scale = _SCORERS[level.kind]
        known = (sims if sims is not None else {}).setdefault((level.column, level.kind),
                                                              np.full(len(a), np.nan, dtype=np.float32))
        need = idx[np.isnan(known[idx])]
        if need.size:
            known[need] = process.cpdist(a.gather(need).cast(pl.Utf8).to_list(), b.gather(need).cast(pl.Utf8).to_list(),
                                         scorer=scorer, workers=-1, dtype=np.float32)
        holds[idx] = known[idx] / scale >= level.threshold - 1e-6
    return holds


def _differ(prepared: pl.DataFrame, column: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pairs whose two sides differ in a boolean column (null counts as false)."""
    fa, fb = _sides(prepared, column, left, right)
    return (fa.fill_null(False) != fb.fill_null(False)).to_numpy()


#: pairs compared at once: strings are gathered per chunk, so memory does not grow with the pair count
CHUNK = 1_000_000


def compare_pairs(prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec, chunk: int = CHUNK, *,
                  reuse: SpecReuse | None = None) -> pl.DataFrame:
    """``pairs`` with one ``gamma_<comparison>`` int8 column per comparison (computed ``chunk`` pairs at a time).
    ``reuse``: the previous run's vectors of unchanged pairs are taken from it (``abm.linkage.reuse``)."""
    if reuse is not None:
        return reuse.compare(prepared, pairs, spec, lambda todo: compare_pairs(prepared, todo, spec, chunk))
    if pairs.height <= chunk:
        return _compare_chunk(prepared, pairs, spec)
    parts = [_compare_chunk(prepared, pairs.slice(o, chunk), spec) for o in range(0, pairs.height, chunk)]
    return pl.concat(parts, rechunk=False)


def _compare_chunk(prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec) -> pl.DataFrame:
    left = pairs.get_column(f"{RID}_l").to_numpy()
    right = pairs.get_column(f"{RID}_r").to_numpy()
    out = {}
    for comp in spec.comparisons:
        sims: dict[tuple[str, str], np.ndarray] = {}
        a, b = _sides(prepared, comp.column, left, right)
        null = (a.is_null() | b.is_null()).to_numpy()
        codes = np.full(len(left), len(comp.levels), dtype=np.int8)
        todo = ~null
        for k, level in enumerate(comp.levels):
            la, lb = (a, b) if level.column == comp.column else _sides(prepared, level.column, left, right)
            holds = _level_holds(level, la, lb, todo, sims)
            if level.unless_both:
                fa, fb = _sides(prepared, level.unless_both, left, right)
                holds &= ~(fa.fill_null(False) & fb.fill_null(False)).to_numpy()
            if level.only_differing:
                holds &= _differ(prepared, level.only_differing, left, right)
            codes[holds] = k
            todo &= ~holds
        if comp.neutral_differing:
            null |= todo & _differ(prepared, comp.neutral_differing, left, right)
        if comp.neutral_if_either:
            fa, fb = _sides(prepared, comp.neutral_if_either, left, right)
            null |= todo & (fa.fill_null(False) | fb.fill_null(False)).to_numpy()
        codes[null] = NULL_LEVEL
        out[gamma_column(comp)] = codes
    return pairs.with_columns([pl.Series(name, values, dtype=pl.Int8) for name, values in out.items()])
