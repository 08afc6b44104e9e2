"""abm.linkage.distinct.first_and_inverse: numpy's unique (first occurrences, inverse), exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.distinct import _packed_order, first_and_inverse


def _numpy(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


@pytest.mark.parametrize("key", [
    [],
    [7],
    [3, 3, 3],                      # one value: first occurrence is the first row
    [5, 1, 5, 1, 0],                # ties keep the earliest row
    [2**62, -(2**62), 0, 2**62],    # packed pair keys are large; negatives sort first
])
def test_table(key):
    arr = np.array(key, dtype=np.int64)
    first, inverse = first_and_inverse(arr)
    want_first, want_inverse = _numpy(arr)
    assert np.array_equal(first, want_first) and np.array_equal(inverse, want_inverse)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-50, 50), max_size=200), st.sampled_from([np.int64, np.int32, np.uint32]))
def test_same_as_numpy(values, dtype):
    arr = np.array([abs(v) for v in values] if dtype == np.uint32 else values, dtype=dtype)
    first, inverse = first_and_inverse(arr)
    want_first, want_inverse = _numpy(arr)
    assert np.array_equal(first, want_first)
    assert np.array_equal(inverse, want_inverse)
    assert np.array_equal(arr[first][inverse], arr)   # spreading back gives every key


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(0, 2**40), st.integers(-3, 3)), max_size=60))
def test_same_as_numpy_whether_key_and_row_pack_into_64_bits_or_not(values):
    """Keys spread over at most 2**40 pack with the row number (a plain sort); wider ones take the
    stable arg sort: both give numpy's answer."""
    arr = np.array(values, dtype=np.int64)
    first, inverse = first_and_inverse(arr)
    want_first, want_inverse = _numpy(arr)
    assert np.array_equal(first, want_first)
    assert np.array_equal(inverse, want_inverse)


@pytest.mark.parametrize(("key", "packs"), [
    (np.array([5, 1, 5], dtype=np.int64), True),
    (np.array([2**62, -(2**62)], dtype=np.int64), False),
    (np.array([2**63 + 1, 0], dtype=np.uint64), False),   # uint64 beyond int64: never packed
    (np.array([7, 7, 1], dtype=np.uint32), True),
])
def test_which_keys_pack(key, packs):
    assert (_packed_order(key) is not None) == packs
