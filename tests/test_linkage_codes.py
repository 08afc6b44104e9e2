"""Column codes shared by blocking, comparisons and guards (``abm.linkage.distinct.dense_codes``,
``abm.linkage.columns.Columns``): two rows share a code exactly when a dense rank of their values
(the previous implementation) gives them one rank, whatever the hashes do."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage import guards
from abm.linkage.block import _key_ids
from abm.linkage.columns import Columns
from abm.linkage.distinct import _codes_by_hash, dense_codes


def _rank(series: pl.Series) -> np.ndarray:
    """The reference: a dense rank, 0 … k-1, -1 for null."""
    return series.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1


def _same_partition(got: np.ndarray, want: np.ndarray, dense: bool = True) -> bool:
    """Equal codes exactly where the reference has equal codes, -1 exactly where it has -1, and
    (``dense``) the codes 0 … k-1."""
    pairs = pl.DataFrame({"g": got, "w": want}).unique()
    valid = want >= 0
    return (np.array_equal(got < 0, ~valid) and pairs.height == len(np.unique(want)) == len(np.unique(got))
            and (not dense or np.array_equal(np.unique(got[valid]), np.arange(len(np.unique(want[valid]))))))


@pytest.mark.parametrize("values, dtype", [
    ([], pl.String),
    ([None, None], pl.String),
    (["東洋", "東洋", None, "toyo", ""], pl.String),    # the empty string is a value, not a null
    (["b", "a", "b", "c"], pl.Categorical),            # categorical values count as their strings
    (["x", "y", "x"], pl.Enum(["y", "x"])),
    ([3, 1, None, 3], pl.Int64),
    ([True, None, False, True], pl.Boolean),
    ([0.5, float("nan"), None, float("nan"), 0.5], pl.Float64),   # floats ranked: every NaN one value
])
def test_table(values, dtype):
    series = pl.Series(values, dtype=dtype)
    assert _same_partition(dense_codes(series), _rank(series.cast(pl.Utf8) if dtype in (pl.Categorical,)
                                                       or isinstance(dtype, pl.Enum) else series))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "", "東", "トウ", "a "])), max_size=60))
def test_same_partition_as_a_dense_rank(values):
    series = pl.Series(values, dtype=pl.String)
    assert _same_partition(dense_codes(series), _rank(series))


@pytest.mark.parametrize("values, hashes, collides", [
    (["a", "b", "a"], [7, 7, 7], True),          # two values, one hash: a collision is caught
    (["a", "b", "a", "b"], [1, 2, 1, 2], False),
    (["a", "a", None], [5, 5, 0], False),         # a null's hash is ignored
    (["b", "a", "b"], [9, 9, 9], True),
])
def test_a_hash_collision_is_never_taken_for_equality(values, hashes, collides):
    series = pl.Series(values, dtype=pl.String)
    codes = _codes_by_hash(series, pl.Series(hashes, dtype=pl.UInt64))
    assert (codes is None) == collides
    if codes is not None:
        assert _same_partition(codes, _rank(series))


def _struct_rank(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    return frame.select(pl.struct(columns).rank("dense").fill_null(0).cast(pl.Int64)).to_series().to_numpy()


small = st.lists(st.sampled_from(["x", "y", "z", "1", None]), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(a=small, b=small, c=small, tight=st.booleans())
def test_guard_profile_groups_rows_as_a_struct_rank(a, b, c, tight):
    """One profile per distinct row (nulls are values), also when the product must be renumbered
    (``tight``: tiny limits force every renumbering)."""
    n = min(len(a), len(b), len(c))
    frame = pl.DataFrame({"a": a[:n], "b": b[:n], "c": c[:n]}, schema=dict.fromkeys("abc", pl.String))
    limits = (guards._PACK_LIMIT, guards._PROFILE_LIMIT)
    try:
        if tight:
            guards._PACK_LIMIT, guards._PROFILE_LIMIT = 4, 2
        profile = guards._profile(Columns(frame), ["a", "b", "c"])
    finally:
        guards._PACK_LIMIT, guards._PROFILE_LIMIT = limits
    assert _same_partition(profile, _struct_rank(frame, ["a", "b", "c"]) - 1, dense=False)
    assert int(profile.max(initial=0)) < max(guards._PROFILE_LIMIT, n)


@settings(max_examples=60, deadline=None)
@given(a=small, b=small)
def test_key_ids_group_complete_keys_as_a_struct_rank(a, b):
    """Blocking's key ids: 1 … k per distinct complete key, -1 where a key column is null."""
    n = min(len(a), len(b))
    frame = pl.DataFrame({"a": a[:n], "b": b[:n]}, schema=dict.fromkeys("ab", pl.String))
    for keys in (["a"], ["a", "b"], ["b", "a"]):
        complete = frame.select(pl.all_horizontal(pl.col(k).is_not_null() for k in keys)).to_series().to_numpy()
        want = np.where(complete, _struct_rank(frame, keys), -1)
        ids = _key_ids(Columns(frame), keys)
        assert ids.min(initial=1) >= -1 and 0 not in ids
        assert _same_partition(np.where(ids > 0, ids - 1, -1), want)


def _codes_by_sorted_frame(series: pl.Series, hashes: pl.Series) -> np.ndarray | None:
    """The previous ``_codes_by_hash``: the (row, value, hash) frame sorted by hash, every adjacent
    pair of values compared."""
    frame = pl.DataFrame({"v": series, "h": hashes}).with_row_index("i").filter(pl.col("v").is_not_null()).sort("h")
    h = frame.get_column("h").to_numpy()
    starts = np.empty(len(h), dtype=bool)
    starts[:1] = True
    np.not_equal(h[1:], h[:-1], out=starts[1:])
    values = frame.get_column("v")
    if len(h) > 1 and not starts.all():
        equal = (values.slice(1) == values.slice(0, len(h) - 1)).to_numpy()
        if not (equal | starts[1:]).all():
            return None
    codes = np.full(len(series), -1, dtype=np.int64)
    codes[frame.get_column("i").to_numpy()] = np.cumsum(starts) - 1
    return codes


_VALUES = ["a", "b", "", "東", "a "]
#: hashes that collide at will: equal low bits (the packed sort keeps only the high ones), or high bits apart
_HASHES = st.one_of(st.integers(0, 4), st.integers(1, 12).map(lambda k: k << 58), st.integers(0, 2**64 - 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(_VALUES)), max_size=40),
       st.fixed_dictionaries({v: _HASHES for v in _VALUES}), st.booleans())
def test_codes_by_hash_equal_the_sorted_frame_ones(values, hash_of, real_hashes):
    """The same codes (numbered in hash order) and the same collision verdict, with hashes that
    collide at will (equal values hash alike, as ``_codes_by_hash`` requires) or the real ones."""
    series = pl.Series(values, dtype=pl.String)
    hashes = series.hash(7) if real_hashes else pl.Series([0 if v is None else hash_of[v] for v in values],
                                                          dtype=pl.UInt64)
    got, want = _codes_by_hash(series, hashes), _codes_by_sorted_frame(series, hashes)
    assert (got is None) == (want is None)
    assert got is None or np.array_equal(got, want)
