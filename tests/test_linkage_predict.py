"""``abm.linkage.score.predict`` (one gather of each comparison's weights, a null level reading an
appended 0.0) gives bit for bit the sums of the masked add it replaced."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.score import NULL_LEVEL, Model, predict


def _masked(vectors: pl.DataFrame, model: Model) -> np.ndarray:
    """The previous implementation: only the pairs whose level is not null add a weight."""
    prior = model.prior or model.lam
    total = np.full(vectors.height, np.log2(prior / (1 - prior)))
    for name, w in zip(model.names, model.weights(), strict=True):
        g = vectors.get_column(f"gamma_{name}").to_numpy().astype(np.int64)
        present = g != NULL_LEVEL
        total[present] += w[g[present]]
    return total


@settings(max_examples=60, deadline=None)
@given(levels=st.lists(st.integers(1, 5), min_size=1, max_size=4), n=st.integers(0, 60),
       seed=st.integers(0, 10_000), lam=st.floats(1e-6, 0.9))
def test_weights_and_probabilities_equal_the_masked_sum(levels, n, seed, lam):
    rng = np.random.default_rng(seed)
    names = tuple(f"c{i}" for i in range(len(levels)))
    model = Model(names=names, level_names=tuple(tuple(f"l{k}" for k in range(k)) for k in levels),
                  m=tuple(rng.dirichlet(np.ones(k)) for k in levels), u=tuple(rng.dirichlet(np.ones(k)) for k in levels),
                  lam=lam, iterations=1, converged=True)
    vectors = pl.DataFrame({f"gamma_{name}": pl.Series(rng.integers(-1, k, n), dtype=pl.Int8)
                            for name, k in zip(names, levels, strict=True)})
    got = predict(vectors, model)
    want = _masked(vectors, model)
    assert np.array_equal(got.get_column("match_weight").to_numpy(), want)
    assert np.array_equal(got.get_column("match_probability").to_numpy(),
                          1.0 / (1.0 + np.exp2(-np.clip(want, -1000, 1000))))
