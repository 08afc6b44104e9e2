"""abm.rules.safe_load: libyaml's safe loader reads every document as yaml.safe_load does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.rules import DEFAULT_RULES_DIR, safe_load

_SHIPPED = sorted([*DEFAULT_RULES_DIR.glob("*.yaml"), *(Path(__file__).resolve().parent.parent / "abm").rglob("*.yaml")])


@pytest.mark.parametrize("path", _SHIPPED, ids=lambda p: p.name)
def test_every_shipped_yaml_reads_as_the_pure_python_loader_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8-sig")
    assert safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", [
    "a: [1, 2.5, true, null, '03', 2026-12-01]\n",
    "日本語: 株式会社\nkey: \"\\u3042\"\n",
    "- &x {a: 1}\n- *x\n",
    "",
])
def test_small_documents_read_alike(text: str) -> None:
    assert safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", ["a: [1, 2", "a: b: c", "{"])
def test_bad_yaml_raises_yaml_error(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        safe_load(text)


_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                  st.floats(allow_nan=False, allow_infinity=False))
_DOC = st.recursive(_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                    max_leaves=12)


@settings(max_examples=100, deadline=None)
@given(_DOC)
def test_any_dumped_document_reads_alike(doc: object) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True)
    assert safe_load(text) == yaml.safe_load(text)
