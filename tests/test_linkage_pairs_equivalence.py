"""Blocking's pair building and the per-code values comparisons read, pinned to their previous
implementations (kept here as references): the same pairs in the same order, the same strings."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm import memory_db
from abm.linkage.block import RID, _all_pairs, prepare
from abm.linkage.columns import Columns
from abm.linkage.spec import parse_spec


def _all_pairs_before(ids: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The previous ``_all_pairs``: the left row of each pair by a repeat of positions and a gather."""
    order = np.flatnonzero(ok)
    n = np.int64(max(len(ids), 1))
    order = np.sort(ids[order].astype(np.int64) * n + order) % n
    k = ids[order]
    starts = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1] if len(k) else np.zeros(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(k)])
    later = np.repeat(sizes, sizes) - (np.arange(len(k)) - np.repeat(starts, sizes)) - 1
    left = np.repeat(np.arange(len(k)), later)
    right = left + 1 + (np.arange(len(left)) - np.repeat(np.cumsum(later) - later, later))
    return order[left], order[right]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 6), st.booleans()), max_size=80))
def test_all_pairs_equal_the_previous_ones_in_order(rows):
    ids = np.array([i for i, _ in rows], dtype=np.int64)
    ok = np.array([o and i >= 0 for i, o in rows], dtype=bool)
    got, want = _all_pairs(ids, ok), _all_pairs_before(ids, ok)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w)
    by_id = {}
    for r in np.flatnonzero(ok):
        by_id.setdefault(int(ids[r]), []).append(int(r))
    brute = sorted((a, b) for rs in by_id.values() for i, a in enumerate(rs) for b in rs[i + 1:])
    assert sorted(zip(got[0].tolist(), got[1].tolist(), strict=True)) == brute


def _per_code_before(frame: pl.DataFrame, column: str, codes: np.ndarray) -> pl.Series:
    """The previous ``Columns._per_code``: each code's first row, found by ``np.unique``."""
    _, first = np.unique(codes, return_index=True)
    first = first[codes[first] >= 0]
    return frame.get_column(column).cast(pl.Utf8).gather(first)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "", "東", "|a|b|", "|b|"])), max_size=50),
       st.sampled_from([pl.String, pl.Categorical]))
def test_values_per_code_equal_those_of_each_codes_first_row(values, dtype):
    frame = pl.DataFrame({"v": values}, schema={"v": dtype})
    cols = Columns(frame)
    codes = cols.codes("v")
    assert codes is not None
    assert cols._per_code("v", codes).equals(_per_code_before(frame, "v", codes))
    texts = cols.texts("v")
    assert texts is not None and texts.tolist() == _per_code_before(frame, "v", codes).to_list()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "", "東", "B", "a "])), max_size=12),
       st.booleans())
def test_units_are_prepared_in_id_order_sorted_or_not(ids, presort):
    """``prepare`` skips the sort only where the ids already come strictly increasing: the same frame."""
    units = pl.DataFrame({"id": ids, "x": list(range(len(ids)))}, schema={"id": pl.String, "x": pl.Int64})
    if presort:
        units = units.sort("id").unique("id", keep="first", maintain_order=True)
    spec = parse_spec({"name": "t", "id_column": "id", "blocking": [{"keys": ["x"]}],
                       "comparisons": [{"name": "x", "column": "x", "levels": [{"kind": "exact"}]}]}, "t.yaml")
    got = prepare(units, spec, memory_db.connect())
    want = units.sort("id").with_row_index(RID)
    assert got.get_column("id").to_list() == want.get_column("id").to_list()
    assert got.get_column(RID).to_list() == list(range(units.height)) and got.columns == want.columns
    if units.get_column("id").n_unique() == units.height:   # unique ids: one order, the same rows
        assert got.equals(want)
