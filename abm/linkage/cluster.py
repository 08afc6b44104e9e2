"""Clustering: connected components of accepted links, rebuilt where the evidence contradicts them.

Fast path: components of the accepted links (abm.components, vectorised numpy). A component is
*contradicted* when it holds two different values of a ``distinct_values`` guard column, both ends of a cannot-link
pair, or a scored pair whose match weight says "different" (weight < 0). Only those components
are rebuilt, by a greedy merge in descending link weight that refuses a merge when

- a guard forbids it (two 法人番号; a cannot-link pair across the two clusters), or
- the summed match weight of every scored pair across the two clusters is not positive: a
  low-information record (a web form with only a company name) may link to two same-named
  companies, but it does not outweigh the evidence that those two differ.

Every refusal is kept with its reason, for ``abm explain``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from abm.components import connected_components
from abm.linkage.block import RID

L, R = f"{RID}_l", f"{RID}_r"
NET_NEGATIVE = "net_evidence_against"


@dataclass(frozen=True)
class Clusters:
    labels: np.ndarray           # cluster label per __rid (the smallest __rid of the cluster)
    refused: pl.DataFrame        # __rid_l, __rid_r, match_weight, refused_by


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return connected_components(n, left, right)   # scipy's labels, without importing scipy (abm.components)


def _contradicted(labels: np.ndarray, values: dict[str, pl.Series], cannot: pl.DataFrame,
                  scored: pl.DataFrame) -> set[int]:
    bad: set[int] = set()
    for series in values.values():
        frame = pl.DataFrame({"c": labels, "v": series}).drop_nulls("v")
        multi = frame.group_by("c").agg(pl.col("v").n_unique().alias("k")).filter(pl.col("k") > 1)
        bad.update(multi.get_column("c").to_list())
    for pairs in (cannot, scored.filter(pl.col("match_weight") < 0)):
        if pairs.height:
            lc = labels[pairs.get_column(L).to_numpy()]
            rc = labels[pairs.get_column(R).to_numpy()]
            bad.update(lc[lc == rc].tolist())
    return bad


class _Merger:
    """Union–find over contradicted components: guard values, cannot-link partners, and the summed
    match weight between every two current clusters."""

    def __init__(self, members: np.ndarray, values: dict[str, pl.Series], cannot: pl.DataFrame,
                 scored: pl.DataFrame):
        self.parent = {int(r): int(r) for r in members}
        self.members = {int(r): {int(r)} for r in members}
        picked = {name: series.gather(members).to_list() for name, series in values.items()}
        self.vals = {int(r): {name: ({vals[i]} if vals[i] is not None else set()) for name, vals in picked.items()}
                     for i, r in enumerate(members)}
        # cannot-link partners with the guard (or override) that forbids the pair
        self.cannot: dict[int, dict[int, str]] = {int(r): {} for r in members}
        reasons = cannot.get_column("cannot_link") if "cannot_link" in cannot.columns else \
            pl.Series([None] * cannot.height, dtype=pl.Utf8)
        for a, b, why in zip(*_lists(cannot, L, R), reasons.to_list(), strict=True):  # rebuilt components only
            self.cannot[a][b] = self.cannot[b][a] = why or "cannot_link"
        self.cross: dict[int, dict[int, float]] = {int(r): {} for r in members}
        cross = self.cross
        for a, b, w in zip(*_lists(scored, L, R, "match_weight"), strict=True):
            if a in cross and b in cross:
                row_a, row_b = cross[a], cross[b]
                row_a[b] = row_a.get(b, 0.0) + w
                row_b[a] = row_b.get(a, 0.0) + w

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> str | None:
        """Merge the clusters of a and b; the reason it is refused, else None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        for name, va in self.vals[ra].items():
            vb = self.vals[rb][name]
            if va and vb and va != vb:
                return name
        clash = self.cannot[ra].keys() & self.members[rb]
        if clash:
            return self.cannot[ra][min(clash)]
        if self.cross[ra].get(rb, 0.0) <= 0:
            return NET_NEGATIVE
        keep, drop = (ra, rb) if ra < rb else (rb, ra)
        self.parent[drop] = keep
        for name in self.vals[keep]:
            self.vals[keep][name] |= self.vals[drop][name]
        self.cannot[keep].update(self.cannot.pop(drop))
        self.members[keep] |= self.members.pop(drop)
        self._merge_cross(keep, drop)
        return None

    def _merge_cross(self, keep: int, drop: int) -> None:
        moved = self.cross.pop(drop)
        moved.pop(keep, None)
        self.cross[keep].pop(drop, None)
        for other, w in moved.items():
            self.cross[keep][other] = self.cross[keep].get(other, 0.0) + w
            row = self.cross[other]
            row.pop(drop, None)
            row[keep] = self.cross[keep][other]


def cluster(n: int, links: pl.DataFrame, values: dict[str, pl.Series], cannot: pl.DataFrame,
            scored: pl.DataFrame | None = None) -> Clusters:
    """``links``: accepted pairs (__rid_l, __rid_r, match_weight); ``values``: per distinct_values
    guard, each row's value (null = missing); ``cannot``: cannot-link pairs; ``scored``: every
    scored candidate pair (__rid_l, __rid_r, match_weight), the evidence for and against."""
    scored = scored if scored is not None else links
    left = links.get_column(L).to_numpy().astype(np.int64)
    right = links.get_column(R).to_numpy().astype(np.int64)
    comp = _components(n, left, right)
    bad = _contradicted(comp, values, cannot, scored)
    refused: list[tuple[int, int, float, str]] = []
    final = comp.astype(np.int64).copy()
    if bad:
        in_bad = np.isin(comp, list(bad))
        members = np.flatnonzero(in_bad)
        inside = pl.Series(in_bad)
        sub_scored = scored.filter(inside.gather(scored.get_column(L)) & inside.gather(scored.get_column(R)))
        cannot = cannot.filter(inside.gather(cannot.get_column(L)) & inside.gather(cannot.get_column(R)))
        # must-links (infinite weight) outweigh any evidence against them; guards still apply
        evidence = pl.concat([sub_scored.select(L, R, "match_weight"),
                              links.filter(pl.col("match_weight").is_infinite()).select(L, R, "match_weight")])
        merger = _Merger(members, values, cannot, evidence)
        sub = links.filter(pl.Series(in_bad[left])).sort(["match_weight", L, R], descending=[True, False, False])
        for a, b, w in zip(*_lists(sub, L, R, "match_weight"), strict=True):
            why = merger.union(a, b)
            if why:
                refused.append((a, b, w, why))
        # relabel the rebuilt rows apart from every untouched component
        offset = int(comp.max()) + 1 if len(comp) else 0
        for r in members:
            final[r] = offset + merger.find(int(r))
    labels = _smallest_member(final)
    refused_df = pl.DataFrame(refused, schema={L: pl.UInt32, R: pl.UInt32, "match_weight": pl.Float64,
                                               "refused_by": pl.Utf8}, orient="row")
    return Clusters(labels=labels, refused=refused_df)


def _lists(frame: pl.DataFrame, *columns: str) -> list[list]:
    """Columns as Python lists (ints and floats), for the merge loop: faster than iterating rows."""
    return [frame.get_column(c).to_list() for c in columns]


def _smallest_member(labels: np.ndarray) -> np.ndarray:
    """Relabel each cluster by its smallest row id, so labels do not depend on traversal order."""
    frame = pl.DataFrame({"label": labels, "rid": np.arange(len(labels))})
    return frame.with_columns(pl.col("rid").min().over("label").alias("root")).get_column("root").to_numpy()
