"""abm.linkage.score.train packs every pair's levels once and nulls each blocking rule's held-out
comparisons with a bit mask: the per-rule patterns and counts equal those of the row-wise way
(a copy of the rule's rows with the held-out columns set to the null level, packed again)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from abm.linkage.compare import NULL_LEVEL
from abm.linkage.score import _distinct_packed, _held_out_mask, _packed, _patterns


def _rowwise(gammas: np.ndarray, mask: np.ndarray, held: list[int]) -> tuple[np.ndarray, np.ndarray]:
    g = gammas[mask]
    g[:, held] = NULL_LEVEL
    return _patterns(g)


def _masked(gammas: np.ndarray, mask: np.ndarray, held: list[int]) -> tuple[np.ndarray, np.ndarray]:
    width = gammas.shape[1]
    return _distinct_packed(_packed(gammas)[mask] & _held_out_mask(held, width), width)


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    assert a[0].dtype == b[0].dtype and a[0].shape == b[0].shape
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


CASES = [
    ("nothing held", [[0, 1], [0, 1], [2, -1]], [True, True, True], []),
    ("first held", [[0, 1], [1, 1], [2, -1]], [True, True, False], [0]),
    ("last held", [[0, 1], [0, 2], [-1, -1]], [True, True, True], [1]),
    ("all held", [[0, 1], [3, 2]], [True, True], [0, 1]),
    ("widest level", [[126, -1, 5], [126, 0, 5]], [True, True], [1]),
    ("nine comparisons", [list(range(-1, 8)), list(range(8, -1, -1))], [True, True], [0, 8]),
]


@pytest.mark.parametrize(("rows", "mask", "held"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_masked_equals_rowwise(rows, mask, held) -> None:
    gammas = np.array(rows, dtype=np.int8)
    mask = np.array(mask)
    _same(_masked(gammas, mask, held), _rowwise(gammas, mask, held))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9).flatmap(lambda width: st.tuples(
    hnp.arrays(np.int8, st.tuples(st.integers(1, 40), st.just(width)), elements=st.integers(-1, 126)),
    st.lists(st.integers(0, width - 1), max_size=width))), st.integers(0, 2**32 - 1))
def test_masked_equals_rowwise_property(gammas_held, seed) -> None:
    gammas, held = gammas_held
    mask = np.random.default_rng(seed).random(len(gammas)) < 0.6
    mask[0] = True   # train skips a rule whose mask holds nothing
    _same(_masked(gammas, mask, held), _rowwise(gammas, mask, held))
    _same(_distinct_packed(_packed(gammas), gammas.shape[1]), _patterns(gammas))
    # a chunked distinct step merges to the same patterns
    _same(_distinct_packed(_packed(gammas), gammas.shape[1], chunk=3), _patterns(gammas))
