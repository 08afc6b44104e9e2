"""abm.report.json_rows writes exactly the text json.dumps writes for the same rows."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.report.html import render_report, script_json
from abm.report.json_rows import DUMPS, dumps, json_rows

INT_LIST = pl.List(pl.Int64)

CASES = [
    pl.DataFrame({"i": [1, None, -3]}, schema={"i": pl.Int64}),
    pl.DataFrame({"u": [0, 4_294_967_295]}, schema={"u": pl.UInt32}),
    pl.DataFrame({"b": [True, None, False]}),
    pl.DataFrame({"f": [1.5, None, 1e16, 1e-7, 1200000.0, -0.0]}),
    pl.DataFrame({"l": [[1, None], None, []]}, schema={"l": INT_LIST}),
    pl.DataFrame({"s": ['x"<', None, "日本", "\u2028"]}),
    pl.DataFrame({"i": [1], "s": ["a"], "l": [[2]]}, schema={"i": pl.Int8, "s": pl.String, "l": INT_LIST}),
    pl.DataFrame(schema={"i": pl.Int64, "l": INT_LIST}),
    pl.DataFrame(),
]


@pytest.mark.parametrize("df", CASES)
def test_rows_as_json_dumps_writes_them(df: pl.DataFrame):
    assert json_rows(df) == json.dumps(df.rows(), **DUMPS)


def test_a_non_finite_float_is_refused_as_json_dumps_refuses_it():
    with pytest.raises(ValueError):
        json_rows(pl.DataFrame({"f": [float("nan")]}))


WHOLE = [0.0, -0.0, 1.0, -3.0, 1200000.0, 1e15, 123456789012345.0, 2.0**53 - 1, -(2.0**53 - 1), 2.0**53,
         2.0**53 + 2, 1e16, 1e17, -1e22, 1e300]
FRACTIONS = [0.5, 100.25, 1e-7, 2.5e-5, 1e-4, 0.1 + 0.2, 5e-324, -1.5e-300, 1234.5678]


@pytest.mark.parametrize("dtype", [pl.Float64, pl.Float32])
def test_floats_whole_or_not_as_json_dumps_writes_them(dtype: pl.DataType):
    # a whole Float64 below 2**53 is written by polars, any other float by json.dumps
    values = [v for v in [*WHOLE, *FRACTIONS, None] if v is None or abs(v) < 3e38 or dtype == pl.Float64]
    df = pl.DataFrame({"f": values}, schema={"f": dtype})
    assert json_rows(df) == json.dumps(df.rows(), **DUMPS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**54), 2**54).map(float),
                          st.integers(-(10**6), 10**6).map(lambda n: n / 100)), max_size=20))
def test_any_amounts_as_json_dumps_writes_them(values: list[float | None]):
    df = pl.DataFrame({"f": values}, schema={"f": pl.Float64})
    assert json_rows(df) == json.dumps(df.rows(), **DUMPS)


_ints = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))
_floats = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_ints, st.one_of(st.none(), st.booleans()), _floats,
                          st.one_of(st.none(), st.lists(_ints, max_size=4)), st.one_of(st.none(), st.text(max_size=5))),
                max_size=12))
def test_any_rows_as_json_dumps_writes_them(rows: list[tuple]):
    df = pl.DataFrame(rows, schema={"i": pl.Int64, "b": pl.Boolean, "f": pl.Float64, "l": INT_LIST, "s": pl.String},
                      orient="row")
    assert json_rows(df) == json.dumps(df.rows(), **DUMPS)


def test_a_dict_with_frames_is_the_dict_with_their_rows():
    frame = pl.DataFrame({"i": [1, 2], "l": [[3], None]}, schema={"i": pl.Int64, "l": INT_LIST})
    data = {"s": ["<b>", "日本"], "a": frame, "fields": {"a": ("i", "l")}, "as_of": "2026-01-01"}
    assert dumps(data) == json.dumps(data | {"a": frame.rows()}, **DUMPS)
    assert str(script_json(data)) == str(script_json(data | {"a": frame.rows()}))


def test_the_report_embeds_the_same_json_as_from_python_rows(monkeypatch: pytest.MonkeyPatch):
    from tests.test_report import _tables

    tables = _tables()
    html = render_report(tables, date(2026, 4, 1), {})
    monkeypatch.setattr("abm.report.html.json_rows.dumps", lambda data: json.dumps(
        {k: v.rows() if isinstance(v, pl.DataFrame) else v for k, v in data.items()}, **DUMPS))
    assert render_report(tables, date(2026, 4, 1), {}) == html
