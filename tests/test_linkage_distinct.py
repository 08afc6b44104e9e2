"""abm.linkage.distinct.first_and_inverse: numpy's unique (first occurrences, inverse), exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.distinct import first_and_inverse


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
