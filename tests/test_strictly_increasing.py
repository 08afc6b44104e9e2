"""``abm.tables.strictly_increasing``: what blocking (no sort of units already in id order) and
``keys_once`` (neighbours of sorted keys) ask of a series."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from abm.detect.touches import keys_once
from abm.tables import strictly_increasing


@given(st.lists(st.one_of(st.none(), st.text(max_size=3))))
def test_strings_as_their_sort_and_uniqueness_say(values):
    series = pl.Series("v", values, dtype=pl.Utf8)
    want = None not in values and series.to_list() == sorted(set(values), key=lambda s: s.encode("utf-8"))
    assert strictly_increasing(series) == want


@given(st.lists(st.one_of(st.none(), st.integers(-5, 5))))
def test_integers_as_their_sort_and_uniqueness_say(values):
    want = None not in values and values == sorted(set(values))
    assert strictly_increasing(pl.Series("v", values, dtype=pl.Int64)) == want


def test_other_types_are_not_judged():
    assert not strictly_increasing(pl.Series("v", [1.0, 2.0]))


@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))))
def test_keys_once_is_every_key_present_and_distinct(keys):
    records = pl.DataFrame({"record_key": keys}, schema={"record_key": pl.Utf8})
    assert keys_once(records) == (None not in keys and len(set(keys)) == len(keys))
