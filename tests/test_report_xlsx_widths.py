"""report.xlsx's column widths (abm.report.xlsx._widths, every text column's longest in one select)
are what the per-column formula gave."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.report.xlsx import _widths

FRAMES = [
    pl.DataFrame({"s": ["a", " b", "<&>", "_x0041_", "日本"], "i": [1, 2, 3, 4, 5], "b": [True, False, True, True, False],
                  "d": [date(2026, 1, 1)] * 5, "t": [datetime(2026, 1, 2, 3, 4, 5)] * 5,
                  "f": [1.5, float("nan"), float("inf"), 2.0, -0.0]}),
    pl.DataFrame({"s": ["a", None, "x\x01"], "i": [None, 2, 3], "f": [None, 1.0, 2.5]}),
    pl.DataFrame({"x": [None, None]}, schema={"x": pl.String}),
    pl.DataFrame(schema={"s": pl.String, "i": pl.Int64}),
    pl.DataFrame({"a_long_column_name": ["日本語のとても長い名前" * 9, "x"]}),
]

_TEXT = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["日本語", "ｶﾀｶﾅ", "😀", ""]))


def _widths_before(df: pl.DataFrame) -> list[float]:
    widths = []
    for name, dtype in df.schema.items():
        width = float(len(name))
        if dtype == pl.String and df.height:
            s = df.get_column(name).drop_nulls()
            if s.len():
                shown = (s.str.len_chars() + (s.str.len_bytes() - s.str.len_chars()) / 2).max()
                width = max(width, float(shown or 0))  # type: ignore[arg-type]
        elif dtype in (pl.Date, pl.Datetime):
            width = max(width, 11.0)
        else:
            width = max(width, 10.0)
        widths.append(min(max(width + 2, 8.0), 60.0))
    return widths


@pytest.mark.parametrize("df", FRAMES)
def test_widths_as_computed_column_by_column(df: pl.DataFrame):
    assert _widths(df) == _widths_before(df)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT), max_size=10))
def test_any_widths_as_computed_column_by_column(rows: list[tuple]):
    df = pl.DataFrame(rows, orient="row", schema={"c": pl.String, "a_much_longer_name": pl.String})
    assert _widths(df) == _widths_before(df)
