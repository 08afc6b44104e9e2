"""A frame's rows as compact JSON text, written by polars: the bytes ``json.dumps(df.rows())`` gives.

report.html embeds every flag as arrays of small integers (``abm.report.model``); turning ~150 k
rows into Python tuples (``DataFrame.rows``) and encoding them took ≈ 1 s of the report's lane, which
holds the GIL. Here each column becomes its JSON text in polars (integers, booleans and lists of
integers natively; floats and any other type through ``json.dumps`` per value, so their text is
Python's own), and the rows are joined as strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

#: ``json.dumps`` arguments of the report's compact JSON (abm.report.html.script_json)
DUMPS: Mapping[str, Any] = {"ensure_ascii": False, "separators": (",", ":"), "allow_nan": False, "default": str}


def _python_json(series: pl.Series) -> pl.Series:
    """Each value as ``json.dumps`` writes it (the fallback for types polars does not format alike)."""
    return pl.Series(series.name, [json.dumps(v, **DUMPS) for v in series.to_list()], dtype=pl.String)


def _float_json(series: pl.Series) -> pl.Series:
    """Float64s as ``json.dumps`` writes them. A whole number below 2**53 (an amount, mostly) is its
    integer's digits and ".0" in Python and in polars alike (both write the shortest text that reads
    back, in positional notation below 1e16, "-0.0" included); any other value goes through
    ``json.dumps`` (Python's exponent notation differs from polars', and NaN must raise)."""
    whole = (series.is_finite() & (series.abs() < 2.0 ** 53) & (series == series.floor())).fill_null(False)
    text = series.cast(pl.String)
    other = (~whole & series.is_not_null()).arg_true()
    if other.len():
        text = text.scatter(other, [json.dumps(v, **DUMPS) for v in series.gather(other).to_list()])
    return text.fill_null("null").alias(series.name)


def _native(col: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """A column's JSON text as an expression, where polars writes it as JSON does (integers,
    booleans as true / false, lists of integers); None for the other types."""
    if dtype.is_integer() or dtype == pl.Boolean:
        return col.cast(pl.String).fill_null("null")
    if isinstance(dtype, pl.List) and dtype.inner is not None and dtype.inner.is_integer():
        items = col.list.eval(pl.element().cast(pl.String).fill_null("null")).list.join(",")
        return pl.concat_str(pl.lit("["), items, pl.lit("]")).fill_null("null")
    return None


def json_column(series: pl.Series) -> pl.Series:
    """Each value of ``series`` as JSON text, equal to ``json.dumps(value)`` (null -> ``null``)."""
    native = _native(pl.col(series.name), series.dtype)
    if native is not None:
        return series.to_frame().select(native).to_series()
    if series.dtype == pl.Float64:   # (a Float32's shortest text is not its double's)
        return _float_json(series)
    return _python_json(series)


def json_rows(df: pl.DataFrame) -> str:
    """``json.dumps(df.rows(), **DUMPS)``: a list of arrays, one per row, in column order. The
    columns polars writes natively are expressions of one select (not a Series operation each)."""
    if df.width == 0:
        return json.dumps(df.rows(), **DUMPS)
    cells = [native if (native := _native(pl.col(name), dtype)) is not None
             else pl.lit(json_column(df.get_column(name))) for name, dtype in df.schema.items()]
    rows = df.select(pl.concat_str(pl.lit("["), pl.concat_str(cells, separator=","), pl.lit("]")).alias("row"))
    return "[" + rows.to_series().str.join(",").item() + "]"


def dumps(data: Mapping[str, Any]) -> str:
    """``json.dumps(data, **DUMPS)`` of a dict whose values may be frames (each as its ``rows()``)."""
    return "{" + ",".join(
        json.dumps(key, **DUMPS) + ":" + (json_rows(value) if isinstance(value, pl.DataFrame)
                                              else json.dumps(value, **DUMPS))
        for key, value in data.items()) + "}"
