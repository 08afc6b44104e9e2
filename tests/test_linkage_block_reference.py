"""Blocking's candidate pairs equal a brute-force reference: every pair of rows l < r whose key
columns are all present and equal under some rule, tagged with the first such rule (blocks small
enough for every pair: no window). Pins the pair generation and the exclusion of pairs an earlier
rule found (numpy index arrays, int32 join keys, shared column codes)."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.block import RID, block
from abm.linkage.spec import parse_spec

SPEC = parse_spec({
    "name": "t", "id_column": "id",
    "blocking": [{"name": "a", "keys": ["a"]}, {"name": "bc", "keys": ["b", "c"]}, {"name": "cb", "keys": ["c", "b"]},
                 {"name": "c", "keys": ["c"]}, {"name": "ab", "keys": ["a", "b"]}],
    "comparisons": [{"name": "a", "column": "a", "levels": [{"kind": "exact"}]}],
}, "t.yaml")


def _reference(units: pl.DataFrame) -> list[tuple[int, int, str]]:
    rows = units.sort("id").to_dicts()
    out = []
    for (i, x), (j, y) in itertools.combinations(enumerate(rows), 2):
        for rule in SPEC.blocking:
            if all(x[k] is not None and x[k] == y[k] for k in rule.on):
                out.append((i, j, rule.name))
                break
    return out


values = st.lists(st.sampled_from(["x", "y", "z", "東", None]), min_size=1, max_size=25)


@settings(max_examples=80, deadline=None)
@given(a=values, b=values, c=values)
def test_pairs_and_their_first_rule_equal_brute_force(a, b, c):
    n = min(len(a), len(b), len(c))
    units = pl.DataFrame({"id": [f"u{i:02d}" for i in range(n)][::-1], "a": a[:n], "b": b[:n], "c": c[:n]},
                         schema={"id": pl.String, "a": pl.String, "b": pl.String, "c": pl.String})
    blocked = block(units, SPEC)
    got = [(int(x), int(y), str(r)) for x, y, r in blocked.pairs.select(f"{RID}_l", f"{RID}_r", "rule").iter_rows()]
    assert got == _reference(units)
    assert blocked.counts == {r.name: sum(1 for *_, n in got if n == r.name) for r in SPEC.blocking}
