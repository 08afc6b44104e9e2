"""abm.export.excel_safe against a cell-by-cell reference (what it did before it skipped clean columns)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.export import FORMULA_PREFIXES, excel_safe

HOSTILE = st.sampled_from(["=1+1", "+81", "-3", "@SUM(A1)", "\t=x", "\r=x", "＝１", "＋", "－", "＠", "'=quoted", " =x",
                           "=HYPERLINK(\"http://x\")", "株式会社=", "", " ", "a | b", "\n=", "\ufeff="])
CELL = st.one_of(st.none(), HOSTILE, st.text(max_size=6))


def _reference_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = " | ".join(str(v) for v in value if v is not None)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _reference(df: pl.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(_reference_cell(v) if isinstance(df.schema[name], pl.List | pl.String) else v
                  for name, v in zip(df.columns, row, strict=True)) for row in df.rows()]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(CELL, CELL, st.one_of(st.none(), st.lists(st.one_of(HOSTILE, st.text(max_size=4)), max_size=3)),
                          st.integers(-5, 5)), max_size=12))
def test_same_cells_as_cell_by_cell(rows: list[tuple[Any, ...]]) -> None:
    df = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String, "l": pl.List(pl.String), "n": pl.Int64},
                      orient="row")
    out = excel_safe(df)
    assert out.schema == {"a": pl.String, "b": pl.String, "l": pl.String, "n": pl.Int64}
    assert out.rows() == _reference(df)


@pytest.mark.parametrize("df", [
    pl.DataFrame(),
    pl.DataFrame({"a": pl.Series([], dtype=pl.String)}),
    pl.DataFrame({"a": [None, None]}, schema={"a": pl.String}),
    pl.DataFrame({"d": [date(2025, 1, 1)], "x": [1.5]}),
    pl.DataFrame({"l": [[1, 2], None, []]}, schema={"l": pl.List(pl.Int64)}),
    pl.DataFrame({"a": ["=1", "x"], "b": ["ok", "fine"]}),
])
def test_edge_frames(df: pl.DataFrame) -> None:
    out = excel_safe(df)
    assert out.columns == df.columns
    assert out.rows() == _reference(df)
