"""The report's string table (abm.report.model._Strings): each text once, most frequent first (ties in
text order), and every cell replaced by its value's index."""

from __future__ import annotations

from collections import Counter

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.report.model import _Strings

_TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", "B", "日本", "", " a", "a\x00"]), st.text(max_size=3))


def _expected(texts: list[str | None], lists: list[list[str | None] | None]) -> list[str]:
    counts = Counter(t for t in texts if t is not None)
    counts.update(t for items in lists if items for t in items if t is not None)
    return sorted(counts, key=lambda t: (-counts[t], t.encode()))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_TEXT, st.one_of(st.none(), st.lists(_TEXT, max_size=4))), max_size=15))
def test_most_frequent_first_and_cells_as_indexes(rows: list[tuple]):
    texts = [t for t, _ in rows]
    lists = [items for _, items in rows]
    df = pl.DataFrame({"t": texts, "l": lists}, schema={"t": pl.String, "l": pl.List(pl.String)})
    strings = _Strings()
    out = strings.encode({"x": (df, ["t", "l"])})["x"]
    assert strings.values == _expected(texts, lists)
    index = {t: i for i, t in enumerate(strings.values)}
    assert out.get_column("t").to_list() == [None if t is None else index[t] for t in texts]
    # a list keeps its texts' indexes in order, without nulls; a null list becomes [], an empty one null
    assert out.get_column("l").to_list() == [
        None if items == [] else [index[t] for t in items or [] if t is not None] for items in lists]
