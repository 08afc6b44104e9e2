"""The faster linkage paths give exactly what the straightforward ones gave: sql guards evaluated per
distinct pair of each guard's own columns, similarity scorers on shared strings, EM's rule masks from
blocking's key ids, units narrowed to the columns a spec reads."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.db import query
from abm.linkage import compare, guards
from abm.linkage.block import RID, _first_rule_per_pair, block, columns_in
from abm.linkage.compare import _SCORERS, Columns, _evaluate, _on_distinct
from abm.linkage.engine import link, rule_masks
from abm.linkage.guards import cannot_links
from abm.linkage.spec import parse_spec

L, R = f"{RID}_l", f"{RID}_r"
WORDS = ["東洋工業", "東洋興業", "東洋工業システムズ", "toyo", "toyokogyo", "toyo kogyo", "asahi", "朝日", "旭", ""]


def _reference_cannot_links(prepared: pl.DataFrame, pairs: pl.DataFrame, spec) -> pl.DataFrame:
    """The previous implementation: every guard over each distinct pair of all guards' columns, one
    hash join of the pairs with the units per guard."""
    con = duckdb.connect()
    guards = [g for g in spec.guards if g.kind == "sql"]
    read = columns_in(prepared, *(g.sql or "" for g in guards))
    values = [c for c in read if c != RID]
    profile = prepared.select(pl.struct(values).rank("dense").fill_null(0).cast(pl.Int64)).to_series().to_numpy()
    left, right = pairs.get_column(L).to_numpy(), pairs.get_column(R).to_numpy()
    key = profile[left] * np.int64(int(profile.max()) + 1) + profile[right]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    con.register("__prep", prepared.select(read).to_arrow())
    con.register("__pairs", pl.DataFrame({L: left[first], R: right[first], "__d": np.arange(len(first))}).to_arrow())
    verdict = np.full(len(first), -1, dtype=np.int64)
    for i, g in reversed(list(enumerate(guards))):
        hit = query(con, f"SELECT p.__d FROM __pairs p JOIN __prep l ON l.{RID} = p.{L} "
                         f"JOIN __prep r ON r.{RID} = p.{R} WHERE coalesce(({g.sql}), false)",
                    {k: list(v) for k, v in g.params})
        verdict[hit.get_column("__d").to_numpy()] = i
    per_pair = verdict[inverse.reshape(-1)]
    names = [g.name for g in guards]
    return pl.DataFrame({L: left[per_pair >= 0], R: right[per_pair >= 0]}).with_columns(
        pl.Series("cannot_link", [names[i] for i in per_pair[per_pair >= 0]], dtype=pl.String)
    ).cast({L: pl.UInt32, R: pl.UInt32})


def _spec(guards: list[dict]) -> object:
    return parse_spec({
        "name": "t", "id_column": "id", "blocking": [{"keys": ["a"]}, {"keys": ["b", "c"]}],
        "comparisons": [{"name": "a", "column": "a", "levels": [{"kind": "exact"}, {"kind": "jaro_winkler",
                                                                                     "threshold": 0.8}]},
                        {"name": "b", "column": "b", "levels": [{"kind": "exact"}]}],
        "guards": guards,
    }, "t.yaml")


GUARDS = [
    {"name": "a_differs_b_same", "kind": "sql", "sql": "l.a <> r.a AND l.b = r.b"},
    {"name": "prefix", "kind": "sql", "sql": "starts_with(l.a, r.a) AND l.a <> r.a"},
    {"name": "c_or_note", "kind": "sql", "sql": "coalesce(l.c, '') <> coalesce(r.c, '') OR l.note = r.note"},
    # cross-side equalities under an OR, NULLs that make the predicate NULL (the reference's coalesce
    # says false; the guard's plain WHERE must keep no such pair either)
    {"name": "cross_or", "kind": "sql", "sql": "l.a <> r.a AND (l.b = r.b OR l.note = r.note) AND l.c IS NOT NULL"},
]

column = st.lists(st.sampled_from([*WORDS, None]), min_size=2, max_size=40)


@settings(max_examples=40, deadline=None)
@given(a=column, b=column, c=column, note=column, seed=st.integers(0, 10_000), every_pair=st.sampled_from([0.0, 0.9, 2.0]))
def test_guards_per_own_columns_equal_the_joint_evaluation(a, b, c, note, seed, every_pair):
    """Also whether each guard is evaluated on every pair (``_NEARLY_UNIQUE`` 0) or on its distinct
    pairs of values (2: never every pair)."""
    n = min(len(a), len(b), len(c), len(note))
    prepared = pl.DataFrame({"a": a[:n], "b": b[:n], "c": c[:n], "note": note[:n]},
                            schema=dict.fromkeys(["a", "b", "c", "note"], pl.String)).with_row_index(RID)
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, n, 3 * n), rng.integers(0, n, 3 * n)
    keep = x != y
    key = np.unique(np.minimum(x, y)[keep] * n + np.maximum(x, y)[keep])   # distinct pairs, l < r, sorted
    pairs = pl.DataFrame({L: (key // n).astype(np.uint32), R: (key % n).astype(np.uint32)})
    spec = _spec(GUARDS)
    threshold = guards._NEARLY_UNIQUE
    try:
        guards._NEARLY_UNIQUE = every_pair
        got = cannot_links(duckdb.connect(), prepared, pairs, spec)
    finally:
        guards._NEARLY_UNIQUE = threshold
    assert got.equals(_reference_cannot_links(prepared, pairs, spec))


def _assert_distinct_scoring_equals_gathered(spec, values, seed, dtype, n_pairs):
    """The spec's one level scored once per distinct pair of values equals it evaluated on every
    gathered pair (``n_pairs`` random pairs of ``values``, those with a null side left out)."""
    level = spec.comparisons[0].levels[0]
    prepared = pl.DataFrame({"v": pl.Series(values, dtype=pl.String).cast(dtype)}).with_row_index(RID)
    rng = np.random.default_rng(seed)
    left, right = rng.integers(0, len(values), n_pairs), rng.integers(0, len(values), n_pairs)
    present = prepared.get_column("v").is_not_null().to_numpy()
    left, right = left[present[left] & present[right]], right[present[left] & present[right]]
    cols = Columns(prepared)
    expected = _evaluate(level, cols.values("v", left), cols.values("v", right))
    assert np.array_equal(_on_distinct(level, cols, left, right), expected)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.text("abcアイ東洋 ", max_size=8)), min_size=2, max_size=30),
       seed=st.integers(0, 10_000), kind=st.sampled_from(sorted(_SCORERS)),
       dtype=st.sampled_from([pl.String, pl.Categorical]))
def test_scorers_on_shared_strings_equal_scoring_the_gathered_values(values, seed, kind, dtype):
    spec = parse_spec({"name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
                       "comparisons": [{"name": "v", "column": "v", "levels": [{"kind": kind, "threshold": 0.5}]}]},
                      "t.yaml")
    _assert_distinct_scoring_equals_gathered(spec, values, seed, dtype, 50)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["", "|", "||", "|a|", "a", "|a|b|", "a||b", "|b|c|",
                                                              "||c", "|東洋|とうよう|", "|とうよう|", "東洋 ", "|a|a|"]),
                                 st.text("ab|東", max_size=6)), min_size=2, max_size=30),
       seed=st.integers(0, 10_000), dtype=st.sampled_from([pl.String, pl.Categorical]))
def test_overlap_on_alternative_ids_equals_splitting_each_pair(values, seed, dtype):
    """``overlap`` by integer ids of each value's alternatives holds exactly where splitting both
    strings and intersecting the sets does: empty elements ("a||b", "|", "") count as elements."""
    spec = parse_spec({"name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
                       "comparisons": [{"name": "v", "column": "v", "levels": [{"kind": "overlap"}]}]}, "t.yaml")
    _assert_distinct_scoring_equals_gathered(spec, values, seed, dtype, 80)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.text("abcアイ東洋 ", max_size=8)), min_size=2, max_size=30),
       seed=st.integers(0, 10_000), kind=st.sampled_from(sorted(_SCORERS)),
       thresholds=st.lists(st.sampled_from([0.3, 0.5, 0.75, 0.8, 0.82, 0.85, 0.88, 0.9, 0.93, 1.0]),
                           min_size=1, max_size=3, unique=True))
def test_levels_scored_with_a_cutoff_at_their_lowest_threshold_give_the_same_vectors(values, seed, kind, thresholds):
    """A comparison of several similarity levels on one column gets the same level codes whether its
    scorer stops early below the lowest threshold (``_floors``) or scores every pair in full."""
    spec = parse_spec({"name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
                       "comparisons": [{"name": "v", "column": "v", "levels": [
                           {"kind": kind, "threshold": t} for t in sorted(thresholds, reverse=True)]}]}, "t.yaml")
    prepared = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)}).with_row_index(RID)
    rng = np.random.default_rng(seed)
    left, right = rng.integers(0, len(values), 60), rng.integers(0, len(values), 60)
    pairs = pl.DataFrame({L: left.astype(np.uint32), R: right.astype(np.uint32)})
    floors = compare._floors
    try:
        compare._floors = lambda comp: {}   # no cutoff: every similarity in full
        full = compare._compare_chunk(prepared, pairs, spec)
    finally:
        compare._floors = floors
    assert compare._floors(spec.comparisons[0]) == {("v", kind): min(thresholds)}
    assert compare._compare_chunk(prepared, pairs, spec).equals(full)


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=30), min_size=1, max_size=4),
       far=st.booleans())
def test_first_rule_per_pair_by_packed_sort_equals_the_stable_argsort(parts, far):
    """Each pair once, with the first rule (part) that found it, sorted: the packed sort gives what
    the stable argsort gives, here and past its 2**28 limit (``far``: row ids that do not pack)."""
    shift = 2**28 if far else 0
    frames = [pl.DataFrame({L: [a + shift for a, _ in p], R: [b + shift for _, b in p]},
                           schema={L: pl.UInt32, R: pl.UInt32}).with_columns(pl.lit(i, dtype=pl.Int8).alias("__rule_index"))
              for i, p in enumerate(parts)]
    names = [f"r{i}" for i in range(len(parts))]
    got = _first_rule_per_pair(frames, names)
    seen: dict[tuple[int, int], str] = {}
    for i, p in enumerate(parts):
        for a, b in p:
            seen.setdefault((a + shift, b + shift), names[i])
    assert got.rows() == sorted((a, b, rule) for (a, b), rule in seen.items())
    assert got.schema == pl.Schema({L: pl.UInt32(), R: pl.UInt32(), "rule": pl.Enum(names)})


def _struct_rank_masks(prepared: pl.DataFrame, pairs: pl.DataFrame, spec) -> list[np.ndarray]:
    """The reference: per rule, a dense rank of the struct of its keys (-1 where a key is null)."""
    left, right = pairs.get_column("__rid_l").to_numpy(), pairs.get_column("__rid_r").to_numpy()
    masks = []
    for rule in spec.blocking:
        keys = list(rule.on)
        complete = pl.all_horizontal([pl.col(c).is_not_null() for c in keys])
        ids = prepared.select(pl.when(complete).then(pl.struct(keys).rank("dense").cast(pl.Int64)).otherwise(-1)
                              ).to_series().to_numpy()
        masks.append((ids[left] == ids[right]) & (ids[left] >= 0))
    return masks


small = st.lists(st.sampled_from(["x", "y", "z", "1", "2", None]), min_size=2, max_size=40)


@settings(max_examples=30, deadline=None)
@given(a=small, b=small, c=small)
def test_rule_masks_from_blocking_key_ids_equal_those_computed_afresh(a, b, c):
    """Blocking's key ids (composite keys from per-column codes) mark exactly the pairs a rank of the
    struct of the keys marks."""
    n = min(len(a), len(b), len(c))
    units = pl.DataFrame({"id": [f"u{i:02d}" for i in range(n)], "a": a[:n], "b": b[:n], "c": c[:n]},
                         schema={"id": pl.String, "a": pl.String, "b": pl.String, "c": pl.String})
    spec = _spec([])
    blocked = block(units, spec)
    afresh = _struct_rank_masks(blocked.prepared, blocked.pairs, spec)
    reused = rule_masks(blocked.pairs, spec, blocked.key_ids)
    assert len(afresh) == len(reused) == 2
    assert all(np.array_equal(x, y) for x, y in zip(afresh, reused, strict=True))


def test_a_guard_reading_a_column_no_comparison_reads_still_sees_it_and_extra_columns_change_nothing():
    units = pl.DataFrame({"id": ["a1", "a2", "a3", "a4"], "a": ["toyo", "toyo", "asahi", "asahi"],
                          "b": ["1", "1", "2", "2"], "c": ["k", "m", "k", "k"],
                          "note": ["same", "same", "x", "y"]})
    spec = _spec([{"name": "note_says_apart", "kind": "sql", "sql": "l.note = 'same' AND r.note = 'same'"}])
    plain = link(units, spec)
    wide = link(units.with_columns(pl.lit("unused").alias("extra"), pl.col("a").alias("a_copy")), spec)
    assert plain.pairs.equals(wide.pairs)
    assert plain.units.drop(["extra", "a_copy"], strict=False).equals(wide.units.drop("extra", "a_copy"))
    forbidden = plain.pairs.filter(pl.col("cannot_link").is_not_null())
    assert forbidden.select("id_l", "id_r").rows() == [("a1", "a2")]
    clusters = dict(plain.units.select("id", "cluster").iter_rows())
    assert clusters["a1"] != clusters["a2"]
