"""The random pairs u is estimated from, chosen by a stable hash of the units' ids, not their row numbers.

u (how often a comparison level holds for two *different* entities, ``abm.linkage.score``) comes
from a random sample of unit pairs. Drawn by row number, the sample changed entirely when one row
was added or deleted (every later row shifts), so an incremental night had to compare 200,000 fresh
pairs. Here each unit gets a pseudo-random rank from a stable hash of its id (a record key, which
a record keeps from night to night) mixed with the spec's ``seed``; units are ordered by (group,
rank) — the group being the value of ``u_within`` (persons: their account) or one group for all —
and each unit is paired with its next 1 … k neighbours in that order within its group. Neighbours
in a random order are uniformly random pairs; k is the smallest that offers at least
``u_sample_pairs`` pairs, and of those the ``u_sample_pairs`` with the smallest pair hash are kept
(all of them when the groups hold fewer pairs). A group of g units offers about k·g pairs — as the
row-number sample weighted a group by its size — and never a unit with itself.

Why the id and not the unit's content hash: units with the same compared values (two cards of one
company: the person is not compared for accounts) would share a rank, sit side by side and be
sampled as "random" pairs that agree on everything, inflating u of every agreeing level. The id
separates them, and the vectors are still looked up by content (``abm.linkage.reuse``).

An edit, an insertion or a deletion changes only the pairs of its neighbours, so the sample's
comparison vectors are nearly all found in the comparison store (``SpecReuse.compare(...,
sample=True)``) and the store keeps them for the next night. A full run draws the same sample, so
the result is the same either way. The hash is FNV-1a over the id's UTF-8 bytes (numpy; stable
across library versions, unlike polars' hash), so the sample does not move with an upgrade.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from abm.linkage.block import RID
from abm.linkage.compare import Columns, compare_pairs
from abm.linkage.reuse import SpecReuse
from abm.linkage.spec import LinkageSpec

_SCHEMA = {f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32}
_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def stable_hash(values: pl.Series) -> np.ndarray:
    """64-bit FNV-1a of each value's UTF-8 text (null: empty), then mixed: the same on every platform
    and library version."""
    text = values.cast(pl.Utf8).fill_null("")
    length = text.str.len_bytes().to_numpy()
    raw = text.cast(pl.Binary).to_numpy().astype("S")
    width = raw.dtype.itemsize
    octets = raw.view(np.uint8).reshape(len(raw), width) if width else np.zeros((len(raw), 0), np.uint8)
    h = np.full(len(raw), 0xCBF29CE484222325, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(width):   # one column of bytes at a time (ids are short); the padding is not hashed
            h = np.where(c < length, (h ^ octets[:, c]) * np.uint64(0x100000001B3), h)
    return _mix(h)


def sample_pairs(prepared: pl.DataFrame, n: int, seed: int, within: str | None, ids: pl.Series) -> pl.DataFrame:
    """At most ``n`` distinct pairs (``__rid_l`` < ``__rid_r``) of units in one group of ``within``
    (any two units when None, or when no group holds two; units whose ``within`` is null are left
    out), chosen by the units' ``ids`` (one per unit in ``__rid`` order, distinct) and ``seed``."""
    if prepared.height < 2 or n <= 0:
        return pl.DataFrame(schema=_SCHEMA)
    with np.errstate(over="ignore"):
        rank = _mix(stable_hash(ids) ^ _mix(np.array([seed], dtype=np.uint64) + _GOLD))
    frame = pl.DataFrame({RID: prepared.get_column(RID), "__rank": rank,
                          "__group": prepared.get_column(within) if within else np.zeros(prepared.height, np.int8)})
    frame = frame.filter(pl.col("__group").is_not_null()).sort("__group", "__rank", RID)
    rids = frame.get_column(RID).to_numpy()
    ranks = frame.get_column("__rank").to_numpy()
    group = frame.select(pl.col("__group").rank("dense")).to_series().to_numpy()
    sizes = np.bincount(group)
    if within is not None and int(sizes.max(initial=0)) < 2:   # no group holds two units: pairs of any two
        return sample_pairs(prepared, n, seed, None, ids)
    offered, k = 0, 0
    while offered < n and k < int(sizes.max(initial=0)) - 1:
        k += 1
        offered += int(np.maximum(sizes - k, 0).sum())     # pairs k apart inside each group
    lefts, rights, keys = [], [], []
    for d in range(1, k + 1):
        same = group[:-d] == group[d:]
        a, b = rids[:-d][same], rids[d:][same]
        with np.errstate(over="ignore"):   # a hash of the pair's two ranks, in rank order
            keys.append(_mix(ranks[:-d][same] * _GOLD + _mix(ranks[d:][same])))
        lefts.append(np.minimum(a, b))
        rights.append(np.maximum(a, b))
    if not lefts:
        return pl.DataFrame(schema=_SCHEMA)
    left, right, key = np.concatenate(lefts), np.concatenate(rights), np.concatenate(keys)
    if len(key) > n:
        keep = np.argpartition(key, n - 1)[:n]
        left, right = left[keep], right[keep]
    # sorted by (left, right): one plain sort of the pair packed into a uint64 (row ids fit 32 bits),
    # ≈ 10× less CPU than a lexsort of the two columns (30 → 3 ms for 200 k pairs)
    packed = np.sort((left.astype(np.uint64) << np.uint64(32)) | right.astype(np.uint64))
    return pl.DataFrame({f"{RID}_l": (packed >> np.uint64(32)).astype(np.uint32),
                         f"{RID}_r": (packed & np.uint64(0xFFFFFFFF)).astype(np.uint32)})


def sample_vectors(prepared: pl.DataFrame, spec: LinkageSpec, within: str | None, cols: Columns | None = None,
                   reuse: SpecReuse | None = None) -> pl.DataFrame:
    """The comparison vectors of u's sample pairs (from the comparison store where it knows them)."""
    cols = cols if cols is not None else Columns(prepared)
    sample = sample_pairs(prepared, spec.u_sample_pairs, spec.seed, within, prepared.get_column(spec.id_column))
    if reuse is None:
        return compare_pairs(prepared, sample, spec, cols=cols)
    return reuse.compare(prepared, sample, spec, lambda todo: compare_pairs(prepared, todo, spec, cols=cols),
                         sample=True)
