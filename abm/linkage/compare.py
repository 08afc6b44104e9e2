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
from abm.linkage.columns import Columns
from abm.linkage.distinct import first_and_inverse
from abm.linkage.spec import Comparison, Level, LinkageSpec

if TYPE_CHECKING:
    from abm.linkage.reuse import SpecReuse

NULL_LEVEL = -1
#: packed (code, element) keys stay below this: int64 never overflows
_PACK_LIMIT = 2**62
#: a scorer's cutoff sits this far below the lowest threshold: a similarity a level tests (≥ threshold
#: - 1e-6) is never cut to 0 by a rounding at the boundary
_CUTOFF_MARGIN = 1e-5

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


def _distinct(cols: Columns, column: str, left: np.ndarray, right: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (left value, right value) pairs among the given non-null pairs: the rows of
    one pair per distinct value pair, and for each given pair the index of its distinct pair."""
    codes = cols.codes(column)
    if codes is None:
        return left, right, np.arange(len(left))
    key = codes[left] * np.int64(int(codes.max()) + 1) + codes[right]
    first, inverse = first_and_inverse(key)
    return left[first], right[first], inverse


def _evaluate(level: Level, sa: pl.Series, sb: pl.Series) -> np.ndarray:
    """``level`` on two aligned non-null value series: whether it holds (a similarity for a scorer)."""
    if level.kind == "exact":
        return (sa == sb).to_numpy()
    if level.kind == "prefix":
        la, lb = pl.col("a"), pl.col("b")
        return pl.DataFrame({"a": sa.cast(pl.Utf8), "b": sb.cast(pl.Utf8)}).select(
            (la.str.starts_with(lb) | lb.str.starts_with(la)).fill_null(False)).to_series().to_numpy()
    if level.kind == "overlap":  # "|a|b|" sets of alternatives that share one element
        sets_a = sa.cast(pl.Utf8).str.strip_chars("|").str.split("|")
        sets_b = sb.cast(pl.Utf8).str.strip_chars("|").str.split("|")
        return (sets_a.list.set_intersection(sets_b).list.len() > 0).fill_null(False).to_numpy()
    if level.kind == "abs_diff":
        return ((sa.cast(pl.Float64) - sb.cast(pl.Float64)).abs() <= level.threshold).fill_null(False).to_numpy()
    scorer, _ = _SCORERS[level.kind]
    return process.cpdist(sa.cast(pl.Utf8).to_list(), sb.cast(pl.Utf8).to_list(), scorer=scorer, workers=-1,
                          dtype=np.float32)


def _share_an_alternative(cols: Columns, column: str, left: np.ndarray, right: np.ndarray) -> np.ndarray | None:
    """The ``overlap`` level over non-null pairs, on the integer ids of each value's alternatives
    (``Columns.alternatives``): each left element is looked up among the right value's (code,
    element) keys. A polars split and set intersection per pair of strings cost 0.21 s CPU for
    persons' readings at 20 k (173 k distinct pairs), this 0.06 s (+ 0.04 s to split each value
    once). None: the column has no codes (or the keys would not fit an int64)."""
    alternatives = cols.alternatives(column)
    codes = cols.codes(column)
    if alternatives is None or codes is None:
        return None
    starts, ids = alternatives
    width = np.int64(int(ids.max(initial=0)) + 1)
    lengths = np.diff(starts)
    if len(lengths) * int(width) >= _PACK_LIMIT:   # (code, element) would not fit one int64
        return None
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    keys = pl.Series(owner * width + ids)   # (code, element) of every value
    a, b = codes[left], codes[right]
    n = lengths[a]
    pair = np.repeat(np.arange(len(a)), n)   # one row per element of a pair's left value
    element = ids[np.repeat(starts[a] - np.cumsum(n) + n, n) + np.arange(int(n.sum()))]
    # a hash lookup: ≈ 6× faster than numpy's searchsorted of ~1 M unsorted keys
    found = pl.Series(b[pair] * width + element).is_in(keys.implode()).to_numpy()
    holds = np.zeros(len(a), dtype=bool)
    holds[pair[found]] = True
    return holds


def _on_distinct(level: Level, cols: Columns, left: np.ndarray, right: np.ndarray,
                 floor: float | None = None) -> np.ndarray:
    """``_evaluate`` over the given pairs, computed once per distinct pair of values. ``floor``: for a
    scorer, the lowest threshold any level asks of these similarities; below it (with a margin, so
    no level's test moves) a similarity may come back as 0, which lets rapidfuzz stop early."""
    dl, dr, inverse = _distinct(cols, level.column, left, right)
    if level.kind == "overlap":
        shared = _share_an_alternative(cols, level.column, dl, dr)
        if shared is not None:
            return shared[inverse]
    texts = cols.texts(level.column) if level.kind in _SCORERS else None
    if texts is not None:
        codes = cols.codes(level.column)
        assert codes is not None
        scorer, scale = _SCORERS[level.kind]
        cutoff = None if floor is None else (floor - _CUTOFF_MARGIN) * scale
        return process.cpdist(texts[codes[dl]], texts[codes[dr]], scorer=scorer, workers=-1,
                              dtype=np.float32, score_cutoff=cutoff)[inverse]
    return _evaluate(level, cols.values(level.column, dl), cols.values(level.column, dr))[inverse]


def _level_holds(level: Level, cols: Columns, left: np.ndarray, right: np.ndarray, todo: np.ndarray,
                 sims: dict[tuple[str, str], np.ndarray] | None = None,
                 floors: dict[tuple[str, str], float] | None = None,
                 sides: _Sides | None = None) -> np.ndarray:
    """Boolean mask (over all pairs) of pairs in ``todo`` for which ``level`` holds. ``sims`` keeps
    each (column, scorer)'s similarities, so two levels of one scorer (JW ≥ 0.9, JW ≥ 0.75) score a
    pair once; ``floors``: per (column, scorer), the lowest threshold of those levels (``_floors``);
    ``sides``: the pairs' codes gathered once per column (``_Sides``), shared by the other levels."""
    sides = sides if sides is not None else _Sides(cols, left, right)
    if level.kind == "exact" and (gathered := sides.codes(level.column)) is not None:
        # two equal codes, neither null (-1): no index of the todo pairs, no second gather
        code_l, code_r = gathered
        return todo & (code_l == code_r) & (code_l >= 0)
    idx = np.flatnonzero(todo & sides.present(level.column))
    holds = np.zeros(len(left), dtype=bool)
    if idx.size == 0:
        return holds
    if level.kind in _SCORERS:
        _, scale = _SCORERS[level.kind]
        known = (sims if sims is not None else {}).setdefault((level.column, level.kind),
                                                              np.full(len(left), np.nan, dtype=np.float32))
        need = idx[np.isnan(known[idx])]
        if need.size:
            floor = (floors or {}).get((level.column, level.kind))
            known[need] = _on_distinct(level, cols, left[need], right[need], floor)
        holds[idx] = known[idx] / scale >= level.threshold - 1e-6
    else:
        holds[idx] = _on_distinct(level, cols, left[idx], right[idx])
    return holds


class _Sides:
    """The codes, non-null masks and flags of columns at the two rows of each pair, gathered once per
    column and comparison: the name comparison reads ``company_key`` in three of its levels and its
    null, ``company_romaji`` in three, ``name_has_kanji`` twice. Codes are gathered as int32 where
    they fit (half the bytes of int64). Built per comparison, so at most one comparison's columns are
    held for a chunk of pairs."""

    def __init__(self, cols: Columns, left: np.ndarray, right: np.ndarray):
        self.cols, self.left, self.right = cols, left, right
        self._codes: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self._present: dict[str, np.ndarray] = {}
        self._flags: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Each pair's two codes (-1: null), or None for a column without codes (floats)."""
        if column not in self._codes:
            codes = self.cols.narrow_codes(column)
            self._codes[column] = None if codes is None else (codes[self.left], codes[self.right])
        return self._codes[column]

    def present(self, column: str) -> np.ndarray:
        """Whether both sides of each pair hold a value in ``column``."""
        if column not in self._present:
            gathered = self.codes(column)
            if gathered is not None:
                self._present[column] = (gathered[0] >= 0) & (gathered[1] >= 0)
            else:
                nulls = self.cols.nulls(column)
                self._present[column] = ~(nulls[self.left] | nulls[self.right])
        return self._present[column]

    def flags(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in self._flags:
            flag = self.cols.flags(column)
            self._flags[column] = (flag[self.left], flag[self.right])
        return self._flags[column]


def _floors(comp: Comparison) -> dict[tuple[str, str], float]:
    """Per (column, scorer) of ``comp``'s similarity levels, the lowest threshold: no level asks
    whether a similarity below it reaches anything (such similarities may be scored as 0). With
    rapidfuzz's score_cutoff at it, accounts' Jaro-Winkler scoring at 20 k costs 0.10 s CPU per
    column instead of 0.14."""
    floors: dict[tuple[str, str], float] = {}
    for level in comp.levels:
        if level.kind in _SCORERS:
            key = (level.column, level.kind)
            floors[key] = min(floors.get(key, level.threshold), level.threshold)
    return floors


#: pairs compared at once: strings are gathered per chunk, so memory does not grow with the pair count
CHUNK = 1_000_000


def compare_pairs(prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec, chunk: int = CHUNK, *,
                  reuse: SpecReuse | None = None, cols: Columns | None = None) -> pl.DataFrame:
    """``pairs`` with one ``gamma_<comparison>`` int8 column per comparison (computed ``chunk`` pairs at a time).
    ``reuse``: the previous run's vectors of unchanged pairs are taken from it (``abm.linkage.reuse``);
    ``cols``: the ``Columns`` of ``prepared`` when the caller has them already."""
    cols = cols if cols is not None else Columns(prepared)
    if reuse is not None:
        return reuse.compare(prepared, pairs, spec, lambda todo: compare_pairs(prepared, todo, spec, chunk, cols=cols))
    if pairs.height <= chunk:
        return _compare_chunk(prepared, pairs, spec, cols)
    parts = [_compare_chunk(prepared, pairs.slice(o, chunk), spec, cols) for o in range(0, pairs.height, chunk)]
    return pl.concat(parts, rechunk=False)


def _compare_chunk(prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec,
                   cols: Columns | None = None) -> pl.DataFrame:
    cols = cols if cols is not None else Columns(prepared)
    # as numpy's index type once: a gather by a uint32 array converts it first, every time (dozens a chunk)
    left = pairs.get_column(f"{RID}_l").to_numpy().astype(np.intp)
    right = pairs.get_column(f"{RID}_r").to_numpy().astype(np.intp)
    out = {}
    for comp in spec.comparisons:
        out[gamma_column(comp)] = _comparison_codes(comp, cols, left, right)
    return pairs.with_columns([pl.Series(name, values, dtype=pl.Int8) for name, values in out.items()])


def _comparison_codes(comp: Comparison, cols: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """One comparison's level code per pair: -1 null, else the first level that holds, else k."""
    sims: dict[tuple[str, str], np.ndarray] = {}
    floors = _floors(comp)
    sides = _Sides(cols, left, right)
    null = ~sides.present(comp.column)
    codes = np.full(len(left), len(comp.levels), dtype=np.int8)
    todo = ~null
    for k, level in enumerate(comp.levels):
        holds = _level_holds(level, cols, left, right, todo, sims, floors, sides)
        if level.unless_both:
            flag_l, flag_r = sides.flags(level.unless_both)
            holds &= ~(flag_l & flag_r)
        if level.only_differing:
            flag_l, flag_r = sides.flags(level.only_differing)
            holds &= flag_l != flag_r
        codes[holds] = k
        todo &= ~holds
    if comp.neutral_differing:
        flag_l, flag_r = sides.flags(comp.neutral_differing)
        null |= todo & (flag_l != flag_r)
    if comp.neutral_if_either:
        flag_l, flag_r = sides.flags(comp.neutral_if_either)
        null |= todo & (flag_l | flag_r)
    codes[null] = NULL_LEVEL
    return codes
