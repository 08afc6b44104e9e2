"""The units' columns as arrays a pair gathers by row number, computed once per ``prepared`` frame
and shared by blocking (its keys), comparisons (their levels) and ``sql`` guards (their profiles):
all three ask of a column only which rows hold equal values, so one code per distinct value,
computed once (``abm.linkage.distinct.dense_codes``), serves them all."""

from __future__ import annotations

import numpy as np
import polars as pl

from abm.linkage.distinct import dense_codes


class Columns:
    """The units' columns as arrays a pair gathers by row number, each computed once per ``prepared``:
    per column a dense integer code per distinct value (-1: null), its null mask, its flag (a boolean
    column, null = false). Two values are equal exactly when their codes are, so an exact level is
    two integer gathers and no string is copied; the other kinds are evaluated once per distinct
    pair of values."""

    def __init__(self, prepared: pl.DataFrame):
        self.prepared = prepared
        self._codes: dict[str, np.ndarray | None] = {}
        self._narrow: dict[str, np.ndarray | None] = {}
        self._nulls: dict[str, np.ndarray] = {}
        self._flags: dict[str, np.ndarray] = {}
        self._texts: dict[str, np.ndarray] = {}
        self._alternatives: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def codes(self, column: str) -> np.ndarray | None:
        """Dense codes (int64, -1 for null), or None for a type whose equality is not that of its
        values' identity (floats: NaN), compared value by value instead."""
        if column not in self._codes:
            series = self.prepared.get_column(column)
            dtype = series.dtype
            if dtype == pl.Null:
                self._codes[column] = np.full(len(series), -1, dtype=np.int64)
            elif dtype.is_integer() or dtype in (pl.Utf8, pl.Boolean, pl.Date) \
                    or isinstance(dtype, pl.Categorical | pl.Enum | pl.Datetime):
                self._codes[column] = dense_codes(series)
            else:
                self._codes[column] = None
        return self._codes[column]

    def narrow_codes(self, column: str) -> np.ndarray | None:
        """``codes`` as int32 where every code fits (fewer than 2**31 rows): a comparison gathers them
        at both rows of every pair, and half the bytes is about half the time of those gathers."""
        if column not in self._narrow:
            codes = self.codes(column)
            self._narrow[column] = codes.astype(np.int32) if codes is not None and len(codes) < 2**31 else codes
        return self._narrow[column]

    def keys(self, column: str) -> np.ndarray:
        """Codes that group rows by value for any type (blocking keys, guard profiles): ``codes``,
        or for a float column its dense rank (every NaN one value)."""
        codes = self.codes(column)
        return codes if codes is not None else dense_codes(self.prepared.get_column(column))

    def nulls(self, column: str) -> np.ndarray:
        if column not in self._nulls:
            self._nulls[column] = self.prepared.get_column(column).is_null().to_numpy()
        return self._nulls[column]

    def flags(self, column: str) -> np.ndarray:
        if column not in self._flags:
            self._flags[column] = self.prepared.get_column(column).fill_null(False).to_numpy().astype(bool)
        return self._flags[column]

    def values(self, column: str, rows: np.ndarray) -> pl.Series:
        return self.prepared.get_column(column).gather(rows)

    def texts(self, column: str) -> np.ndarray | None:
        """Per code, its value as a Python string (an object array built once per column), so a
        scorer's inputs are two gathers of shared strings rather than one new string per pair; None
        where the column has no codes."""
        codes = self.codes(column)
        if codes is None:
            return None
        if column not in self._texts:
            values = self._per_code(column, codes).to_list()
            self._texts[column] = np.array(values + [None], dtype=object)[:len(values)]
        return self._texts[column]

    def _per_code(self, column: str, codes: np.ndarray) -> pl.Series:
        """Per non-null code, in code order, its value as a string: read at any one row of the code
        (all hold that value), found by one scatter of the row numbers — not a sort (``np.unique``)."""
        rows = np.flatnonzero(codes >= 0)
        one = np.empty(int(codes.max(initial=-1)) + 1, dtype=np.intp)   # codes are dense: 0 … k-1
        one[codes[rows]] = rows
        return self.prepared.get_column(column).cast(pl.Utf8).gather(one)

    def alternatives(self, column: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Per code, the elements of its ``|a|b|`` set of alternatives (split as the ``overlap``
        level splits them) as integer ids: code c's are ``ids[starts[c]:starts[c + 1]]``. Split once
        per distinct value, not once per pair; None where the column has no codes."""
        codes = self.codes(column)
        if codes is None:
            return None
        if column not in self._alternatives:
            sets = self._per_code(column, codes).str.strip_chars("|").str.split("|")
            lengths = sets.list.len().to_numpy().astype(np.int64)
            ids = dense_codes(sets.explode())   # a split never gives an empty list: one row per element
            self._alternatives[column] = (np.concatenate([[0], np.cumsum(lengths)]), ids)
        return self._alternatives[column]
