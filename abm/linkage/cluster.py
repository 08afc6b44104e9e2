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

The merge is one Python loop over the links of the contradicted components (each a few dozen
units): the summed weight per pair of units is added up in numpy before it (in row order), each
cluster keeps at most one value per guard (two different ones are never merged), and the cluster
that stays on a merge is the one with more cross sums to carry. Its decisions are those of the
plain union–find with member sets that ``tests/test_cluster.py`` keeps as the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def _pair_sums(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Summed weight per unordered pair {a, b} (a != b), each sum taken in row order as a Python
    loop would (so sums of three or more terms round exactly as before): (lo, hi, sum)."""
    keep = a != b
    lo, hi, w = np.minimum(a, b)[keep], np.maximum(a, b)[keep], w[keep]
    order = np.lexsort((np.arange(len(lo)), hi, lo))          # by pair, then row order
    lo, hi, w = lo[order], hi[order], w[order]
    start = np.ones(len(lo), dtype=bool)
    start[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    first = np.flatnonzero(start)
    group = np.cumsum(start) - 1
    rank = np.arange(len(lo)) - first[group]                  # position of a row within its pair
    total = np.zeros(len(first))
    for k in range(int(rank.max()) + 1 if len(rank) else 0):  # one round per term: sequential sums
        at = rank == k
        total[group[at]] += w[at]
    return lo[first], hi[first], total


def _rows(lo: np.ndarray, hi: np.ndarray, value: np.ndarray) -> dict[int, dict[int, Any]]:
    """Symmetric adjacency {x: {y: value}} of the unordered pairs (lo, hi) (pairs unique)."""
    x, y = np.concatenate([lo, hi]), np.concatenate([hi, lo])
    order = np.argsort(x, kind="stable")
    x, ys, vs = x[order], y[order].tolist(), np.concatenate([value, value])[order].tolist()
    cut = np.flatnonzero(x[1:] != x[:-1]) + 1
    starts, ends = [0, *cut.tolist()], [*cut.tolist(), len(ys)]
    return {key: dict(zip(ys[s:e], vs[s:e], strict=True))
            for key, s, e in zip(x[starts].tolist() if len(ys) else [], starts, ends, strict=False)}


def _cannot_rows(cannot: pl.DataFrame) -> dict[int, dict[int, str]]:
    """cannot-link partners with the guard (or override) that forbids the pair; for a pair listed
    twice the later row's reason holds."""
    reasons = (pl.when(pl.col("cannot_link") != "").then(pl.col("cannot_link")).otherwise(pl.lit("cannot_link"))
               if "cannot_link" in cannot.columns else pl.lit("cannot_link"))   # no reason (null, ""): generic
    pairs = (cannot.select(pl.min_horizontal(L, R).cast(pl.Int64).alias("lo"),
                           pl.max_horizontal(L, R).cast(pl.Int64).alias("hi"), reasons.alias("why"))
             .filter(pl.col("lo") != pl.col("hi"))
             .unique(["lo", "hi"], keep="last", maintain_order=True))
    return _rows(pairs.get_column("lo").to_numpy(), pairs.get_column("hi").to_numpy(),
                 pairs.get_column("why").to_numpy())


def _greedy(members: np.ndarray, values: dict[str, pl.Series], cannot: pl.DataFrame,
            evidence: pl.DataFrame, sub: pl.DataFrame, n: int) -> tuple[list[int], list[tuple]]:
    """Union–find over the contradicted components, links in ``sub``'s order: each cluster's guard
    values (at most one per guard: two different ones are never merged), cannot-link partners, and
    the summed match weight between every two current clusters. Returns each member's root and
    the refused links (a, b, weight, reason). The same decisions as a merge that keeps every
    cluster's members and values as sets (tests/test_cluster.py holds that reference)."""
    parent = list(range(n))
    guards = [(name, series.to_list()) for name, series in values.items()]
    ok = np.zeros(n, dtype=bool)
    ok[members] = True
    ev = evidence.filter(pl.Series(ok).gather(evidence.get_column(L)) & pl.Series(ok).gather(evidence.get_column(R)))
    cross = _rows(*_pair_sums(ev.get_column(L).to_numpy().astype(np.int64),
                              ev.get_column(R).to_numpy().astype(np.int64),
                              ev.get_column("match_weight").to_numpy()))
    partners = _cannot_rows(cannot)
    crowd: dict[int, set[int]] = {}         # members of a merged cluster (a lone row: itself)
    low: dict[int, int] = {}                # smallest member of a merged cluster (a lone row: itself)
    refused: list[tuple[int, int, float, str]] = []
    empty: dict = {}
    for a, b, w in zip(*_lists(sub, L, R, "match_weight"), strict=True):
        ra, rb = a, b
        while parent[ra] != ra:
            parent[ra] = ra = parent[parent[ra]]
        while parent[rb] != rb:
            parent[rb] = rb = parent[parent[rb]]
        if ra == rb:
            continue
        why = None
        for name, cur in guards:
            va, vb = cur[ra], cur[rb]
            if va is not None and vb is not None and va != vb:
                why = name
                break
        if why is None:
            pa = partners.get(ra)
            if pa:
                clash = pa.keys() & crowd.get(rb, {rb})
                if clash:
                    why = pa[min(clash)]
        if why is None and cross.get(ra, empty).get(rb, 0.0) <= 0:
            why = NET_NEGATIVE
        if why is not None:
            refused.append((a, b, w, why))
            continue
        # the root that stays is the one with more cross sums to carry (only their order of work
        # differs); a later cluster's cannot-link reasons win, as when the lower id always stayed
        later = rb if low.get(rb, rb) > low.get(ra, ra) else ra
        keep, drop = (ra, rb) if len(cross.get(ra, empty)) >= len(cross.get(rb, empty)) else (rb, ra)
        parent[drop] = keep
        low[keep] = min(low.get(keep, keep), low.pop(drop, drop))
        for _, cur in guards:
            if cur[keep] is None:
                cur[keep] = cur[drop]
        _merge_partners(partners, keep, drop, later)
        mk, md = crowd.get(keep) or {keep}, crowd.pop(drop, None) or {drop}
        if len(mk) < len(md):
            mk, md = md, mk
        mk |= md
        crowd[keep] = mk
        _merge_cross(cross, keep, drop)
    roots = []
    for x in members.tolist():
        while parent[x] != x:
            parent[x] = x = parent[parent[x]]
        roots.append(x)
    return roots, refused


def _merge_partners(partners: dict[int, dict[int, str]], keep: int, drop: int, later: int) -> None:
    """keep's cannot-link partners absorb drop's; for a partner both have, ``later``'s reason holds."""
    pd = partners.pop(drop, None)
    if not pd:
        return
    pk = partners.get(keep)
    if pk is None:
        partners[keep] = pd
    elif later == drop:
        pk.update(pd)
    else:
        for other, why in pd.items():
            pk.setdefault(other, why)


def _merge_cross(cross: dict[int, dict[int, float]], keep: int, drop: int) -> None:
    moved = cross.pop(drop, None)
    row_keep = cross.get(keep)
    if row_keep is None:
        row_keep = cross[keep] = {}
    row_keep.pop(drop, None)
    if not moved:
        return
    moved.pop(keep, None)
    for other, w in moved.items():
        row_keep[other] = total = row_keep.get(other, 0.0) + w
        row = cross[other]
        del row[drop]
        row[keep] = total


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
        # only pairs inside one rebuilt component: two components never merge (no link joins them), so
        # the sums and cannot-links between them are never read (a fifth of the evidence on /tmp/w20k)
        sub_scored = scored.filter(_within(comp, in_bad, scored))
        cannot = cannot.filter(_within(comp, in_bad, cannot))
        # must-links (infinite weight) outweigh any evidence against them; guards still apply
        evidence = pl.concat([sub_scored.select(L, R, "match_weight"),
                              links.filter(pl.col("match_weight").is_infinite()).select(L, R, "match_weight")])
        sub = links.filter(pl.Series(in_bad[left])).sort(["match_weight", L, R], descending=[True, False, False])
        roots, refused = _greedy(members, values, cannot, evidence, sub, n)
        # relabel the rebuilt rows apart from every untouched component
        offset = int(comp.max()) + 1 if len(comp) else 0
        final[members] = offset + np.asarray(roots, dtype=np.int64)
    labels = _smallest_member(final)
    refused_df = pl.DataFrame(refused, schema={L: pl.UInt32, R: pl.UInt32, "match_weight": pl.Float64,
                                               "refused_by": pl.Utf8}, orient="row")
    return Clusters(labels=labels, refused=refused_df)


def _within(comp: np.ndarray, in_bad: np.ndarray, pairs: pl.DataFrame) -> pl.Series:
    """Per pair: both ends in one component, a rebuilt one."""
    left, right = pairs.get_column(L).to_numpy(), pairs.get_column(R).to_numpy()
    return pl.Series((comp[left] == comp[right]) & in_bad[left])


def _lists(frame: pl.DataFrame, *columns: str) -> list[list]:
    """Columns as Python lists (ints and floats), for the merge loop: faster than iterating rows."""
    return [frame.get_column(c).to_list() for c in columns]


def _smallest_member(labels: np.ndarray) -> np.ndarray:
    """Relabel each cluster by its smallest row id, so labels do not depend on traversal order."""
    frame = pl.DataFrame({"label": labels, "rid": np.arange(len(labels))})
    return frame.with_columns(pl.col("rid").min().over("label").alias("root")).get_column("root").to_numpy()
