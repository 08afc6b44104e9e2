"""abm.linkage.cluster: the greedy merge of contradicted components decides exactly as the
straightforward union–find it replaced (every cluster's members, guard values and cannot-link
partners as sets; cross sums renamed on every merge), kept here as the reference."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.components import connected_components
from abm.linkage.cluster import NET_NEGATIVE, L, R, _pair_sums, cluster

GUARD = "different_corporate_number"


class _ReferenceMerger:
    def __init__(self, members, values, cannot, scored):
        self.parent = {int(r): int(r) for r in members}
        self.members = {int(r): {int(r)} for r in members}
        picked = {name: series.gather(members).to_list() for name, series in values.items()}
        self.vals = {int(r): {name: ({v[i]} if v[i] is not None else set()) for name, v in picked.items()}
                     for i, r in enumerate(members)}
        self.cannot = {int(r): {} for r in members}
        reasons = cannot.get_column("cannot_link").to_list() if "cannot_link" in cannot.columns \
            else [None] * cannot.height
        for a, b, why in zip(cannot[L].to_list(), cannot[R].to_list(), reasons, strict=True):
            self.cannot[a][b] = self.cannot[b][a] = why or "cannot_link"
        self.cross = {int(r): {} for r in members}
        for a, b, w in zip(scored[L].to_list(), scored[R].to_list(), scored["match_weight"].to_list(), strict=True):
            if a in self.cross and b in self.cross and a != b:
                self.cross[a][b] = self.cross[a].get(b, 0.0) + w
                self.cross[b][a] = self.cross[b].get(a, 0.0) + w

    def find(self, x):
        while self.parent[x] != x:
            x = self.parent[x]
        return x

    def union(self, a, b):
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
        moved = self.cross.pop(drop)
        moved.pop(keep, None)
        self.cross[keep].pop(drop, None)
        for other, w in moved.items():
            self.cross[keep][other] = self.cross[keep].get(other, 0.0) + w
            self.cross[other].pop(drop, None)
            self.cross[other][keep] = self.cross[keep][other]
        return None


def _reference(n, links, values, cannot, scored):
    """The previous cluster(): components, the contradicted ones rebuilt by _ReferenceMerger."""
    left, right = links[L].to_numpy().astype(np.int64), links[R].to_numpy().astype(np.int64)
    comp = connected_components(n, left, right).astype(np.int64)
    bad = set()
    for series in values.values():
        frame = pl.DataFrame({"c": comp, "v": series}).drop_nulls("v")
        bad |= set(frame.group_by("c").agg(pl.col("v").n_unique().alias("k")).filter(pl.col("k") > 1)["c"].to_list())
    for pairs in (cannot, scored.filter(pl.col("match_weight") < 0)):
        lc, rc = comp[pairs[L].to_numpy()], comp[pairs[R].to_numpy()]
        bad |= set(lc[lc == rc].tolist())
    refused, final = [], comp.copy()
    if bad:
        in_bad = np.isin(comp, list(bad))
        members = np.flatnonzero(in_bad)
        inside = pl.Series(in_bad)
        keep = lambda f: f.filter(inside.gather(f[L]) & inside.gather(f[R]))  # noqa: E731
        evidence = pl.concat([keep(scored).select(L, R, "match_weight"),
                              links.filter(pl.col("match_weight").is_infinite()).select(L, R, "match_weight")])
        merger = _ReferenceMerger(members, values, keep(cannot), evidence)
        sub = links.filter(pl.Series(in_bad[left])).sort(["match_weight", L, R], descending=[True, False, False])
        for a, b, w in sub.iter_rows():
            why = merger.union(a, b)
            if why:
                refused.append((a, b, w, why))
        for r in members:
            final[r] = comp.max() + 1 + merger.find(int(r))
    first = {}
    labels = [first.setdefault(f, i) for i, f in enumerate(final.tolist())]
    return labels, refused


def _frame(pairs, weights=None):
    data = {L: [p[0] for p in pairs], R: [p[1] for p in pairs]}
    if weights is not None:
        data["match_weight"] = weights
    return pl.DataFrame(data, schema={L: pl.UInt32, R: pl.UInt32, **({"match_weight": pl.Float64}
                                                                     if weights is not None else {})})


def _cannot(pairs, reasons):
    return _frame(pairs).with_columns(pl.Series("cannot_link", reasons, dtype=pl.String))


def _same(n, links, values, cannot, scored):
    ours = cluster(n, links, values, cannot, scored)
    labels, refused = _reference(n, links, values, cannot, scored)
    assert ours.labels.tolist() == labels
    assert ours.refused.rows() == refused
    return ours


@pytest.mark.parametrize(("n", "links", "weights", "corp", "cannot", "labels", "refused"), [
    # 0-1 and 1-2 link, but 0 and 2 hold two 法人番号: the weaker link is refused by the guard
    (3, [(0, 1), (1, 2)], [9.0, 5.0], ["A", None, "B"], [], [0, 0, 2], [(1, 2, 5.0, GUARD)]),
    # a cannot-link pair across the two clusters refuses the merge with the pair's reason
    (3, [(0, 1), (1, 2)], [9.0, 5.0], [None] * 3, [((0, 2), "override 3")], [0, 0, 2],
     [(1, 2, 5.0, "override 3")]),
    # the summed evidence across two clusters is negative: 2-0 says "different" louder than 1-2 says "same"
    (3, [(0, 1), (1, 2)], [9.0, 2.0], [None] * 3, [], [0, 0, 2], [(1, 2, 2.0, NET_NEGATIVE)]),
    # an infinite (must-)link outweighs the evidence against it
    (3, [(0, 1), (1, 2)], [9.0, float("inf")], [None] * 3, [], [0, 0, 0], []),
    # a chain of equal weights: ties broken by row ids; the second guard value refuses the last link
    (4, [(2, 3), (0, 1), (1, 2)], [5.0, 5.0, 5.0], ["A", None, None, "B"], [], [0, 0, 0, 3],
     [(2, 3, 5.0, GUARD)]),
    # 0 and 1 both may not join 3, for different reasons: the merged cluster answers with the
    # reason of its later member (as when every merge kept the lower id's partners and updated them)
    (4, [(0, 1), (1, 3)], [9.0, 5.0], [None] * 4, [((0, 3), "g1"), ((1, 3), "g2")], [0, 0, 2, 3],
     [(1, 3, 5.0, "g2")]),
    (4, [(0, 1), (0, 3)], [9.0, 5.0], [None] * 4, [((0, 3), "g1"), ((1, 3), "g2")], [0, 0, 2, 3],
     [(0, 3, 5.0, "g2")]),
    # a clean component (no contradiction) is left as connected components made it
    (4, [(0, 1), (2, 3)], [3.0, 4.0], ["A", "A", None, None], [], [0, 0, 2, 2], []),
])
def test_table(n, links, weights, corp, cannot, labels, refused):
    link_frame = _frame(links, weights)
    scored = pl.concat([link_frame, _frame([(0, 2)], [-3.0])]) if n == 3 else link_frame
    cannot_frame = _cannot([c[0] for c in cannot], [c[1] for c in cannot])
    values = {GUARD: pl.Series(corp, dtype=pl.String)}
    out = _same(n, link_frame, values, cannot_frame, scored)
    assert out.labels.tolist() == labels
    assert out.refused.rows() == refused


@st.composite
def worlds(draw):
    n = draw(st.integers(1, 24))
    node = st.integers(0, n - 1)
    weight = st.sampled_from([-6.0, -2.5, -0.5, 0.5, 1.0, 2.5, 3.0, 7.5, float("inf")])
    links = draw(st.lists(st.tuples(node, node, weight), max_size=50))
    links = [(min(a, b), max(a, b), w) for a, b, w in links if a != b]
    links = list({(a, b): w for a, b, w in links}.items())
    against = draw(st.lists(st.tuples(node, node, st.sampled_from([-9.0, -3.0, -1.0, 0.0])), max_size=20))
    scored = {(min(a, b), max(a, b)): w for a, b, w in against if a != b}
    scored.update({p: w for p, w in links if np.isfinite(w)})
    guards = {name: draw(st.lists(st.sampled_from([None, None, "x", "y", "z"]), min_size=n, max_size=n))
              for name in draw(st.sampled_from([[], [GUARD], [GUARD, "different_site"]]))}
    cannot = draw(st.lists(st.tuples(node, node, st.sampled_from(["g1", "g2", "", None])), max_size=8))
    return n, links, scored, guards, cannot


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_same_decisions_as_the_reference(world):
    n, links, scored, guards, cannot = world
    link_frame = _frame([p for p, _ in links], [w for _, w in links])
    scored_frame = _frame(list(scored), list(scored.values()))
    values = {name: pl.Series(v, dtype=pl.String) for name, v in guards.items()}
    cannot_frame = _cannot([(a, b) for a, b, _ in cannot], [why for _, _, why in cannot])
    _same(n, link_frame, values, cannot_frame, scored_frame)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5),
                          st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)), max_size=40))
def test_pair_sums_add_in_row_order(rows):
    expected = {}
    for a, b, w in rows:
        if a != b:
            key = (min(a, b), max(a, b))
            expected[key] = expected.get(key, 0.0) + w
    lo, hi, total = _pair_sums(np.array([r[0] for r in rows], dtype=np.int64),
                               np.array([r[1] for r in rows], dtype=np.int64), np.array([r[2] for r in rows]))
    assert dict(zip(zip(lo.tolist(), hi.tolist(), strict=True), total.tolist(), strict=True)) == expected
