"""u's random pairs are chosen by the units' content (abm.linkage.usample): a fair sample that an
added, deleted or edited unit barely changes, so an incremental night finds it in the store."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.block import RID
from abm.linkage.usample import sample_pairs, stable_hash


def _ids(values: np.ndarray) -> pl.Series:
    return pl.Series([f"rk:{v}" for v in values.tolist()])


def _frame(n: int, groups: int | None = None, seed: int = 0) -> tuple[pl.DataFrame, pl.Series]:
    rng = np.random.default_rng(seed)
    ids = _ids(rng.choice(10**9, n, replace=False))
    frame = pl.DataFrame({RID: np.arange(n, dtype=np.uint32)})
    if groups:
        frame = frame.with_columns(pl.Series("g", rng.integers(0, groups, n)))
    return frame, ids


def _as_ids(pairs: pl.DataFrame, ids: pl.Series) -> set[tuple[str, str]]:
    a = ids.gather(pairs.get_column(f"{RID}_l")).to_list()
    b = ids.gather(pairs.get_column(f"{RID}_r")).to_list()
    return {(min(x, y), max(x, y)) for x, y in zip(a, b, strict=True)}


@pytest.mark.parametrize(("n_units", "groups", "n", "expected"), [
    (1, None, 10, 0),            # one unit: no pair
    (5, None, 100, 10),          # fewer pairs than asked: all of them
    (200, None, 500, 500),       # exactly the size asked
    (200, 20, 300, 300),         # within groups
    (6, 6, 100, None),           # groups of one or two: only the pairs inside a group
])
def test_the_sample_has_the_size_asked_distinct_pairs_inside_groups(n_units, groups, n, expected):
    frame, ids = _frame(n_units, groups)
    pairs = sample_pairs(frame, n, 42, "g" if groups else None, ids)
    left, right = pairs.get_column(f"{RID}_l").to_numpy(), pairs.get_column(f"{RID}_r").to_numpy()
    assert (left < right).all() and not pairs.is_duplicated().any()
    if groups:
        g = frame.get_column("g").to_numpy()
        assert (g[left] == g[right]).all()
        sizes = np.bincount(g)
        expected = min(n, int((sizes * (sizes - 1) // 2).sum())) if expected is None else expected
    assert pairs.height == expected


@settings(max_examples=40, deadline=None)
@given(n_units=st.integers(0, 300), groups=st.one_of(st.none(), st.integers(1, 40)), n=st.integers(0, 400),
       seed=st.integers(0, 2**16))
def test_pairs_come_sorted_by_left_then_right_as_a_lexsort_orders_them(n_units, groups, n, seed):
    """The packed sort of the pairs gives the order (and the UInt32 columns) the lexsort of the two did."""
    frame, ids = _frame(n_units, groups, seed)
    pairs = sample_pairs(frame, n, seed, "g" if groups else None, ids)
    left, right = pairs.get_column(f"{RID}_l").to_numpy(), pairs.get_column(f"{RID}_r").to_numpy()
    order = np.lexsort((right, left))
    assert pairs.schema == pl.Schema({f"{RID}_l": pl.UInt32(), f"{RID}_r": pl.UInt32()})
    assert np.array_equal(order, np.arange(len(order)))


def test_no_group_of_two_falls_back_to_pairs_of_any_two_units():
    frame = pl.DataFrame({RID: np.arange(5, dtype=np.uint32), "g": ["a", "b", "c", "d", None]})
    assert sample_pairs(frame, 100, 1, "g", _ids(np.arange(5))).height == 10


def test_null_groups_are_left_out():
    frame = pl.DataFrame({RID: np.arange(4, dtype=np.uint32), "g": [None, None, "a", "a"]})
    pairs = sample_pairs(frame, 10, 1, "g", _ids(np.arange(4)))
    assert pairs.rows() == [(2, 3)]


@settings(max_examples=15, deadline=None)
@given(deleted=st.lists(st.integers(0, 1999), min_size=1, max_size=20, unique=True),
       added=st.integers(0, 20), seed=st.integers(0, 2**32))
def test_deleting_or_adding_a_few_units_keeps_nearly_the_whole_sample(deleted, added, seed):
    """Rows shift (every row number after a deleted row changes): the sample, as pairs of ids, stays."""
    frame, ids = _frame(2000, seed=seed % 1000)
    before = _as_ids(sample_pairs(frame, 3000, seed, None, ids), ids)
    tonight = pl.concat([ids.gather(np.delete(np.arange(2000), deleted)), _ids(np.arange(added) + 2 * 10**9)]).sort()
    after = _as_ids(sample_pairs(pl.DataFrame({RID: np.arange(len(tonight), dtype=np.uint32)}), 3000, seed,
                                 None, tonight), tonight)
    changed = len(deleted) + added
    assert len(after) == 3000
    assert len(before & after) >= 3000 - 8 * changed - 60   # a few neighbours per change, a few at the cut


def test_the_sample_is_spread_like_random_pairs():
    """Every unit takes part about equally often, and the seed gives another sample."""
    frame, ids = _frame(3000)
    pairs = sample_pairs(frame, 6000, 7, None, ids)
    times = np.bincount(np.r_[pairs.get_column(f"{RID}_l").to_numpy(), pairs.get_column(f"{RID}_r").to_numpy()],
                        minlength=3000)
    assert times.mean() == pytest.approx(4.0) and times.max() <= 12
    other = sample_pairs(frame, 6000, 8, None, ids)
    assert len(_as_ids(pairs, ids) & _as_ids(other, ids)) < 200
    # row numbers do not matter: the same ids in another row order give the same sample
    order = np.random.default_rng(3).permutation(3000)
    shuffled = sample_pairs(frame, 6000, 7, None, ids.gather(order))
    assert _as_ids(shuffled, ids.gather(order)) == _as_ids(pairs, ids)


@pytest.mark.parametrize(("value", "expected"), [("", 0xF52A15E9A9B5E89B), ("a", 0x02C0BDBF481420F8)])
def test_the_id_hash_is_fixed_across_versions_and_batches(value, expected):
    assert int(stable_hash(pl.Series([value]))[0]) == expected
    assert int(stable_hash(pl.Series([value, "a much longer id 日本"]))[0]) == expected
