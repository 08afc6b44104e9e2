"""Per-account graph files: ``graphs/<account>.graphml`` and ``graphs/<account>.json`` (node-link).

The bytes are those networkx writes for the account's ``nx.DiGraph`` (``abm.graph.account_graph``:
``write_graphml`` and ``json.dumps(node_link_data(g, edges="edges"), ensure_ascii=False,
sort_keys=True, indent=1)``), but networkx is not used to write them: a graph here is a dict of
nodes and a dict of edges in networkx's order (nodes as first met, src before dst; edges grouped by
source node in node order, a repeated (src, dst) updating the first one's attributes), the GraphML
is string formatting (``abm.graphml``) and the JSON is ``json.dumps`` of networkx's node-link
layout. networkx (≈ 0.2 s to import, ≈ 0.3 ms per graph
to build) is imported only for a value the fast writers do not handle.
``tests/test_graph_files.py`` compares both files with networkx's on random graphs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from abm.graphml import graphml_text

_SEP = "/"

Nodes = dict[str, dict[str, str]]
Edges = dict[tuple[str, str], dict[str, Any]]


def node_attrs(node: str, account_id: str) -> dict[str, str]:
    kind, _, rest = node.partition(":")
    if kind == "dept":
        rest = rest[len(account_id) + 1:] if rest.startswith(account_id + _SEP) else rest
    return {"kind": {"dept": "department"}.get(kind, kind), "label": rest}


def graph_parts(rows: Iterable[Mapping[str, Any]], account_id: str) -> tuple[Nodes, Edges]:
    """Nodes and edges of one account's committee graph, each in networkx's iteration order."""
    nodes: Nodes = {}
    adjacency: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        src, dst = row["src"], row["dst"]
        for node in (src, dst):
            if node not in nodes:
                nodes[node] = node_attrs(node, account_id)
        attrs = {"relation": row["relation"], "weight": int(row["weight"] or 1)}
        attrs |= {k: row[k].isoformat() for k in ("first_on", "last_on") if row.get(k) is not None}
        adjacency.setdefault(src, {}).setdefault(dst, {}).update(attrs)
    edges = {(src, dst): attrs for src in nodes for dst, attrs in adjacency.get(src, {}).items()}
    return nodes, edges


def node_link_text(graph_attrs: dict[str, Any], nodes: Nodes, edges: Edges) -> str:
    """The node-link JSON file of a directed graph (networkx's ``node_link_data`` with ``edges="edges"``)."""
    node_rows = [{**attrs, "id": node} for node, attrs in nodes.items()]
    edge_rows = [{**attrs, "source": u, "target": v} for (u, v), attrs in edges.items()]
    data = {"directed": True, "multigraph": False, "graph": graph_attrs, "nodes": node_rows, "edges": edge_rows}
    flat = [graph_attrs, *node_rows, *edge_rows]
    if all(type(k) is str and type(v) in _SCALARS for d in flat for k, v in d.items()):
        return _indented(data)
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)


#: the value types _indented writes itself (anything else goes through json.dumps)
_SCALARS = frozenset({str, int, bool, type(None)})
_encode_str = json.encoder.encode_basestring   # json's own (C) string encoder for ensure_ascii=False


def _scalar(value: str | int | bool | None) -> str:
    if isinstance(value, str):
        return _encode_str(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return int.__repr__(value)


def _flat_dict(d: Mapping[str, Any], level: int) -> str:
    """A dict of scalars as ``json.dumps(indent=1, sort_keys=True)`` writes it at nesting ``level``."""
    if not d:
        return "{}"
    pad = "\n" + " " * level
    return "{" + pad + ("," + pad).join(f"{_encode_str(k)}: {_scalar(v)}" for k, v in sorted(d.items())) \
        + "\n" + " " * (level - 1) + "}"


def _indented(data: Mapping[str, Any]) -> str:
    """``json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)`` of the node-link layout (a dict of
    scalars, dicts of scalars and lists of dicts of scalars) without json's pure-Python indenting encoder
    (its generators were about a third of writing the graph files)."""
    parts = []
    for key, value in sorted(data.items()):
        if isinstance(value, list):
            text = "[" + "".join(("," if i else "") + "\n  " + _flat_dict(d, 3) for i, d in enumerate(value)) \
                + "\n ]" if value else "[]"
        elif isinstance(value, dict):
            text = _flat_dict(value, 2)
        else:
            text = _scalar(value)
        parts.append(f"{_encode_str(key)}: {text}")
    return "{\n " + ",\n ".join(parts) + "\n}"


def _write_account(rows: list[dict[str, Any]], account_id: str, out: Path) -> list[Path]:
    nodes, edges = graph_parts(rows, account_id)
    graph_attrs = {"account_id": account_id}
    stem = file_stem(account_id)
    graphml, node_link = out / f"{stem}.graphml", out / f"{stem}.json"
    text = graphml_text(graph_attrs, nodes, edges)
    if text is None:   # a value only networkx writes as it does (abm.graphml)
        import networkx as nx

        graph = nx.DiGraph(**graph_attrs)
        graph.add_nodes_from(nodes.items())
        graph.add_edges_from((u, v, d) for (u, v), d in edges.items())
        nx.write_graphml(graph, graphml)
    else:
        graphml.write_bytes(text.encode("utf-8"))
    node_link.write_text(node_link_text(graph_attrs, nodes, edges), encoding="utf-8")
    return [graphml, node_link]


def file_stem(account_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", account_id)[:80]
    if safe != account_id:   # keep names unique when characters were replaced
        safe += "-" + hashlib.sha1(account_id.encode("utf-8")).hexdigest()[:8]
    return safe


def write_graphs(edges: pl.DataFrame, out_dir: Path | str,
                 accounts: Iterable[str] | None = None) -> list[Path]:
    """Write ``<account>.graphml`` and ``<account>.json`` (node-link) per account; returns the paths.

    One process: ≈ 1 ms per account, less than forking workers and shipping them the rows costs
    (and the other output writers keep both cores busy meanwhile, abm.outputs)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = edges if accounts is None else edges.filter(pl.col("account_id").is_in(list(accounts)))
    written = [path for (account_id,), part in wanted.partition_by("account_id", as_dict=True, maintain_order=True).items()
               if account_id is not None for path in _write_account(part.rows(named=True), str(account_id), out)]
    return sorted(written)
