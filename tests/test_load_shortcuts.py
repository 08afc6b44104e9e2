"""The load stage's shortcuts give what the longer forms they replace give (abm.load.decode, layouts)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.load.decode import _JIS_ESCAPES, decode
from abm.load.layouts import _blank_to_null
from abm.load.validate import _in_file_order


@pytest.mark.parametrize("data", [
    "名刺,会社\n1,株式会社日本\n".encode("iso2022_jp"),        # JIS: its escapes start with ESC
    "名刺,会社\n1,ｶﾀｶﾅ\n".encode("iso2022_jp_ext"),
    b"a,b\n\x1b[31mred\x1b[0m,x\n",                            # ESC, but no JIS escape: UTF-8
    "a,b\n山田,x\n".encode(),
    "a,b\n山田,x\n".encode("cp932"),
])
def test_jis_is_detected_by_its_escapes_as_before(data):
    text, used, _ = decode(data, "x.csv")
    assert used.startswith("iso2022_jp") == bool(_JIS_ESCAPES.search(data))
    assert text == data.decode(used.split("(")[0] if used != "utf-8-sig" else "utf-8-sig")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(" \t\u3000\n\r\x85ab山") | st.characters(exclude_categories=("Cs",)),
                        max_size=6) | st.none(), max_size=8))
def test_blank_to_null_is_strip_then_null_when_no_character_is_left(values):
    df = pl.DataFrame({"v": values}, schema={"v": pl.Utf8})
    stripped = pl.col("v").str.strip_chars()
    old = df.select(pl.when(stripped.str.len_chars() > 0).then(stripped).alias("v"))
    assert df.select(_blank_to_null(pl.col("v")).alias("v")).equals(old)



@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a.csv", "b.csv", "B.csv", "名刺.csv", "a.zip/x.csv"]), st.integers(1, 40)),
                unique=True, max_size=25), st.booleans())
def test_file_order_is_the_sort_by_file_and_row(keys, presorted):
    keys = sorted(keys) if presorted else keys
    table = pl.DataFrame({"source_file": [f for f, _ in keys], "row_number": [r for _, r in keys],
                          "v": list(range(len(keys)))}, schema={"source_file": pl.Utf8, "row_number": pl.Int64, "v": pl.Int64})
    assert _in_file_order(table).equals(table.sort("source_file", "row_number"))
