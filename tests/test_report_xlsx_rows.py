"""report.xlsx's rows (abm.report.sheetxml.row_xml) are the bytes of one ``<c>`` expression per cell
joined with empty cells left out — the way they were rendered before cells without empty values were
spliced into the row — and a column's width is what the per-column formula gave."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.report import sheetxml
from abm.report.xlsx import _widths

STYLES = sheetxml.Styles(date=3, datetime=4)


def _nested(df: pl.DataFrame) -> list[str]:
    """The rows as rendered before: every cell its own expression, the row joined with nulls left out."""
    row_ref = pl.col("\0row")
    needs = sheetxml._text_needs(df)
    cells = [sheetxml.cell_xml(name, dtype, c, row_ref, STYLES, *needs.get(name, (True, True)))
             for c, (name, dtype) in enumerate(df.schema.items())]
    row = pl.concat_str(pl.lit('<row r="'), row_ref, pl.lit('">'), *cells, pl.lit("</row>"), ignore_nulls=True)
    return df.with_columns(pl.int_range(2, df.height + 2).cast(pl.String).alias("\0row")).select(row).to_series().to_list()


def _flat(df: pl.DataFrame) -> list[str]:
    row = sheetxml.row_xml(df, pl.col("\0row"), STYLES)
    return df.with_columns(pl.int_range(2, df.height + 2).cast(pl.String).alias("\0row")).select(row).to_series().to_list()


FRAMES = [
    pl.DataFrame({"s": ["a", " b", "<&>", "_x0041_", "日本"], "i": [1, 2, 3, 4, 5], "b": [True, False, True, True, False],
                  "d": [date(2026, 1, 1)] * 5, "t": [datetime(2026, 1, 2, 3, 4, 5)] * 5,
                  "f": [1.5, float("nan"), float("inf"), 2.0, -0.0]}),
    pl.DataFrame({"s": ["a", None, "x\x01"], "i": [None, 2, 3], "b": [None, True, False], "d": [None, date(1900, 2, 28), None],
                  "f": [None, 1.0, 2.5], "u": [1, 2, 3]}, schema_overrides={"u": pl.UInt8}),
    pl.DataFrame({"t": [datetime(2026, 3, 29, 2, 30)]}, schema={"t": pl.Datetime("ms", "Europe/Berlin")}),
    pl.DataFrame({"x": [None, None]}, schema={"x": pl.String}),
]


@pytest.mark.parametrize("df", FRAMES)
def test_rows_as_rendered_cell_by_cell(df: pl.DataFrame):
    assert _flat(df) == _nested(df)


_TEXT = st.one_of(st.none(), st.text(max_size=6), st.sampled_from([" a", "a ", "<", "&amp;", "_x00e9_", "\x07", "日本語"]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_TEXT, st.text(max_size=4), st.one_of(st.none(), st.integers(-(2**40), 2**40)),
                          st.integers(0, 10), st.one_of(st.none(), st.floats()), st.booleans(),
                          st.dates(date(1899, 12, 30), date(2100, 1, 1))), min_size=1, max_size=10))
def test_any_rows_as_rendered_cell_by_cell(rows: list[tuple]):
    df = pl.DataFrame(rows, orient="row", schema={"maybe": pl.String, "text": pl.String, "n": pl.Int64, "k": pl.Int64,
                                                  "f": pl.Float64, "b": pl.Boolean, "d": pl.Date})
    assert _flat(df) == _nested(df)
    assert _widths(df) == _widths_before(df)


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


@pytest.mark.parametrize("df", [*FRAMES, pl.DataFrame(schema={"s": pl.String, "i": pl.Int64}),
                                pl.DataFrame({"a_long_column_name": ["日本語のとても長い名前" * 9, "x"]})])
def test_widths_as_computed_column_by_column(df: pl.DataFrame):
    assert _widths(df) == _widths_before(df)
