"""Comparison vectors with each column's codes gathered once per comparison (``abm.linkage.compare._Sides``)
equal the previous per-level evaluation, kept here as the reference; and integer dense codes by a numpy
sort (``abm.linkage.distinct._integer_rank``) equal polars' dense rank, value for value."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.block import RID
from abm.linkage.columns import Columns
from abm.linkage.compare import _SCORERS, NULL_LEVEL, _floors, _on_distinct, compare_pairs
from abm.linkage.distinct import dense_codes
from abm.linkage.spec import Comparison, Level, LinkageSpec, parse_spec


def _reference_holds(level: Level, cols: Columns, left: np.ndarray, right: np.ndarray, todo: np.ndarray,
                     sims: dict[tuple[str, str], np.ndarray], floors: dict[tuple[str, str], float]) -> np.ndarray:
    """The previous ``_level_holds``: the null masks and codes gathered anew for every level."""
    nulls = cols.nulls(level.column)
    idx = np.flatnonzero(todo & ~nulls[left] & ~nulls[right])
    holds = np.zeros(len(left), dtype=bool)
    if idx.size == 0:
        return holds
    codes = cols.codes(level.column)
    if level.kind == "exact" and codes is not None:
        holds[idx] = codes[left[idx]] == codes[right[idx]]
    elif level.kind in _SCORERS:
        _, scale = _SCORERS[level.kind]
        known = sims.setdefault((level.column, level.kind), np.full(len(left), np.nan, dtype=np.float32))
        need = idx[np.isnan(known[idx])]
        if need.size:
            known[need] = _on_distinct(level, cols, left[need], right[need], floors.get((level.column, level.kind)))
        holds[idx] = known[idx] / scale >= level.threshold - 1e-6
    else:
        holds[idx] = _on_distinct(level, cols, left[idx], right[idx])
    return holds


def _reference_codes(comp: Comparison, cols: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The previous ``_compare_chunk``'s loop body for one comparison."""
    sims: dict[tuple[str, str], np.ndarray] = {}
    floors = _floors(comp)
    nulls = cols.nulls(comp.column)
    null = nulls[left] | nulls[right]
    codes = np.full(len(left), len(comp.levels), dtype=np.int8)
    todo = ~null
    for k, level in enumerate(comp.levels):
        holds = _reference_holds(level, cols, left, right, todo, sims, floors)
        if level.unless_both:
            flag = cols.flags(level.unless_both)
            holds &= ~(flag[left] & flag[right])
        if level.only_differing:
            flag = cols.flags(level.only_differing)
            holds &= flag[left] != flag[right]
        codes[holds] = k
        todo &= ~holds
    if comp.neutral_differing:
        flag = cols.flags(comp.neutral_differing)
        null |= todo & (flag[left] != flag[right])
    if comp.neutral_if_either:
        flag = cols.flags(comp.neutral_if_either)
        null |= todo & (flag[left] | flag[right])
    codes[null] = NULL_LEVEL
    return codes


def _spec() -> LinkageSpec:
    """Every level kind, levels on other columns than their comparison's, flags of every kind, a
    float column (no codes) and a column of nulls only."""
    return parse_spec({
        "name": "t", "id_column": "id", "blocking": [{"keys": ["a"]}],
        "comparisons": [
            {"name": "a", "column": "a", "neutral_differing": "f", "levels": [
                {"name": "exact", "kind": "exact"},
                {"name": "b_exact", "kind": "exact", "column": "b", "unless_both": "f"},
                {"name": "c_exact", "kind": "exact", "column": "c", "only_differing": "g"},
                {"kind": "jaro_winkler", "threshold": 0.9},
                {"name": "b_jw", "kind": "jaro_winkler", "threshold": 0.8, "column": "b", "unless_both": "g"},
                {"kind": "jaro_winkler", "threshold": 0.7},
                {"name": "b_again", "kind": "exact", "column": "b"},
                {"name": "prefix", "kind": "prefix", "column": "c"}]},
            {"name": "b", "column": "b", "neutral_if_either": "g", "levels": [
                {"kind": "exact"}, {"name": "ratio", "kind": "ratio", "threshold": 0.6},
                {"name": "sets", "kind": "overlap", "column": "sets"}]},
            {"name": "x", "column": "x", "levels": [{"kind": "exact"}, {"kind": "abs_diff", "threshold": 1.5}]},
            {"name": "n", "column": "n", "levels": [{"kind": "exact"}]},
        ],
    }, "t.yaml")


texts = st.one_of(st.none(), st.sampled_from(["abc", "abd", "abcd", "xyz", "", "東京", "東京都", "ab"]))


@settings(max_examples=120, deadline=None)
@given(rows=st.lists(st.tuples(texts, texts, texts, st.one_of(st.none(), st.sampled_from([1.0, 2.0, 2.5, float("nan")])),
                               st.one_of(st.none(), st.booleans()), st.one_of(st.none(), st.booleans()),
                               st.one_of(st.none(), st.sampled_from(["|a|", "|a|b|", "|c|", "|b|c|"]))),
                     min_size=2, max_size=25),
       seed=st.integers(0, 2**16), n_pairs=st.integers(0, 80))
def test_vectors_equal_the_per_level_evaluation(rows, seed, n_pairs):
    prepared = pl.DataFrame(
        {"a": [r[0] for r in rows], "b": [r[1] for r in rows], "c": [r[2] for r in rows],
         "x": [r[3] for r in rows], "f": [r[4] for r in rows], "g": [r[5] for r in rows],
         "sets": [r[6] for r in rows], "n": [None] * len(rows)},
        schema={"a": pl.String, "b": pl.String, "c": pl.String, "x": pl.Float64, "f": pl.Boolean,
                "g": pl.Boolean, "sets": pl.String, "n": pl.Null}).with_row_index(RID)
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(rows), n_pairs), rng.integers(0, len(rows), n_pairs)
    pairs = pl.DataFrame({f"{RID}_l": np.minimum(a, b), f"{RID}_r": np.maximum(a, b)}).cast(pl.UInt32)
    spec = _spec()
    got = compare_pairs(prepared, pairs, spec)
    cols = Columns(prepared)
    left = pairs.get_column(f"{RID}_l").to_numpy().astype(np.intp)
    right = pairs.get_column(f"{RID}_r").to_numpy().astype(np.intp)
    for comp in spec.comparisons:
        assert np.array_equal(got.get_column(f"gamma_{comp.name}").to_numpy(), _reference_codes(comp, cols, left, right))


@pytest.mark.parametrize("values, dtype", [
    ([], pl.Int64), ([None], pl.Int64), ([3, 1, None, 3, -7], pl.Int64), ([5, 5, 0], pl.UInt32),
    ([2**63 - 1, -(2**63), 0, None], pl.Int64), ([2**64 - 1, 0, 2**63], pl.UInt64), ([-1, 1, -1], pl.Int8),
])
def test_integer_codes_are_the_dense_rank_table(values, dtype):
    series = pl.Series(values, dtype=dtype)
    want = series.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1
    got = dense_codes(series)
    assert got.dtype == np.int64 and np.array_equal(got, want)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40), st.integers(-3, 3)), max_size=60))
def test_integer_codes_are_the_dense_rank(values):
    series = pl.Series(values, dtype=pl.Int64)
    assert np.array_equal(dense_codes(series), series.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1)
