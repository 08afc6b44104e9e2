"""abm.components numbers components exactly as scipy's connected_components (undirected) does."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from abm.components import connected_components


def _scipy(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    return scipy_components(graph, directed=False)[1]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 60))
    if n == 0:
        return 0, np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=120))
    return n, np.array([e[0] for e in edges], dtype=np.int64), np.array([e[1] for e in edges], dtype=np.int64)


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_same_labels_as_scipy(graph: tuple[int, np.ndarray, np.ndarray]) -> None:
    n, left, right = graph
    ours = connected_components(n, left, right)
    assert ours.dtype == np.int32
    assert ours.tolist() == _scipy(n, left, right).tolist()


@pytest.mark.parametrize("n, edges, expected", [
    (0, [], []),
    (3, [], [0, 1, 2]),
    (4, [(3, 0)], [0, 1, 2, 0]),
    (5, [(4, 3), (3, 2), (2, 1), (1, 0)], [0, 0, 0, 0, 0]),      # a path, numbered backwards
    (6, [(5, 1), (4, 2), (2, 5), (3, 3)], [0, 1, 1, 2, 1, 1]),    # self loop, chain through 5
    (4, [(1, 2), (2, 1), (1, 2)], [0, 1, 1, 2]),                  # repeats and both directions
])
def test_table(n: int, edges: list[tuple[int, int]], expected: list[int]) -> None:
    left = np.array([e[0] for e in edges], dtype=np.int64)
    right = np.array([e[1] for e in edges], dtype=np.int64)
    assert connected_components(n, left, right).tolist() == expected


def test_large_random_graph_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    left, right = rng.integers(0, n, 150_000), rng.integers(0, n, 150_000)
    assert np.array_equal(connected_components(n, left, right), _scipy(n, left, right))
