"""abm.normalize.company_columns: the table-speed company columns equal the per-value functions."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.normalize.company import company_kana, company_rules, display_keys, split_legal_form
from abm.normalize.company_columns import company_columns, company_kana_column, fast_split
from abm.normalize.text import clean
from abm.rules import load_rules

CR = load_rules(validate=False).view(company_rules)

#: pieces a company name is made of, including what the fast path must refuse: legal forms in
#: every spelling, doubled (OCR) forms, kana forms, ー runs, 一 between katakana, branch words,
#: compatibility ideographs, half-width kana, controls, Latin
PIECES = [
    "株式会社", "株式式会社", "株株式会社", "株式会", "有限会社", "合同会社", "一般社団法人", "ー般社団法人",
    "(株)", "（株）", "㈱", "㈲", "( 株 )", "【株】", "(カ", "カ)", "カブシキガイシャ", "ユウゲンガイシャ",
    "山田", "電機", "運輸", "サービス", "さくら", "髙橋", "社", "株", "会社", "式", "システムズ", "センター", "大阪支店",
    "ー", "ーー", "一", "カ一ド", "ア", "ヴ", "ヺ", "々", "\uf929", "\u2f00", "ｶﾌﾞｼｷｶﾞｲｼｬ", "ﾔﾏﾀﾞ", " ", "\u3000",
    "  ", "\t", "\x00", "\u200b", "・", "&", "-", "Co., Ltd.", "Inc.", "KK", "Yamada", "Ｙａｍａｄａ", "１２３", "〜",
]
NAMES = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)
KANA_KANJI = st.text(st.sampled_from("山田電機運輸商事株式会社有限一ーアイウカブシキガイシャさくらヴ々"), min_size=1, max_size=12)
ANY = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


def _fast(values: list[str | None]) -> list[tuple[bool, str | None]]:
    df = fast_split(pl.DataFrame({"v": values}, schema={"v": pl.Utf8}), "v", CR)
    return list(df.select("_cc_fast", "_cc_name_f").iter_rows())


def _columns(values: list[str | None]) -> list[tuple[str | None, ...]]:
    df = company_columns(pl.DataFrame({"raw": values}, schema={"raw": pl.Utf8}), "raw", CR)
    return list(df.select("company_name", "company_key", "company_romaji", "legal_form").iter_rows())


def _reference(raw: str | None) -> tuple[str | None, ...]:
    name, form = split_legal_form(raw, CR)
    if not name:
        return None, None, None, form
    return (name, *display_keys(name, CR), form)


@pytest.mark.parametrize(("raw", "handled"), [
    ("株式会社山田運輸", True), ("山田運輸株式会社", True), ("山田運輸 株式会社", True), ("株式会社　山田運輸", True),
    ("（株）山田運輸", True), ("㈱山田運輸", True), ("山田運輸(株)", True), ("山田運輸", True), ("さくらサービス", True),
    ("一般社団法人さくら", True), ("株式会社社長商事", True), ("山田株株式会社", True), ("株式会社山田株式会社", False),
    ("山田株式会社大阪支店", False), ("カブシキガイシャヤマダ", False), ("Yamada Co., Ltd.", False), ("ｶ)ﾔﾏﾀﾞ", False),
    ("カ一ド株式会社", False), ("サーービス", False), ("山田 運輸", False), ("", False), (None, False),
])
def test_fast_path_takes_the_usual_spellings_only(raw: str | None, handled: bool) -> None:
    assert _fast([raw])[0][0] is handled
    assert _columns([raw]) == [_reference(raw)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(NAMES, KANA_KANJI, ANY, st.none()), min_size=1, max_size=12))
def test_columns_equal_the_per_value_functions(values: list[str | None]) -> None:
    assert _columns(values) == [_reference(v) for v in values]
    for v, (handled, name) in zip(values, _fast(values), strict=True):
        if handled:
            assert name == split_legal_form(v, CR)[0], v


def test_safe_characters_are_left_alone_by_clean() -> None:
    """The fast path's premise, character by character: clean() does not change them."""
    ranges = [(0x3041, 0x3096), (0x30A1, 0x30FA), (0x4E00, 0x9FFF)]
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi + 1)]
    assert [c for c in chars if clean(c) != c] == []
    assert clean("ー") == "ー"


KANA = st.lists(st.sampled_from(["ヤマダ", "デンキ", "カブシキガイシャ", "ユウゲンガイシャ", "カ)", "(カ", "ー", "ーー", " ", "\u3000", "  ",
                                 "ｶﾌﾞｼｷｶﾞｲｼｬ", "ﾔﾏﾀﾞ", "やまだ", "株式会社", "（株）", "ヴ", "ヺ", "・", "-", "ア"]),
                min_size=1, max_size=5).map("".join)


@settings(max_examples=120, deadline=None)
@given(st.lists(st.one_of(KANA, ANY, st.none()), min_size=1, max_size=10))
def test_company_kana_column_equals_company_kana(values: list[str | None]) -> None:
    df = company_kana_column(pl.DataFrame({"k": values}, schema={"k": pl.Utf8}), "k", "out", CR)
    assert df.get_column("out").to_list() == [company_kana(v, CR) for v in values]


@pytest.mark.parametrize("raw", ["ヤマダデンキ", "ヤマダ デンキ", "カブシキガイシャ ヤマダ", "ヤマダ カブシキガイシャ", "サービスーー", "ｶ)ﾔﾏﾀﾞ", ""])
def test_company_kana_cases(raw: str) -> None:
    df = company_kana_column(pl.DataFrame({"k": [raw]}), "k", "out", CR)
    assert df.get_column("out").to_list() == [company_kana(raw, CR)]


def _company_table_reference(raws: pl.DataFrame) -> pl.DataFrame:
    """``companies._company_table_later`` as it was: every display name's keys read in one map,
    after every raw name was split."""
    from abm.normalize.company_columns import company_names
    from abm.normalize.reading import company_gist, needs_loans, reading_rules, with_company_gist
    from abm.normalize.unique import apply_unique

    rr = load_rules(validate=False).view(reading_rules)

    def per_name(name: str) -> tuple[str | None, str | None, bool, str | None]:
        key, rom = display_keys(name, CR)
        latin = needs_loans(name)
        return key, rom, latin, None if latin else company_gist(name, rr, rom)

    names = company_names(raws, "_company_raw", CR)
    keys = apply_unique(names, ["company_name"], per_name,
                        {"company_key": pl.Utf8, "company_romaji": pl.Utf8, "_latin": pl.Boolean, "_gist": pl.Utf8},
                        only=pl.col("company_name").is_not_null())
    df = with_company_gist(keys, rr, only=pl.col("_latin").fill_null(False))
    return df.with_columns(pl.coalesce("company_gist", "_gist").alias("company_gist")).drop("_latin", "_gist")


@pytest.mark.parametrize("workers", [False, True])
def test_company_table_as_one_map_of_every_display_name(monkeypatch: pytest.MonkeyPatch, workers: bool) -> None:
    """The display names split by expression are read first (in workers), the others after: the
    table is the one a single map over every display name gave, row for row."""
    from abm.normalize import unique
    from abm.normalize.companies import _company_table_later
    from abm.normalize.reading import reading_rules
    from tests.test_normalize_kana_reading import fixture_names

    if workers:
        monkeypatch.setattr(unique, "PARALLEL_MIN", 1)
        monkeypatch.setattr(unique, "CHUNK", 50)
        monkeypatch.setenv("ABM_WORKERS", "2")
    extra = ["株式会社山田電機", "山田電機(株)", "Yamada Denki Co., Ltd.", "ﾔﾏﾀﾞ電機", "Alpha Steel Inc.", "", None]
    raws = pl.DataFrame({"_company_raw": [*fixture_names(), *extra]}, schema={"_company_raw": pl.Utf8}).unique()
    got = _company_table_later(raws, CR, load_rules(validate=False).view(reading_rules))()
    assert got.equals(_company_table_reference(raws))
