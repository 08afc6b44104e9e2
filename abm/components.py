"""Connected components of an undirected graph given as edge arrays, in numpy alone.

The same labels as ``scipy.sparse.csgraph.connected_components(..., directed=False)``: component k
is the one holding the k-th smallest "lowest node" (scipy numbers components as its search meets
them, from node 0 upwards). scipy is not imported for this: since scipy 1.15 ``scipy.sparse`` loads
its array-API layer, which clones the whole numpy namespace and so imports ``numpy.f2py``,
``numpy.ma``, ``numpy.testing`` and ``numpy.ctypeslib`` — ≈ 0.45 s of every ``abm run``'s start-up
for one function. ``tests/test_components.py`` pins the labels to scipy's on random graphs.

Method: every node points to a smaller node of its component (a forest whose roots are the
components' lowest nodes); each round hooks the root of an edge's larger end under the root of its
smaller end (``np.minimum.at``) and then shortcuts every pointer to its root, until no edge joins
two roots. Rounds are few (pointer jumping halves path lengths); all work is vectorised.
"""

from __future__ import annotations

import numpy as np


def connected_components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label (int32, numbered as scipy numbers them) of each of the ``n`` nodes; the
    edges are ``left[i] — right[i]`` (node indices below ``n``; direction and repeats do not matter)."""
    parent = np.arange(n, dtype=np.int64)
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    while len(left):
        a, b = parent[left], parent[right]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        apart = lo != hi
        if not apart.any():
            break
        left, right = left[apart], right[apart]   # edges inside one tree stay inside it
        np.minimum.at(parent, hi[apart], lo[apart])
        while True:   # every pointer straight to its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return np.unique(parent, return_inverse=True)[1].astype(np.int32)
