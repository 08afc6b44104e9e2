"""Distinct values of an integer key: ``np.unique(key, return_index=True, return_inverse=True)``'s
first occurrences and inverse, exactly, by one stable sort in polars.

Comparison levels and ``sql`` guards are evaluated once per distinct pair of values (a packed int64
key per pair, ~1.2 M pairs at 20 k companies) and spread back. numpy's unique sorts with a stable
merge sort on one core (~0.29 s for 1.2 M keys); polars' stable ``arg_sort_by`` uses every core, and
the rest is a gather, a comparison and a cumulative sum (~0.19 s, ≈ 0.1 s saved per call, about six
calls a run). Where the key and the row number pack into 64 bits (pair keys of dense codes do), a
plain numpy sort of the packed integers is cheaper still (``_packed_order``). ``tests/test_linkage_distinct.py`` pins it to numpy's answer.

``dense_codes``: the same for the values of a column (blocking keys, comparison codes, guard
profiles): one integer per distinct value, by sorting hashes rather than strings.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def first_and_inverse(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct value of ``key`` in ascending order, the index of its first occurrence; for
    each element, the number of its distinct value: ``np.unique(key, return_index=True,
    return_inverse=True)[1:]``."""
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    packed = _packed_order(key)
    if packed is not None:
        order, ordered = packed
    else:
        order = pl.DataFrame({"k": key}).select(pl.arg_sort_by("k", maintain_order=True)).to_series().to_numpy()
        ordered = key[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return order[starts].astype(np.intp, copy=False), inverse


def _packed_order(key: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The stable sort order of ``key`` and the keys in that order, by one plain sort of (key - min,
    row) packed into a uint64: numpy sorts integers with SIMD, ≈ 3× less CPU than polars' stable
    arg sort (0.03 s for 755 k pair keys) and far less wall on a busy machine. None when the two
    do not fit 64 bits (keys spread over more than 2**(64 - bits of the row count))."""
    if key.dtype.kind not in "iu" or (key.dtype.kind == "u" and key.dtype.itemsize == 8):
        return None
    n = len(key)
    row_bits = max((n - 1).bit_length(), 1)
    low = int(key.min())
    if (int(key.max()) - low).bit_length() + row_bits > 64:
        return None
    shifted = (key.astype(np.int64) - np.int64(low)).astype(np.uint64)   # 0 … span, no overflow: span < 2**63
    packed = np.sort((shifted << np.uint64(row_bits)) | np.arange(n, dtype=np.uint64))
    order = (packed & np.uint64((1 << row_bits) - 1)).astype(np.intp)
    return order, key[order]


#: a fixed seed: the same value hashes alike in every call (codes need not match across runs, only within one)
_SEED = 0x5EED


def dense_codes(series: pl.Series) -> np.ndarray:
    """One integer per distinct non-null value of ``series``, 0 … k-1, and -1 for null: two rows
    share a code exactly when their values are equal. Which value gets which code is unspecified
    (blocking keys, comparison levels and guards only ask whether two codes are equal).

    Not a dense rank: ranking strings sorts them (≈ 60 ms per 130 k-row column, a few dozen
    columns a run). The values' 64-bit hashes are sorted instead (≈ 3× faster) and every run of
    equal hashes is checked to hold one value, so a hash collision cannot merge two values: on
    one, the rank is taken after all. Integers get their dense rank by a numpy sort
    (``_integer_rank``), other types polars' rank. Categorical and enum values count as their strings."""
    if isinstance(series.dtype, pl.Categorical | pl.Enum):
        series = series.cast(pl.Utf8)
    if series.dtype.is_integer():
        return _integer_rank(series)
    codes = _codes_by_hash(series, series.hash(_SEED)) if series.dtype == pl.Utf8 else None
    if codes is None:   # other types, or two values share a hash: the rank, exact
        codes = series.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1
    return codes


def _integer_rank(series: pl.Series) -> np.ndarray:
    """The dense rank - 1 of an integer series (-1 for null), as ``first_and_inverse``'s inverse:
    its packed numpy sort is ≈ 3× less CPU than polars' dense rank (composite blocking keys of
    persons at 20 k: 8 keys of 50–160 k rows, 70 → 23 ms)."""
    if not series.null_count():
        return first_and_inverse(series.to_numpy())[1].astype(np.int64, copy=False)
    present = series.is_not_null().to_numpy()
    codes = np.full(len(series), -1, dtype=np.int64)
    codes[present] = first_and_inverse(series.drop_nulls().to_numpy())[1]
    return codes


def _codes_by_hash(series: pl.Series, hashes: pl.Series) -> np.ndarray | None:
    """``dense_codes`` from ``hashes`` (one per value, equal values hash alike), numbered in hash
    order; None when two different values share a hash. Only the hashes are sorted, and only the
    values whose hash repeats the previous one are gathered to check each run holds one value — not
    a sort of the whole (row, value, hash) frame, which moves every string.

    The sort is a plain numpy sort of each hash's high bits packed with its row number in one
    uint64 (≈ 25 % less CPU per column than an argsort of the hashes: 13 account columns at 20 k,
    ≈ 85 → 65 ms). Sorting the high bits orders the distinct values as their full hashes do, so the
    codes are those of the full sort; where two different values share the high bits (rare: ~1 in
    10,000 columns of 160 k values), the full hashes are sorted instead (``_codes_by_full_hash``)."""
    h = hashes.to_numpy()
    n = len(h)
    row_bits = max((n - 1).bit_length(), 1)
    low = np.uint64((1 << row_bits) - 1)
    packed = (h & ~low) | np.arange(n, dtype=np.uint64)
    if series.null_count():
        packed = packed[series.is_not_null().to_numpy()]
    packed.sort()
    order = (packed & low).astype(np.intp)
    high = packed >> np.uint64(row_bits)
    starts = np.empty(len(high), dtype=bool)
    starts[:1] = True
    np.not_equal(high[1:], high[:-1], out=starts[1:])
    repeat = np.flatnonzero(~starts)   # each run of one hash must hold one value
    if len(repeat) and not (series.gather(order[repeat]) == series.gather(order[repeat - 1])).all():
        return _codes_by_full_hash(series, h)
    codes = np.full(n, -1, dtype=np.int64)
    codes[order] = np.cumsum(starts) - 1
    return codes


def _codes_by_full_hash(series: pl.Series, h: np.ndarray) -> np.ndarray | None:
    """``_codes_by_hash`` by an argsort of the full 64-bit hashes; None when two values share one."""
    if series.null_count():
        rows = np.flatnonzero(series.is_not_null().to_numpy())
        order = rows[np.argsort(h[rows])]
    else:
        order = np.argsort(h)
    ordered = h[order]
    starts = np.empty(len(ordered), dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    repeat = np.flatnonzero(~starts)   # each run of one hash must hold one value
    if len(repeat) and not (series.gather(order[repeat]) == series.gather(order[repeat - 1])).all():
        return None
    codes = np.full(len(series), -1, dtype=np.int64)
    codes[order] = np.cumsum(starts) - 1
    return codes
