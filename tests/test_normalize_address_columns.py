"""abm.normalize.address_columns: the expression path equals prefecture / postal_code_from_address."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize.address_columns import address_columns
from abm.normalize.contact import contact_rules, postal_code_from_address, prefecture
from abm.rules import load_rules

CR = load_rules(validate=False).view(contact_rules)
PIECES = [*CR.prefectures[:5], "東京都", "京都府", "大阪", "大阪市北区", "福島区", "横浜市", "〒100-0001", "100-0001",
          "１００－０００１", "郵便番号", "日本", " ", "\u3000", "\u200b", "\x00", "\u3099", "\u0301", "ー", "一", "〜",
          "千代田区丸の内1-1", "ビル 5F", "ｶﾅｶﾞﾜ", "Tokyo"]
ADDRESSES = st.lists(st.sampled_from(PIECES), min_size=1, max_size=5).map("".join)


def _columns(values: list[str | None]) -> list[tuple[str | None, str | None]]:
    df = address_columns(pl.DataFrame({"a": values}, schema={"a": pl.Utf8}), "a", CR)
    return list(df.select("_postal_a", "_pref_a").iter_rows())


def _reference(a: str | None) -> tuple[str | None, str | None]:
    return postal_code_from_address(a), prefecture(a, CR)


@pytest.mark.parametrize("address", ["神奈川県横浜市西区緑町4-24-9", "東京都千代田区", "京都府京都市", "〒100-0001 東京都千代田区",
                                     "大阪市北区梅田", "横浜市中区", " 東京都", "東京都\u3099", "", None])
def test_cases(address: str | None) -> None:
    assert _columns([address]) == [_reference(address)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(ADDRESSES, st.text(max_size=20), st.none()), min_size=1, max_size=10))
def test_expression_path_equals_the_functions(values: list[str | None]) -> None:
    assert _columns(values) == [_reference(v) for v in values]


def test_no_prefecture_is_the_start_of_another() -> None:
    prefs = CR.prefectures
    assert not [(a, b) for a in prefs for b in prefs if a != b and b.startswith(a)]
