"""abm.graph_files writes the bytes networkx writes for an account's committee graph (GraphML and
node-link JSON), without networkx."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.graph import EDGE_SCHEMA
from abm.graph_files import write_graphs

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
HOSTILE = st.sampled_from(['=cmd|"/c calc"!A1', "<script>&amp;</script>", "\x00\x1f\x7f\u2028\u2029", "\\u0000 \\",
                           '"quoted"\n\ttab\r', "株式会社/営業部", "\ufeff", "😀" * 3, " "])
NODE = st.one_of(st.builds(lambda k, r: f"{k}:{r}", st.sampled_from(["person", "dept", "internal", "account", "x"]),
                           st.one_of(TEXT, HOSTILE)), TEXT)
DAY = st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2030, 12, 31)))


def _networkx_files(rows: list[dict[str, Any]], account: str) -> tuple[bytes, str]:
    """What the writer did before abm.graph_files: networkx from the rows in order, then its writers."""
    graph = nx.DiGraph(account_id=account)
    for row in rows:
        for node in (row["src"], row["dst"]):
            if node not in graph:
                kind, _, rest = node.partition(":")
                if kind == "dept":
                    rest = rest[len(account) + 1:] if rest.startswith(account + "/") else rest
                graph.add_node(node, kind={"dept": "department"}.get(kind, kind), label=rest)
        attrs = {"relation": row["relation"], "weight": int(row["weight"] or 1)}
        attrs |= {k: row[k].isoformat() for k in ("first_on", "last_on") if row.get(k) is not None}
        graph.add_edge(row["src"], row["dst"], **attrs)
    buf = io.BytesIO()
    nx.write_graphml(graph, buf)
    return buf.getvalue(), json.dumps(nx.node_link_data(graph, edges="edges"), ensure_ascii=False, sort_keys=True,
                                      indent=1)


@settings(max_examples=120, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "src": NODE, "dst": NODE, "relation": st.sampled_from(["knows", "member_of", "part_of", "reports_to"]),
    "weight": st.one_of(st.none(), st.integers(-5, 10**12)), "first_on": DAY, "last_on": DAY}),
    min_size=1, max_size=10), st.one_of(st.sampled_from(["A", "A001", "株式会社/A"]), TEXT))
def test_same_files_as_networkx(tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]],
                                account: str) -> None:
    out = tmp_path_factory.mktemp("g")
    edges = pl.DataFrame([{"account_id": account, **r} for r in rows], schema=EDGE_SCHEMA)
    try:
        graphml, node_link = _networkx_files(rows, account)
    except ValueError:   # a character XML cannot hold: networkx refuses, and so does the writer
        with pytest.raises(ValueError):
            write_graphs(edges, out)
        return
    paths = write_graphs(edges, out)
    assert [p.name.rsplit(".", 1)[-1] for p in paths] == ["graphml", "json"]
    assert paths[0].read_bytes() == graphml
    assert paths[1].read_text(encoding="utf-8") == node_link


def test_files_of_a_written_account(tmp_path: Path) -> None:
    edges = pl.DataFrame([
        {"account_id": "A", "src": "person:P1", "dst": "dept:A/営業部", "relation": "member_of", "weight": 1,
         "first_on": date(2025, 1, 2), "last_on": date(2025, 3, 4)},
        {"account_id": "A", "src": "internal:第二営業部", "dst": "person:P1", "relation": "knows", "weight": 3,
         "first_on": None, "last_on": None},
    ], schema=EDGE_SCHEMA)
    write_graphs(edges, tmp_path)
    data = json.loads((tmp_path / "A.json").read_text(encoding="utf-8"))
    assert data["nodes"] == [{"id": "person:P1", "kind": "person", "label": "P1"},
                             {"id": "dept:A/営業部", "kind": "department", "label": "営業部"},
                             {"id": "internal:第二営業部", "kind": "internal", "label": "第二営業部"}]
    assert [(e["source"], e["weight"]) for e in data["edges"]] == [("person:P1", 1), ("internal:第二営業部", 3)]
    assert nx.read_graphml(tmp_path / "A.graphml").number_of_edges() == 2


# --- the node-link JSON is written without json's pure-Python indenting encoder ----------------------

_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.one_of(TEXT, HOSTILE))
_FLAT = st.dictionaries(st.one_of(TEXT, HOSTILE), _SCALAR, max_size=4)


@settings(max_examples=80, deadline=None)
@given(_FLAT, st.lists(_FLAT, max_size=3), st.lists(_FLAT, max_size=3), st.booleans())
def test_indented_node_link_is_what_json_dumps_writes(graph: dict[str, Any], nodes: list[dict[str, Any]],
                                                      edges: list[dict[str, Any]], directed: bool) -> None:
    from abm.graph_files import _indented

    data = {"directed": directed, "multigraph": False, "graph": graph, "nodes": nodes, "edges": edges}
    assert _indented(data) == json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)


@pytest.mark.parametrize("value", [1.5, ("a",), ["x", 2], None])
def test_node_link_text_falls_back_to_json_for_other_values(value: Any) -> None:
    from abm.graph_files import node_link_text

    nodes = {"person:p": {"kind": "person", "label": "p"}}
    edges = {("person:p", "person:p"): {"relation": "knows", "weight": 1, "extra": value}}
    data = {"directed": True, "multigraph": False, "graph": {"account_id": "A"},
            "nodes": [{"kind": "person", "label": "p", "id": "person:p"}],
            "edges": [{"relation": "knows", "weight": 1, "extra": value, "source": "person:p", "target": "person:p"}]}
    assert node_link_text({"account_id": "A"}, nodes, edges) == json.dumps(
        data, ensure_ascii=False, sort_keys=True, indent=1)
