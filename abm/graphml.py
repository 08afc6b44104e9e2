"""GraphML text of one account's committee graph, byte for byte what ``networkx.write_graphml`` writes.

networkx builds an lxml tree per file (≈ 3 ms for an account of 15 edges; 500 graph files a night);
the graphs written here have one shape — a directed graph with string attributes, an integer
``weight`` — so the same document is produced by string formatting in a tenth of the time.
``tests/test_graphml.py`` compares the bytes with networkx's on random graphs of that shape; a
value this writer does not handle exactly (a character XML cannot hold, a type other than str/int)
makes it return None, and the caller uses networkx.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_HEAD = ("<?xml version='1.0' encoding='utf-8'?>\n"
         '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
         'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
         'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n')
#: characters XML 1.0 cannot hold (lxml refuses them): leave those graphs to networkx
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
                       "\t": "&#09;"})


class _Keys:
    """GraphML keys in order of first use (networkx lists them newest first)."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], tuple[str, str]] = {}

    def key(self, scope: str, name: str, value: Any) -> str:
        found = self.ids.get((scope, name))
        if found is None:
            found = self.ids[(scope, name)] = (f"d{len(self.ids)}", "long" if isinstance(value, int) else "string")
        return found[0]

    def xml(self) -> str:
        return "".join(f'  <key id="{k}" for="{scope}" attr.name="{name.translate(_ATTR)}" attr.type="{t}" />\n'
                       for (scope, name), (k, t) in reversed(self.ids.items()))


def _data(keys: _Keys, scope: str, attrs: Mapping[str, Any], indent: str) -> str:
    out = []
    for name, value in attrs.items():
        key = keys.key(scope, name, value)
        text = str(value).translate(_TEXT)
        out.append(f'{indent}<data key="{key}">{text}</data>\n' if text else f'{indent}<data key="{key}" />\n')
    return "".join(out)


def _plain(values: list[Any]) -> bool:
    """Every value a str or a (non-bool) int, and no string holding a character XML cannot hold (one
    regex search over all the strings at once)."""
    strings = [v for v in values if type(v) is str]
    if len(strings) != len(values) and not all(type(v) is int for v in values if type(v) is not str):
        return False
    return not _NOT_XML.search("\n".join(strings))


def graphml_text(graph_attrs: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]],
                 edges: Mapping[tuple[str, str], Mapping[str, Any]]) -> str | None:
    """The GraphML of a directed graph: ``nodes`` and ``edges`` (keyed (src, dst)) in networkx's
    iteration order, each with its attributes. None when a value needs networkx."""
    values = [*graph_attrs.values(), *nodes, *(v for a in nodes.values() for v in a.values()),
              *(v for a in edges.values() for v in a.values()), *graph_attrs, *(k for a in nodes.values() for k in a),
              *(k for a in edges.values() for k in a)]
    if not _plain(values):
        return None
    keys = _Keys()
    for name, value in graph_attrs.items():
        keys.key("graph", name, value)
    body = []
    for node, attrs in nodes.items():
        inner = _data(keys, "node", attrs, "      ")
        ident = node.translate(_ATTR)
        body.append(f'    <node id="{ident}">\n{inner}    </node>\n' if inner else f'    <node id="{ident}" />\n')
    for (src, dst), attrs in edges.items():
        inner = _data(keys, "edge", attrs, "      ")
        head = f'    <edge source="{src.translate(_ATTR)}" target="{dst.translate(_ATTR)}"'
        body.append(f"{head}>\n{inner}    </edge>\n" if inner else f"{head} />\n")
    graph_data = _data(keys, "graph", graph_attrs, "    ")
    return (_HEAD + keys.xml() + '  <graph edgedefault="directed">\n' + "".join(body) + graph_data
            + "  </graph>\n</graphml>\n")
