"""abm.linkage.exact_duplicates.representatives equals the window it replaces
(``pl.col(id).min().over(signature)``), including when row hashes collide."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage import exact_duplicates
from abm.linkage.exact_duplicates import representatives

SIG = ["name", "phone", "flag"]


def _reference(units: pl.DataFrame, signature: list[str]) -> pl.Series:
    if not signature:
        return units.get_column("id")
    return units.select(pl.col("id").min().over(signature)).to_series()


def _units(rows: list[tuple[str, str | None, str | None, bool | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"id": pl.Utf8, "name": pl.Utf8, "phone": pl.Utf8, "flag": pl.Boolean},
                        orient="row")


CASES = [
    ("no rows", [], SIG),
    ("all distinct", [("b", "x", "1", True), ("a", "y", "1", True)], SIG),
    ("one twin pair", [("b", "x", "1", True), ("a", "x", "1", True), ("c", "x", "2", True)], SIG),
    ("nulls equal nulls", [("z", None, None, None), ("y", None, None, None), ("x", None, "1", None)], SIG),
    ("null differs from value", [("b", "x", None, False), ("a", "x", "", False)], SIG),
    ("no signature", [("b", "x", "1", True), ("a", "x", "1", True)], []),
    ("sub-signature", [("b", "x", "1", True), ("a", "x", "2", False)], ["name"]),
]


@pytest.mark.parametrize(("rows", "signature"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("collide", [False, True])
def test_equals_window(rows, signature, collide, monkeypatch) -> None:
    if collide:   # every row the same hash: the exactness check must fall back to the values
        monkeypatch.setattr(exact_duplicates, "_row_hashes",
                            lambda units, _sig: pl.Series([7] * units.height, dtype=pl.UInt64))
    units = _units(rows)
    assert representatives(units, "id", signature).to_list() == _reference(units, signature).to_list()


values = st.sampled_from(["x", "y", "", None])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(values, values, st.sampled_from([True, False, None])), max_size=30),
       st.booleans())
def test_equals_window_property(fields, collide) -> None:
    rows = [(f"k{i:03d}", *f) for i, f in enumerate(fields)]
    units = _units(rows).sample(fraction=1.0, shuffle=True, seed=1) if rows else _units(rows)
    if collide:
        hashes = pl.Series([1] * units.height, dtype=pl.UInt64)
        original = exact_duplicates._row_hashes
        exact_duplicates._row_hashes = lambda u, _s: hashes     # type: ignore[assignment]
    try:
        got = representatives(units, "id", SIG)
    finally:
        if collide:
            exact_duplicates._row_hashes = original             # type: ignore[assignment]
    assert got.to_list() == _reference(units, SIG).to_list()
