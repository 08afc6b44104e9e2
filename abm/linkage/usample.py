"""The random pairs u is estimated from, chosen by the units' content rather than their row numbers.

u (how often a comparison level holds for two *different* entities, ``abm.linkage.score``) comes
from a random sample of unit pairs. Drawn by row number, the sample changes entirely when one row
is added or deleted (every later row shifts), so an incremental night had to compare 200,000 fresh
pairs. Here each unit gets a pseudo-random rank from a hash of its compared values (``unit_hashes``
of ``abm.linkage.reuse``) mixed with the spec's ``seed``; units are ordered by (group, rank) —
the group being the value of ``u_within`` (persons: their account) or one group for all — and
each unit is paired with its next 1 … k neighbours in that order within its group. Neighbours in
a random order are uniformly random pairs; k is the smallest that offers at least
``u_sample_pairs`` pairs, and of those the ``u_sample_pairs`` with the smallest pair hash are kept
(all of them when the groups hold fewer pairs). A group of g units offers about k·g pairs — as the
row-number sample weighted a group by its size — and never a unit with itself.

An edit, an insertion or a deletion changes only the pairs of its neighbours, so the sample's
comparison vectors are nearly all found in the comparison store (``SpecReuse.compare(...,
sample=True)``) and the store keeps them for the next night. A full run draws the same sample, so
the result is the same either way.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from abm.linkage.block import RID
from abm.linkage.compare import Columns, compare_pairs
from abm.linkage.reuse import SpecReuse, unit_hashes
from abm.linkage.spec import LinkageSpec

_SCHEMA = {f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32}
_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def sample_pairs(prepared: pl.DataFrame, n: int, seed: int, within: str | None, content: np.ndarray) -> pl.DataFrame:
    """At most ``n`` distinct pairs (``__rid_l`` < ``__rid_r``) of units in one group of ``within``
    (any two units when None; units whose ``within`` is null are left out), chosen by ``content``
    (one uint64 per unit in ``__rid`` order: a hash of its compared values) and ``seed``."""
    if prepared.height < 2 or n <= 0:
        return pl.DataFrame(schema=_SCHEMA)
    with np.errstate(over="ignore"):
        rank = _mix(content.astype(np.uint64) ^ _mix(np.array([seed], dtype=np.uint64) + _GOLD))
    frame = pl.DataFrame({RID: prepared.get_column(RID), "__rank": rank,
                          "__group": prepared.get_column(within) if within else np.zeros(prepared.height, np.int8)})
    frame = frame.filter(pl.col("__group").is_not_null()).sort("__group", "__rank", RID)
    rids = frame.get_column(RID).to_numpy()
    ranks = frame.get_column("__rank").to_numpy()
    group = frame.select(pl.col("__group").rank("dense")).to_series().to_numpy()
    sizes = np.bincount(group)
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
    order = np.lexsort((right, left))
    return pl.DataFrame({f"{RID}_l": left[order], f"{RID}_r": right[order]}).cast(_SCHEMA)  # type: ignore[arg-type]


def sample_vectors(prepared: pl.DataFrame, spec: LinkageSpec, within: str | None, cols: Columns | None = None,
                   reuse: SpecReuse | None = None) -> pl.DataFrame:
    """The comparison vectors of u's sample pairs (from the comparison store where it knows them)."""
    cols = cols if cols is not None else Columns(prepared)
    hashes = reuse.unit_hashes(prepared, spec) if reuse is not None else unit_hashes(prepared, spec)
    sample = sample_pairs(prepared, spec.u_sample_pairs, spec.seed, within, hashes.get_column("__h0").to_numpy())
    if reuse is None:
        return compare_pairs(prepared, sample, spec, cols=cols)
    return reuse.compare(prepared, sample, spec, lambda todo: compare_pairs(prepared, todo, spec, cols=cols),
                         sample=True)
