"""u's random pairs are chosen by the units' content (abm.linkage.usample): a fair sample that an
added, deleted or edited unit barely changes, so an incremental night finds it in the store."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.block import RID
from abm.linkage.usample import sample_pairs


def _frame(n: int, groups: int | None = None, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    content = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    frame = pl.DataFrame({RID: np.arange(n, dtype=np.uint32)})
    if groups:
        frame = frame.with_columns(pl.Series("g", rng.integers(0, groups, n)))
    return frame, content


def _as_content(pairs: pl.DataFrame, content: np.ndarray) -> set[tuple[int, int]]:
    a = content[pairs.get_column(f"{RID}_l").to_numpy()]
    b = content[pairs.get_column(f"{RID}_r").to_numpy()]
    return set(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))


@pytest.mark.parametrize(("n_units", "groups", "n", "expected"), [
    (1, None, 10, 0),            # one unit: no pair
    (5, None, 100, 10),          # fewer pairs than asked: all of them
    (200, None, 500, 500),       # exactly the size asked
    (200, 20, 300, 300),         # within groups
    (6, 6, 100, None),           # groups of one or two: only the pairs inside a group
])
def test_the_sample_has_the_size_asked_distinct_pairs_inside_groups(n_units, groups, n, expected):
    frame, content = _frame(n_units, groups)
    pairs = sample_pairs(frame, n, 42, "g" if groups else None, content)
    left, right = pairs.get_column(f"{RID}_l").to_numpy(), pairs.get_column(f"{RID}_r").to_numpy()
    assert (left < right).all() and not pairs.is_duplicated().any()
    if groups:
        g = frame.get_column("g").to_numpy()
        assert (g[left] == g[right]).all()
        sizes = np.bincount(g)
        expected = min(n, int((sizes * (sizes - 1) // 2).sum())) if expected is None else expected
    assert pairs.height == expected


def test_null_groups_are_left_out():
    frame = pl.DataFrame({RID: np.arange(4, dtype=np.uint32), "g": [None, None, "a", "a"]})
    pairs = sample_pairs(frame, 10, 1, "g", np.arange(4, dtype=np.uint64))
    assert pairs.rows() == [(2, 3)]


@settings(max_examples=15, deadline=None)
@given(deleted=st.lists(st.integers(0, 1999), min_size=1, max_size=20, unique=True),
       added=st.integers(0, 20), seed=st.integers(0, 2**32))
def test_deleting_or_adding_a_few_units_keeps_nearly_the_whole_sample(deleted, added, seed):
    """Rows shift (every row number after a deleted row changes): the sample, as pairs of contents, stays."""
    frame, content = _frame(2000, seed=seed % 1000)
    before = _as_content(sample_pairs(frame, 3000, seed, None, content), content)
    kept = np.delete(content, deleted)
    tonight = np.r_[kept, np.random.default_rng(seed + 10**6).integers(0, 2**63, added, dtype=np.int64).astype(np.uint64)]
    after = _as_content(sample_pairs(pl.DataFrame({RID: np.arange(len(tonight), dtype=np.uint32)}), 3000, seed,
                                     None, tonight), tonight)
    changed = len(deleted) + added
    assert len(after) == 3000
    assert len(before & after) >= 3000 - 8 * changed - 60   # a few neighbours per change, a few at the cut


def test_the_sample_is_spread_like_random_pairs():
    """Every unit takes part about equally often, and the seed gives another sample."""
    frame, content = _frame(3000)
    pairs = sample_pairs(frame, 6000, 7, None, content)
    times = np.bincount(np.r_[pairs.get_column(f"{RID}_l").to_numpy(), pairs.get_column(f"{RID}_r").to_numpy()],
                        minlength=3000)
    assert times.mean() == pytest.approx(4.0) and times.max() <= 12
    other = sample_pairs(frame, 6000, 8, None, content)
    assert len(_as_content(pairs, content) & _as_content(other, content)) < 200
    # row numbers do not matter: the same contents in another row order give the same sample
    order = np.random.default_rng(3).permutation(3000)
    shuffled = sample_pairs(frame, 6000, 7, None, content[order])
    assert _as_content(shuffled, content[order]) == _as_content(pairs, content)
