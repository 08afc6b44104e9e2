"""abm.normalize.corporate_columns: the table-speed 法人番号 columns equal ``normalize_corporate_number``
value by value, on plain 13-digit values (valid and not) and on everything the Python path handles."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize.contact import corporate_number_check_digit, normalize_corporate_number
from abm.normalize.corporate_columns import corporate_number_columns


def _columns(vals: list[str | None]) -> list[tuple[object, ...]]:
    df = corporate_number_columns(pl.DataFrame({"v": vals}, schema={"v": pl.Utf8}), "v", "n", "bad")
    assert df.columns == ["v", "n", "bad"] and df.height == len(vals)
    return list(df.select("n", "bad").iter_rows())


def _reference(vals: list[str | None]) -> list[tuple[object, ...]]:
    return [normalize_corporate_number(v) for v in vals]


def _valid(base12: str) -> str:
    return f"{corporate_number_check_digit(base12)}{base12}"


@pytest.mark.parametrize("value, number, bad", [
    ("7000012050002", "7000012050002", False),     # 国税庁
    ("1010001000006", "1010001000006", False),
    ("7000012050003", None, True),                 # check digit off by one
    ("0000012050002", None, True),                 # leading zero: not a 法人番号
    ("T7000012050002", "7000012050002", False),    # invoice registration number
    ("７０００－０１２０－５０００２", "7000012050002", False),
    ("7000012050002.0", "7000012050002", False),   # Excel float tail
    (" 7000012050002 ", "7000012050002", False),
    ("700001205000", None, True),
    ("", None, False),
    (None, None, False),
])
def test_known_values(value: str | None, number: str | None, bad: bool) -> None:
    assert _columns([value]) == [(number, bad)] == _reference([value])


def test_every_check_digit_and_repeats() -> None:
    """Each first digit 1-9 on bases whose right check digit is each of 1-9, repeated and mixed."""
    bases = [f"{i:012d}" for i in range(0, 120_000_000_000, 7_919_000_003)]
    vals = [f"{d}{b}" for b in bases for d in "123456789"] + [_valid(b) for b in bases]
    assert any(bad is False for _, bad in _columns(vals))
    assert _columns(vals + vals[::-1]) == _reference(vals + vals[::-1])


DIGITS = st.text(alphabet="0123456789", min_size=12, max_size=12)
NOISE = st.text(alphabet="0123456789０１２３T t-ー.\u3000a", max_size=16)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(DIGITS.map(_valid), st.text(alphabet="0123456789", min_size=13, max_size=13),
                          NOISE, st.none()), max_size=30))
def test_same_as_per_value(vals: list[str | None]) -> None:
    assert _columns(vals) == _reference(vals)
