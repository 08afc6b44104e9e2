"""An incremental night compares its few new pairs, and evaluates their sql guards, on the units they touch
(``abm.linkage.reuse.compare_few``, ``abm.linkage.reuse_guards.evaluate_few``): the vectors and the
cannot-links are those computed over every unit."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage import reuse
from abm.linkage.block import RID, block
from abm.linkage.compare import compare_pairs
from abm.linkage.engine import link
from abm.linkage.guards import cannot_links
from abm.linkage.reuse import PairStore, compare_few
from abm.linkage.reuse_guards import GuardReuse, evaluate_few, touched_rows
from abm.linkage.spec import parse_spec

RAW = {
    "name": "toy", "id_column": "id",
    "derived": {"initial": "left(name, 1)"},
    "blocking": [{"name": "initial", "keys": ["initial"]}],
    "comparisons": [
        {"name": "name", "column": "name", "levels": [{"kind": "exact"}, {"kind": "jaro_winkler", "threshold": 0.85},
                                                      {"kind": "prefix"}]},
        {"name": "email", "column": "email", "levels": [{"kind": "exact"}]},
        {"name": "size", "column": "size", "levels": [{"kind": "abs_diff", "threshold": 1.5}]},
        {"name": "aliases", "column": "aliases", "levels": [{"kind": "overlap"}]},
    ],
    "guards": [{"name": "other_initial", "kind": "sql", "sql": "l.initial <> r.initial AND l.email IS NULL"},
               {"name": "far", "kind": "sql", "sql": "abs(l.size - r.size) > 2"}],
    "threshold": 0.9, "prior": 0.1,
}
SPEC = parse_spec(RAW, "toy.yaml")

WORDS = ["sato", "satou", "suzuki", "suzuky", "tanaka", "takana", "ito", "itou", "kato", None]

UNITS = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(["a@x.jp", "b@x.jp", None]),
                           st.sampled_from([1.0, 2.0, 4.5, float("nan"), None]),
                           st.sampled_from(["|a|b|", "|b|", "|c|", None])), min_size=2, max_size=30)


def _prepared(rows: list[tuple]) -> tuple[pl.DataFrame, list[tuple[int, int]]]:
    """The toy units of ``rows`` prepared by blocking, and every pair of their row numbers."""
    units = pl.DataFrame([(f"u{i:02d}", *row) for i, row in enumerate(rows)],
                         schema={"id": pl.Utf8, "name": pl.Utf8, "email": pl.Utf8, "size": pl.Float64,
                                 "aliases": pl.Utf8}, orient="row")
    prepared = block(units, SPEC, duckdb.connect()).prepared
    n = prepared.height
    return prepared, [(a, b) for a in range(n) for b in range(a + 1, n)]


@settings(max_examples=40, deadline=None)
@given(rows=UNITS, data=st.data())
def test_vectors_on_the_touched_units_equal_vectors_over_every_unit(rows, data):
    prepared, every = _prepared(rows)
    picked = data.draw(st.lists(st.sampled_from(every), max_size=6, unique=True))
    pairs = pl.DataFrame({f"{RID}_l": [a for a, _ in picked], f"{RID}_r": [b for _, b in picked]},
                         schema={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32}).with_columns(pl.lit("r").alias("rule"))
    calls = []

    def everything(todo: pl.DataFrame) -> pl.DataFrame:
        calls.append(todo.height)
        return compare_pairs(prepared, todo, SPEC)

    got = compare_few(prepared, pairs, SPEC, everything)
    assert got.equals(compare_pairs(prepared, pairs, SPEC))
    touched = len(np.unique([u for pair in picked for u in pair]))
    assert bool(calls) == (not picked or touched >= 0.5 * prepared.height)   # few touched units: not over every unit

    calls.clear()

    def all_guards(todo: pl.DataFrame) -> pl.DataFrame:
        calls.append(todo.height)
        return cannot_links(duckdb.connect(), prepared, todo, SPEC)

    forbidden = evaluate_few(prepared, pairs.drop("rule"), SPEC, all_guards)
    expected = cannot_links(duckdb.connect(), prepared, pairs.drop("rule"), SPEC)
    assert forbidden.sort(f"{RID}_l", f"{RID}_r").equals(expected.sort(f"{RID}_l", f"{RID}_r"))
    assert bool(calls) == (not picked or touched >= 0.5 * prepared.height)


def _world(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    words = [w for w in WORDS if w]
    return pl.DataFrame({
        "id": [f"u{i:03d}" for i in range(n)],
        "name": [words[k] + ("" if rng.random() < 0.7 else "x") for k in rng.integers(0, len(words), n)],
        "email": [None if rng.random() < 0.4 else f"{k}@x.jp" for k in rng.integers(0, 30, n)],
        "size": rng.choice([1.0, 2.0, 4.5, 7.0], n),
        "aliases": [None if rng.random() < 0.5 else f"|{k}|" for k in rng.integers(0, 5, n)],
    })


#: the same comparisons and guards, blocked narrowly and with a small u sample: a night's pairs touch few units
NIGHT_SPEC = parse_spec({**RAW, "blocking": [{"name": "name", "keys": ["name"]}], "u_sample_pairs": 40}, "toy.yaml")


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 10_000), edits=st.lists(st.tuples(st.integers(0, 59), st.sampled_from(["name", "email"])),
                                                   min_size=1, max_size=3))
def test_a_night_through_the_engine_equals_a_full_link_and_compares_on_the_touched_units(seed, edits):
    units = _world(60, seed)
    directory = Path(tempfile.mkdtemp())
    for night in range(2):
        store = PairStore(directory)
        store.open("fp")
        calls: list[int] = []

        def counted(*args, calls=calls, **kwargs):
            calls.append(1)
            return compare_pairs(*args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(reuse, "compare_pairs", counted)
            spec_store = store.for_spec(NIGHT_SPEC)
            got = link(units, NIGHT_SPEC, reuse=spec_store)
        store.commit()
        full = link(units, NIGHT_SPEC)
        assert got.units.select("id", "cluster").equals(full.units.select("id", "cluster"))
        assert got.pairs.equals(full.pairs)   # vectors, weights, guards, links
        compared = spec_store.pairs_compared + spec_store.sample_compared
        assert night == 0 or bool(calls) == bool(compared)  # the second night's few pairs: on the units they touch
        for i, column in edits:
            units = units.with_columns(pl.when(pl.col("id") == f"u{i:03d}").then(pl.col(column).fill_null("") + "z")
                                       .otherwise(pl.col(column)).alias(column))
    shutil.rmtree(directory)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))),
    st.sampled_from([np.uint32, np.int64]))
def test_touched_rows_is_np_unique_of_both_ends(case, dtype):
    n, pairs = case
    left = np.array([a for a, _ in pairs], dtype=dtype)
    right = np.array([b for _, b in pairs], dtype=dtype)
    got = touched_rows(n, left, right)
    want = np.unique(np.concatenate([left, right]))
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)


@settings(max_examples=30, deadline=None)
@given(rows=UNITS, data=st.data())
def test_a_store_that_is_off_answers_as_the_store_that_finds_nothing(rows, data):
    """``--no-cache``: the guard store (path None) hands every pair to ``evaluate`` without hashing
    or looking up a unit; its answer is the one a store holding nothing gives, pair for pair."""
    prepared, every = _prepared(rows)
    picked = sorted(data.draw(st.lists(st.sampled_from(every), max_size=40, unique=True)),
                    key=lambda _: data.draw(st.integers(0, 3)))   # pairs in any order
    pairs = pl.DataFrame({f"{RID}_l": [a for a, _ in picked], f"{RID}_r": [b for _, b in picked]},
                         schema={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32})

    def evaluate(todo: pl.DataFrame) -> pl.DataFrame:
        return cannot_links(duckdb.connect(), prepared, todo, SPEC)

    off = GuardReuse("toy", None, "fp", None)
    directory = Path(tempfile.mkdtemp())
    empty = GuardReuse("toy", directory / "guards-toy.parquet", "fp", None)   # no file yet
    got = off.cannot_links(prepared, pairs, SPEC, evaluate)
    assert got.equals(empty.cannot_links(prepared, pairs, SPEC, evaluate))
    assert (off.pairs_reused, off.pairs_checked) == (empty.pairs_reused, empty.pairs_checked) == (0, len(picked))
    empty.wait()
    shutil.rmtree(directory)
