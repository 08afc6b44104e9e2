"""abm.normalize.company: legal forms, keys, romaji, suffix extension guard."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize.company import (
    company_kana,
    company_key,
    company_romaji,
    company_rules,
    is_suffix_extension,
    split_legal_form,
    suffix_extension,
)
from abm.rules import load_rules

RULES = load_rules(validate=False)
CR = RULES.view(company_rules)

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=50)
COMPANY_TEXT = st.lists(st.sampled_from([
    "株式会社", "(株)", "㈱", "（有）", "山田", "電機", "システムズ", "Co., Ltd.", "Inc.", " ", "　", "カ)", "(カ", "髙橋",
    "KK", "大阪支店", "ヤマダ", "Yamada", "Electric", "・", "&", "一般社団法人", "カブシキガイシャ", "\x00", "ｶﾌﾞｼｷｶﾞｲｼｬ",
]), max_size=6).map("".join)


@pytest.mark.parametrize(("raw", "name", "form"), [
    ("株式会社山田電機", "山田電機", "株式会社"),
    ("山田電機株式会社", "山田電機", "株式会社"),
    ("㈱山田電機", "山田電機", "株式会社"),
    ("山田電機（株）", "山田電機", "株式会社"),
    ("(株)山田電機", "山田電機", "株式会社"),
    ("カブシキガイシャ ヤマダデンキ", "ヤマダデンキ", "株式会社"),
    ("ｶ)ﾔﾏﾀﾞﾃﾞﾝｷ", "ヤマダデンキ", "株式会社"),
    ("ヤマダデンキ(カ", "ヤマダデンキ", "株式会社"),
    ("有限会社さくら", "さくら", "有限会社"),
    ("(有)さくら", "さくら", "有限会社"),
    ("さくら㈲", "さくら", "有限会社"),
    ("合同会社ABC", "ABC", "合同会社"),
    ("合資会社山田商店", "山田商店", "合資会社"),
    ("合名会社山田", "山田", "合名会社"),
    ("一般社団法人日本ABC協会", "日本ABC協会", "一般社団法人"),
    ("(一社)日本ABC協会", "日本ABC協会", "一般社団法人"),
    ("公益財団法人 山田記念財団", "山田記念財団", "公益財団法人"),
    ("独立行政法人情報処理推進機構", "情報処理推進機構", "独立行政法人"),
    ("学校法人山田学園", "山田学園", "学校法人"),
    ("医療法人社団 山田会", "山田会", "医療法人"),
    ("Yamada Denki Co., Ltd.", "Yamada Denki", "株式会社"),
    ("Yamada Denki Co.,Ltd", "Yamada Denki", "株式会社"),
    ("YAMADA DENKI CO., LTD.", "YAMADA DENKI", "株式会社"),
    ("Yamada K.K.", "Yamada", "株式会社"),
    ("Yamada KK", "Yamada", "株式会社"),
    ("ABC Inc.", "ABC", "株式会社"),
    ("ABC Corp.", "ABC", "株式会社"),
    ("ABC Corporation", "ABC", "株式会社"),
    ("ABC Ltd.", "ABC", "株式会社"),
    ("ABC LLC", "ABC", "合同会社"),
    ("ABC G.K.", "ABC", "合同会社"),
    ("山田電機株式会社 大阪支店", "山田電機", "株式会社"),
    ("山田電機株式会社大阪支店", "山田電機", "株式会社"),
    ("株式会社 山田電機 本社", "山田電機", "株式会社"),
    ("山田 電機 Co., Ltd. Inc.", "山田電機", "株式会社"),
    ("株式式会社山田電機", "山田電機", "株式会社"),   # OCR doubled a character inside the form
    ("ー般社団法人日本ABC協会", "日本ABC協会", "一般社団法人"),
    ("株式会社社会情報サービス", "社会情報サービス", "株式会社"),  # a name may begin with the form's last character
    ("株式会社社長商事", "社長商事", "株式会社"),
    ("一般財団法人人材育成協会", "人材育成協会", "一般財団法人"),
    ("Zinc", "Zinc", None),              # 'inc' inside a word is not a legal form
    ("トヨタ自動車", "トヨタ自動車", None),
    ("株式会社", None, "株式会社"),
    ("", None, None),
    (None, None, None),
])
def test_split_legal_form(raw, name, form):
    assert split_legal_form(raw, CR) == (name, form)


@pytest.mark.parametrize(("raw", "key"), [
    ("株式会社 髙橋・システム", "高橋システム"),
    ("山田電機(株)", "山田電機"),
    ("さくら商事", "サクラ商事"),
    ("Yamada-Denki Co., Ltd.", "yamadadenki"),
    ("ＡＢＣ　ｼｽﾃﾑ", "abcシステム"),
    ("", None),
])
def test_company_key(raw, key):
    assert company_key(raw, CR) == key


@pytest.mark.parametrize("names", [
    ("Yamada Electric", "Yamada Denki", "山田電機", "株式会社山田電機", "YAMADA DENKI CO., LTD."),
    ("Sakura Trading", "さくら商事", "サクラ商事㈱"),
    ("Yamada Systems", "ヤマダシステムズ"),
    ("Takahashi Manufacturing", "髙橋製作所"),
])
def test_company_romaji_agrees(names):
    keys = {company_romaji(n, CR) for n in names}
    assert len(keys) == 1 and None not in keys


def test_company_romaji_values():
    assert company_romaji("山田電機", CR) == "yamadadenki"
    assert company_romaji("さくら商事", CR) == "sakurashoji"
    assert company_romaji("株式会社", CR) is None


def test_company_kana():
    assert company_kana("カ)ヤマダ デンキ", CR) == "ヤマダデンキ"
    assert company_kana("ﾔﾏﾀﾞﾃﾞﾝｷ(ｶ", CR) == "ヤマダデンキ"
    assert company_kana("やまだでんき かぶしきがいしゃ", CR) == "ヤマダデンキ"
    assert company_kana(None, CR) is None


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("山田電機", "山田電機システムズ", True),
    ("株式会社山田電機", "山田電機サービス株式会社", True),
    ("山田電機", "山田電機情報システムサービス", True),   # a chain of suffixes
    ("Yamada Electric", "Yamada Electric Systems", True),
    ("Yamada Denki", "山田電機ホールディングス", True),   # across scripts, via romaji
    ("ABC", "ABC Holdings", True),
    ("山田電機", "山田電機", False),
    ("山田電機", "(株)山田電機", False),
    ("トヨタ", "トヨタ自動車", False),                  # 自動車 is not a distinguishing suffix
    ("山田電機", "山田電気工事", False),
    ("山田電機", None, False),
])
def test_is_suffix_extension(a, b, expected):
    assert is_suffix_extension(a, b, CR) is expected
    assert is_suffix_extension(b, a, RULES) is expected


def test_suffix_extension_vectorised():
    a = pl.Series(["山田電機", None, "A社", "山田電機"])
    b = pl.Series(["山田電機システムズ", "x", None, "山田電機システムズ"])
    assert suffix_extension(a, b, CR).to_list() == [True, False, False, True]


@settings(max_examples=120, deadline=None)
@given(st.one_of(ANY_TEXT, COMPANY_TEXT))
def test_properties(s):
    name, form = split_legal_form(s, CR)
    assert split_legal_form(name, CR)[0] == name          # the display name is a fixed point
    key = company_key(s, CR)
    assert key is None or (" " not in key and key == key.casefold())
    rom = company_romaji(s, CR)
    assert rom is None or (rom.isascii() and rom.isalnum() and rom == rom.lower())
    company_kana(s, CR)
    is_suffix_extension(s, (s or "") + "システムズ", CR)


# --- the searches skipped when their match is impossible -----------------------------------------

_ALWAYS = replace(CR, anywhere_chars=None, kana_end_words=None, branch_words=None)
_SPLIT_PIECES = [
    "株式会社", "株式式会社", "ー般社団法人", "-般社団法人", "一般財団法人", "(株)", "（株）", "㈱", "【株】", "「有」", "(カ", "カ)",
    "カブシキガイシャ", "ｶﾌﾞｼｷｶﾞｲｼｬ", "ユウゲンガイシャ", "山田", "電機", "大阪支店", "本社", "支店\n", "センター", " ", "\u3000",
    "\n", "\t", ".", ",", "..", "Co., Ltd.", "Co.,Ltd", "CO LTD", "Inc.", "inc", "K.K.", "kabushiki kaisha", "LLC",
    "\u212a.\u212a.", "\u0130nc", "ltd\u017f", "Yamada", "Denki", "&", "・", "-", "ー", "(", ")", "ア", "ｱ",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_SPLIT_PIECES), min_size=1, max_size=7).map("".join))
def test_split_skipping_impossible_searches_changes_nothing(raw: str) -> None:
    """``split_legal_form`` and ``company_kana`` give the same answers whether the searches that
    cannot match are skipped or run."""
    assert split_legal_form(raw, CR) == split_legal_form(raw, _ALWAYS)
    assert company_kana(raw, CR) == company_kana(raw, _ALWAYS)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_split_skipping_on_any_text(raw: str) -> None:
    assert split_legal_form(raw, CR) == split_legal_form(raw, _ALWAYS)


def _fold_lookalikes_reference(s: str, table: dict[str, str]) -> str:
    """``fold_katakana_lookalikes`` before its one-search check: the two passes over every character."""
    if not table or table.keys().isdisjoint(s):
        return s
    chars = list(s)
    for _ in range(2):
        for i, ch in enumerate(chars):
            if ch in table:
                left = chars[i - 1] if i > 0 else ""
                right = chars[i + 1] if i + 1 < len(chars) else ""
                if (left and ("\u30a1" <= left <= "\u30fa" or left == "ー")) or (
                        right and ("\u30a1" <= right <= "\u30fa" or right == "ー")):
                    chars[i] = table[ch]
    return "".join(chars)


def test_katakana_lookalikes_as_by_the_two_passes() -> None:
    """Skipping a name where no look-alike has a katakana neighbour changes no key."""
    from abm.normalize.company import fold_katakana_lookalikes

    table = dict(load_rules(validate=False).view(company_rules).ocr_lookalikes)
    odd = {"]": "ア", "^": "イ", "-": "ウ", "\\": "エ"}   # characters a regular expression class must escape
    pieces = st.sampled_from([*table, *odd, "ア", "ン", "ジ", "ー", "ヴ", "ヺ", "ァ", "\u30fb", "\u30a0", "山", "業", "a", " "])

    @settings(max_examples=800, deadline=None)
    @given(st.lists(pieces, max_size=8).map("".join), st.sampled_from([table, odd, {}]))
    def check(s: str, t: dict[str, str]) -> None:
        assert fold_katakana_lookalikes(s, t) == _fold_lookalikes_reference(s, t)

    check()
