"""Scores: pairwise and B-cubed computed by hand on small labelings."""

from __future__ import annotations

import polars as pl
import pytest

from abm.evaluate import cluster_scores


def test_perfect_clustering_scores_one():
    s = cluster_scores(pl.Series(["a", "a", "b"]), pl.Series(["x", "x", "y"]))
    assert s["pairwise_f1"] == 1.0 and s["bcubed_f1"] == 1.0


def test_one_false_merge():
    # predicted {1,2,3}, truth {1,2} {3}: 3 predicted pairs, 1 true pair, 1 correct
    s = cluster_scores(pl.Series(["a", "a", "a"]), pl.Series(["x", "x", "y"]))
    assert s["pairwise_precision"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["pairwise_recall"] == 1.0
    # B-cubed precision: (2/3 + 2/3 + 1/3) / 3
    assert s["bcubed_precision"] == pytest.approx(5 / 9, abs=1e-4)
    assert s["bcubed_recall"] == 1.0


def test_one_missed_link():
    s = cluster_scores(pl.Series(["a", "b", "c"]), pl.Series(["x", "x", "y"]))
    assert s["pairwise_precision"] == 1.0
    assert s["pairwise_recall"] == 0.0
    assert s["bcubed_recall"] == pytest.approx((0.5 + 0.5 + 1) / 3, abs=1e-4)
