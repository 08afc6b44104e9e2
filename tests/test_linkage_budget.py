"""Pair budgets: counted before blocking, windowed or refused up front, never an OOM."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from abm.linkage.block import block
from abm.linkage.budget import PairBudgetError, planned_pairs, windowed_pairs
from abm.linkage.engine import link
from abm.linkage.spec import parse_spec


def _doc(**overrides: object) -> dict:
    doc = {
        "name": "toy", "id_column": "id",
        "blocking": [{"name": "city", "keys": ["city"]}, {"name": "name", "keys": ["name"]}],
        "comparisons": [
            {"name": "name", "column": "name", "levels": [{"kind": "exact"}, {"kind": "jaro_winkler", "threshold": 0.9}]},
            {"name": "city", "column": "city", "levels": [{"kind": "exact"}]},
        ],
        "threshold": 0.9, "prior": 0.1, "u_sample_pairs": 2000,
    }
    doc.update(overrides)
    return doc


def _data() -> pl.DataFrame:
    """One big city (100 rows), ten small ones (5 rows each); names come in near-identical pairs."""
    cities = ["big"] * 100 + [f"c{i}" for i in range(10) for _ in range(5)]
    return pl.DataFrame({"id": [f"r{i:03d}" for i in range(150)], "city": cities,
                         "name": [f"name{i // 2:03d}" + "x" * (i % 2) for i in range(150)]})


@pytest.mark.parametrize(("sizes", "max_block", "window", "expected"), [
    ([5, 5], 10, 3, 20),              # all pairs
    ([100], 50, 10, 10 * 100 - 55),   # windowed: 10 neighbours each, minus the tail
    ([100, 4], 50, 10, 945 + 6),
    ([1, 1, 1], 10, 3, 0),
])
def test_planned_pairs_counts_full_and_windowed_blocks(sizes, max_block, window, expected):
    assert planned_pairs(np.array(sizes), max_block, window) == expected


def test_windowed_pairs_never_exceed_all_pairs():
    n = np.arange(0, 60)
    assert (windowed_pairs(n, 10) <= n * (n - 1) / 2).all()


def test_counts_are_logged_and_kept_before_pairs_are_built():
    spec = parse_spec(_doc(), "toy.yaml")
    blocked = block(_data(), spec)
    assert blocked.planned["city"] == 100 * 99 // 2 + 10 * 10
    assert blocked.counts["city"] == blocked.planned["city"]  # the first rule: no pair excluded


def test_rule_over_budget_is_windowed_automatically():
    doc = _doc(blocking=[{"name": "city", "keys": ["city"], "max_pairs": 2000, "window": 5},
                         {"name": "name", "keys": ["name"]}])
    blocked = block(_data(), parse_spec(doc, "toy.yaml"))
    assert blocked.max_block["city"] < 100          # the big city is now windowed
    assert blocked.max_block["city"] >= 5           # the small ones still pair fully
    assert blocked.planned["city"] <= 2000
    assert blocked.counts["city"] <= 2000
    assert blocked.windowed_blocks["city"] == 1


def test_rule_over_budget_stops_up_front_with_over_budget_error():
    doc = _doc(blocking=[{"name": "city", "keys": ["city"], "max_pairs": 2000}], over_budget="error")
    with pytest.raises(PairBudgetError) as err:
        link(_data(), parse_spec(doc, "toy.yaml"))
    text = err.value.message()
    assert "toy.yaml" in text and "'city'" in text and "5,050" in text and "max_block" in text
    assert err.value.exit_code == 3


def test_rule_that_cannot_fit_even_windowed_is_refused():
    doc = _doc(blocking=[{"name": "city", "keys": ["city"], "max_pairs": 10, "window": 5}])
    with pytest.raises(PairBudgetError, match="even with every block windowed"):
        block(_data(), parse_spec(doc, "toy.yaml"))


def test_spec_budget_stops_at_the_rule_that_crosses_it():
    doc = _doc(max_pairs=5000)   # city alone builds 5,050
    with pytest.raises(PairBudgetError, match="reach 5,050 with rule 'city'"):
        block(_data(), parse_spec(doc, "toy.yaml"))


def test_over_budget_value_is_validated():
    from abm.errors import RulesError

    with pytest.raises(RulesError, match="over_budget"):
        parse_spec(_doc(over_budget="explode"), "toy.yaml")


def test_chunked_compare_and_patterns_equal_one_pass(monkeypatch):
    import abm.linkage.compare as compare

    spec = parse_spec(_doc(), "toy.yaml")
    whole = link(_data(), spec)
    monkeypatch.setattr(compare, "CHUNK", 7)
    monkeypatch.setattr(compare.compare_pairs, "__defaults__", (7,))
    chunked = link(_data(), spec)
    assert whole.units.get_column("cluster").to_list() == chunked.units.get_column("cluster").to_list()
    assert whole.pairs.equals(chunked.pairs)


def test_streamed_scoring_gives_the_same_clusters_as_the_full_table(monkeypatch):
    """Above KEEP_ALL_PAIRS the engine compares in chunks, trains on pattern counts and keeps only
    the pairs that can matter: the clusters, the model and the evidence kept are the same as when
    the full comparison table is built and pruned afterwards."""
    import hashlib

    import abm.linkage.engine as engine
    import abm.linkage.stream as stream

    spec = parse_spec(_doc(threshold=0.8), "toy.yaml")
    data = _data().with_columns(   # names that differ clearly, except each near-identical pair
        pl.Series("name", [hashlib.md5(str(i // 2).encode()).hexdigest()[:8] + "x" * (i % 2) for i in range(150)]))
    whole = link(data, spec)                          # below KEEP_ALL_PAIRS: every pair kept
    monkeypatch.setattr(engine, "KEEP_ALL_PAIRS", 10)
    monkeypatch.setattr(engine, "KEEP_MIN_PROBABILITY", 0.05)   # the toy's "different" pairs score 0.03
    monkeypatch.setattr(engine, "streamable", lambda spec: False)
    full = link(data, spec)                           # full table, pruned afterwards
    calls = []
    monkeypatch.setattr(engine, "streamable", lambda spec: calls.append(1) or True)
    monkeypatch.setattr(stream.score_large, "__defaults__", (None, 7))   # chunks of 7 pairs
    streamed = link(data, spec)
    assert calls and streamed.candidates == whole.pairs.height > 10
    for other in (whole, full):
        assert streamed.units.get_column("cluster").to_list() == other.units.get_column("cluster").to_list()
        assert streamed.model.table() == other.model.table()
    assert 0 < streamed.pairs.height < whole.pairs.height
    assert streamed.pairs.sort("__rid_l", "__rid_r").equals(full.pairs.sort("__rid_l", "__rid_r"))


def test_windowed_blocks_still_find_the_matches():
    """A rule windowed to fit its budget still links every near-identical pair (sorted neighbours)."""
    spec = parse_spec(_doc(), "toy.yaml")
    windowed = parse_spec(_doc(blocking=[{"name": "city", "keys": ["city"], "max_pairs": 1000, "window": 3},
                                         {"name": "name", "keys": ["name"]}]), "toy.yaml")
    full, small = link(_data(), spec), link(_data(), windowed)
    assert small.candidates < full.candidates
    assert small.units.get_column("cluster").to_list() == full.units.get_column("cluster").to_list()
