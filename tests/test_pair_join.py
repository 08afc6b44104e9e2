"""join_pairs: the join on (__rid_l, __rid_r) it replaces, through one packed key."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.pair_join import L, R, join_pairs

RIDS = st.sampled_from([0, 1, 2, 7, (1 << 31), (1 << 32) - 1])   # the high bit and the largest UInt32 too


def _pairs(rows: list[tuple[int, int]], **columns: list) -> pl.DataFrame:
    return pl.DataFrame({L: [a for a, _ in rows], R: [b for _, b in rows], **columns},
                        schema_overrides={L: pl.UInt32, R: pl.UInt32})


def test_rows_and_columns_as_the_two_column_join():
    scored = _pairs([(0, 1), (1, 0), (2, 7), (0, 1 << 31)], w=[1.0, 2.0, 3.0, 4.0])
    cannot = _pairs([(1, 0), ((1 << 31), 0), (0, 1 << 31)], cannot_link=["a", "b", "c"])
    out = join_pairs(scored, cannot)
    assert out.columns == [L, R, "w", "cannot_link"]
    # (1, 0) is not (0, 1); (0, 2^31) is not (2^31, 0)
    assert out.get_column("cannot_link").to_list() == [None, "a", None, "c"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(RIDS, RIDS), max_size=10), st.lists(st.tuples(RIDS, RIDS), max_size=10))
def test_any_pairs_join_as_the_two_column_join(left, right):
    scored = _pairs(left, w=list(range(len(left))))
    other = _pairs(right, why=[f"g{i}" for i in range(len(right))])   # a pair listed twice: both rows
    expected = scored.join(other, on=[L, R], how="left", maintain_order="left")
    assert join_pairs(scored, other).equals(expected)
