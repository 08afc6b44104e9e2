"""The per-distinct-value helper: once per value, same result with or without worker processes."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize import unique


@pytest.fixture
def parallel(monkeypatch):
    monkeypatch.setattr(unique, "PARALLEL_MIN", 1)
    monkeypatch.setattr(unique, "CHUNK", 3)
    monkeypatch.setenv("ABM_WORKERS", "2")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_apply_unique_same_with_and_without_workers(monkeypatch, workers):
    monkeypatch.setattr(unique, "PARALLEL_MIN", 1)
    monkeypatch.setattr(unique, "CHUNK", 2)
    monkeypatch.setenv("ABM_WORKERS", workers)
    suffix = "!"   # a closure: forked workers need no pickling
    df = pl.DataFrame({"a": ["x", "y", None, "x", "z", "w", "y"], "b": [1, 2, 3, 1, 5, 6, 2]})
    out = unique.apply_unique(df, ["a", "b"], lambda a, b: ((a or "") + suffix, b * 2), {"s": pl.Utf8, "d": pl.Int64})
    assert out.get_column("s").to_list() == ["x!", "y!", "!", "x!", "z!", "w!", "y!"]
    assert out.get_column("d").to_list() == [2, 4, 6, 2, 10, 12, 4]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=30))
def test_map_unique_equals_elementwise(values):
    import os

    os.environ["ABM_WORKERS"] = "2"
    old = unique.PARALLEL_MIN
    unique.PARALLEL_MIN = 1
    try:
        out = unique.map_unique(pl.Series("v", values, dtype=pl.Utf8), lambda v: v.upper() + "?", pl.Utf8, "null")
    finally:
        unique.PARALLEL_MIN = old
        del os.environ["ABM_WORKERS"]
    assert out.to_list() == [("null" if v is None else v.upper() + "?") for v in values]
    assert out.name == "v"


def test_workers_setting(monkeypatch):
    monkeypatch.setenv("ABM_WORKERS", "1")
    assert unique.workers() == 1
    monkeypatch.setenv("ABM_WORKERS", "junk")
    assert 1 <= unique.workers() <= 4


def test_map_values_runs_in_worker_processes(parallel):
    import os

    pids = set(unique.map_values(lambda _: os.getpid(), [(i,) for i in range(12)]))
    assert os.getpid() not in pids
