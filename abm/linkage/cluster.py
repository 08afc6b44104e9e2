"""Clustering: connected components of accepted links, refusing merges that contradict guards.

Fast path: components of the accepted links (scipy, C speed). Only components that hold a
contradiction (two different values of a ``distinct_values`` column, or both ends of a
cannot-link pair) are rebuilt by a greedy merge in descending match weight that refuses the
contradicting merges; each refusal is kept as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from abm.linkage.block import RID


@dataclass(frozen=True)
class Clusters:
    labels: np.ndarray           # cluster label per __rid (the smallest __rid of the cluster)
    refused: pl.DataFrame        # __rid_l, __rid_r, match_weight, refused_by


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def _conflicted(labels: np.ndarray, values: dict[str, pl.Series], cannot: pl.DataFrame) -> set[int]:
    bad: set[int] = set()
    for series in values.values():
        frame = pl.DataFrame({"c": labels, "v": series}).drop_nulls("v")
        multi = frame.group_by("c").agg(pl.col("v").n_unique().alias("k")).filter(pl.col("k") > 1)
        bad.update(multi.get_column("c").to_list())
    if cannot.height:
        lc = labels[cannot.get_column(f"{RID}_l").to_numpy()]
        rc = labels[cannot.get_column(f"{RID}_r").to_numpy()]
        bad.update(lc[lc == rc].tolist())
    return bad


class _Merger:
    """Union–find over one conflicted component, tracking guard values and cannot-link partners."""

    def __init__(self, members: np.ndarray, values: dict[str, pl.Series], cannot: dict[int, set[int]]):
        self.parent = {int(r): int(r) for r in members}
        picked = {name: series.gather(members).to_list() for name, series in values.items()}
        self.vals = {int(r): {name: ({vals[i]} if vals[i] is not None else set()) for name, vals in picked.items()}
                     for i, r in enumerate(members)}
        self.cannot = {int(r): set(cannot.get(int(r), ())) for r in members}
        self.members = {int(r): {int(r)} for r in members}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> str | None:
        """Merge the clusters of a and b; the name of the guard that forbids it, else None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        for name, va in self.vals[ra].items():
            vb = self.vals[rb][name]
            if va and vb and va != vb:
                return name
        if not self.cannot[ra].isdisjoint(self.members[rb]):
            return "cannot_link"
        keep, drop = (ra, rb) if ra < rb else (rb, ra)
        self.parent[drop] = keep
        for name in self.vals[keep]:
            self.vals[keep][name] |= self.vals[drop][name]
        self.cannot[keep] |= self.cannot.pop(drop)
        self.members[keep] |= self.members.pop(drop)
        return None


def cluster(n: int, links: pl.DataFrame, values: dict[str, pl.Series], cannot: pl.DataFrame) -> Clusters:
    """``links``: accepted pairs (__rid_l, __rid_r, match_weight); ``values``: per distinct_values
    guard, each row's value (null = missing); ``cannot``: cannot-link pairs."""
    left = links.get_column(f"{RID}_l").to_numpy().astype(np.int64)
    right = links.get_column(f"{RID}_r").to_numpy().astype(np.int64)
    comp = _components(n, left, right)
    bad = _conflicted(comp, values, cannot)
    refused: list[tuple[int, int, float, str]] = []
    final = comp.astype(np.int64).copy()
    if bad:
        cannot_map: dict[int, set[int]] = {}
        for a, b in cannot.select(f"{RID}_l", f"{RID}_r").iter_rows():
            cannot_map.setdefault(a, set()).add(b)
            cannot_map.setdefault(b, set()).add(a)
        in_bad = np.isin(comp, list(bad))
        members = np.flatnonzero(in_bad)
        merger = _Merger(members, values, cannot_map)
        sub = links.filter(pl.Series(in_bad[left])).sort(
            ["match_weight", f"{RID}_l", f"{RID}_r"], descending=[True, False, False])
        for a, b, w in sub.select(f"{RID}_l", f"{RID}_r", "match_weight").iter_rows():
            why = merger.union(a, b)
            if why:
                refused.append((a, b, w, why))
        # relabel the rebuilt rows apart from every untouched component
        offset = int(comp.max()) + 1 if len(comp) else 0
        for r in members:
            final[r] = offset + merger.find(int(r))
    labels = _smallest_member(final)
    refused_df = pl.DataFrame(refused, schema={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32,
                                               "match_weight": pl.Float64, "refused_by": pl.Utf8}, orient="row")
    return Clusters(labels=labels, refused=refused_df)


def _smallest_member(labels: np.ndarray) -> np.ndarray:
    """Relabel each cluster by its smallest row id, so labels do not depend on traversal order."""
    frame = pl.DataFrame({"label": labels, "rid": np.arange(len(labels))})
    return frame.with_columns(pl.col("rid").min().over("label").alias("root")).get_column("root").to_numpy()
