"""abm.normalize.text: cleaning, variant kanji, kana, romaji."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize import text as T
from abm.rules import load_rules

RULES = load_rules(validate=False)
TR = RULES.view(T.text_rules)

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
JA_TEXT = st.text(st.sampled_from(list("山田髙﨑齋邊一ーｰ-‐—カタロウｶﾀﾛｳやまだ株式会社（）() 　\t\n\x00\u200bAbｃ１")), max_size=30)


@pytest.mark.parametrize(("raw", "expected"), [
    ("  株式会社　山田\x00電機 \n", "株式会社山田電機"),
    ("ﾊﾝｶｸｶﾅ", "ハンカクカナ"),
    ("Ａｂｃ　　ｄｅｆ", "Abc def"),
    ("カ一ド", "カード"),          # 一 between katakana is a long vowel
    ("セ-ル", "セール"),
    ("統一", "統一"),              # … but 'one' inside a kanji word
    ("一郎", "一郎"),
    ("スーーパー", "スーパー"),
    ("", None),
    (" \t\n", None),
    (None, None),
])
def test_clean(raw, expected):
    assert T.clean(raw) == expected


def test_clean_keep_spaces():
    assert T.clean("山田　 太郎", keep_spaces=True) == "山田 太郎"
    assert T.clean("山田　太郎") == "山田太郎"


@pytest.mark.parametrize(("raw", "expected"), [
    ("髙橋", "高橋"), ("山﨑", "山崎"), ("齋藤", "斎藤"), ("渡邊", "渡辺"), ("渡邉", "渡辺"), ("澤田", "沢田"),
    ("斉藤", "斉藤"), ("吉田", "吉田"), ("ABC", "ABC"), ("", ""),
])
def test_fold_variants(raw, expected):
    assert T.fold_variants(raw, TR.variants) == expected


def test_fold_variants_supplement():
    assert T.fold_variants("檜山", TR.variants) == "桧山"
    assert T.fold_variants(None) is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("山田太郎", "yamadatarou"), ("ヤマダ　タロウ", "yamada tarou"), ("やまだ", "yamada"), ("Yamada Electric", "yamada electric"),
    ("はっとり", "hattori"), ("スーパー", "suupaa"), ("Jun'ichi", "junichi"), ("Ōno", "ono"), ("髙橋", "takahashi"),
    ("", ""), (None, ""),
])
def test_romaji(raw, expected):
    assert T.romaji(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("ohno", "ono"), ("oono", "ono"), ("ono", "ono"), ("satou", "sato"), ("yuuko", "yuko"), ("homma", "honma"),
    ("ohashi", "ohashi"), ("maccha", "matcha"),
])
def test_fold_romaji(raw, expected):
    assert T.fold_romaji(raw, TR.romaji_folds) == expected


def test_kana_helpers():
    assert T.is_kana("ヤマダ タロウ") and T.is_kana("やまだ") and not T.is_kana("山田") and not T.is_kana(" ")
    assert T.to_katakana("やまだ ﾀﾛｳ") == "ヤマダ タロウ"
    assert T.to_hiragana("ヤマダ") == "やまだ"
    assert T.kana_to_romaji("ちぇっく") == "chekku"


_KAKASI_CASES = ("山田電機株式会社", "情報処理推進機構", "東京都千代田区丸の内一丁目", "佐々木健一", "取締役副社長執行役員",
                 "ヤマダ・デンキ（株）", "ｶﾌﾞｼｷｶﾞｲｼｬ", "ABC商事 Co., Ltd.", "㈱①ー〜", "髙﨑\ufe00\U000e0100", "っ", "ゔぁ")


def _outcome(fn, s):
    """What ``fn(s)`` gives, or the type of what it raises (pykakasi raises on a lone variation
    selector; ``reading`` then keeps the text)."""
    try:
        return fn(s)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


@functools.lru_cache(maxsize=1)
def _stock_kakasi():
    import pykakasi

    return pykakasi.Kakasi()


def test_pykakasi_speedup_matches_stock():
    import pykakasi

    sped = pykakasi.Kakasi()
    T._speed_up(sped)  # the dictionary lookup alone: every field as stock
    for s in _KAKASI_CASES:
        assert _outcome(sped.convert, s) == _outcome(_stock_kakasi().convert, s)


@pytest.mark.parametrize("s", _KAKASI_CASES)
def test_pykakasi_hira_only_keeps_what_abm_reads(s):
    assert _outcome(lambda x: T._segments(T._kakasi(), x), s) == _outcome(lambda x: T._segments(_stock_kakasi(), x), s)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("山田電機株式会社佐々木髙﨑一丁目ー〜ｰ-アイウカキクヴがぱゃっゐゑabcAZ09 ・、。（）々〆ヶ①㈱"
                                         "\u3099\ufe00\U000e0100\uf8ff\U0001f600") | st.characters(), max_size=24))
def test_pykakasi_hira_only_on_arbitrary_text(s):
    """pykakasi as abm runs it (lookup sped up, only orig/hira built) == stock pykakasi on any text."""
    assert _outcome(lambda x: T._segments(T._kakasi(), x), s) == _outcome(lambda x: T._segments(_stock_kakasi(), x), s)


def test_huge_string():
    s = "株式会社山田ｶﾀｶﾅ\x00" * 20000
    assert T.clean(s).startswith("株式会社山田カタカナ")
    assert T.romaji(s[:2000])


@settings(max_examples=150, deadline=None)
@given(st.one_of(ANY_TEXT, JA_TEXT))
def test_properties(s):
    for keep in (False, True):
        once = T.clean(s, keep_spaces=keep)
        assert once is None or (once == once.strip() and T.clean(once, keep_spaces=keep) == once)
    folded = T.fold_variants(s, TR.variants)
    assert T.fold_variants(folded, TR.variants) == folded
    r = T.romaji(s)
    assert set(r) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ")
    key = T.fold_romaji(r, TR.romaji_folds)
    assert T.fold_romaji(key, TR.romaji_folds) == key


@pytest.mark.parametrize(("raw", "folded"), [
    ("第ー営業部", "第一営業部"), ("マ一ケティング部", "マーケティング部"), ("ﾏｰｹﾃｨﾝｸﾞ", "マーケティング"),
    ("セ-ルス", "セールス"), ("ＤＸ推進　室", "DX推進室"), ("  営業部\t", "営業部"), ("ー", "一"), (None, ""), ("", ""),
])
def test_fold_label(raw: str | None, folded: str) -> None:
    assert T.fold_label(raw) == folded


#: what the settled fast path of ``clean`` sees: kana, ー, 一 and kanji (incl. the neighbours of the
#: ranges it accepts), ASCII words, and the characters that must send a value to the full cleaning
SETTLED_PIECES = st.sampled_from(
    [chr(c) for c in range(0x3040, 0x30a0)] + [chr(c) for c in range(0x30a0, 0x3100)] + ["ー"] * 20 + ["一"] * 20
    + list("山田髙﨑龘\u4e00\u9fff\u9fa5\u3400\uf929") + list("AbZz09 ") * 4 + list("ｰｶﾞ～〜-・\u3000\t\u200b")
    + [chr(c) for c in range(0x20, 0x7f)] + [" "] * 10)


def test_settled_ascii_exhaustively() -> None:
    """Every printable-ASCII value of up to three characters (one space at most, inside) that the
    fast path accepts is cleaned as by the full path; ``~`` and ``*`` are refused by it."""
    import itertools

    chars = [chr(c) for c in range(0x21, 0x7f)]
    values = [*chars, *(a + b for a, b in itertools.product(chars, repeat=2)),
              *(a + " " + b for a, b in itertools.product(chars, repeat=2))]
    for v in values:
        settled = T._SETTLED.fullmatch(v) is not None
        assert settled == ("~" not in v and "*" not in v)
        if settled:
            assert T._clean(v) == v == T._clean(v, keep_spaces=True), v


@settings(max_examples=1500, deadline=None)
@given(st.text(SETTLED_PIECES, min_size=1, max_size=12), st.booleans())
def test_settled_text_is_cleaned_as_by_the_full_path(s: str, keep_spaces: bool) -> None:
    """The fast path (returning a settled value as it is) gives the full cleaning's answer."""
    assert T.clean(s, keep_spaces) == T._clean(s, keep_spaces)


@pytest.mark.parametrize("s", ["山田電機", "ヤマダデンキ", "やまだ", "Hokkai Taisei Printing", "ABC123", "スーパー",
                               "Yamada Denki Co., Ltd.", "a-b (c) & d/e"])
def test_settled_values_take_the_fast_path(s: str) -> None:
    assert T._SETTLED.fullmatch(s) and not T._UNSETTLED.search(s) and T.clean(s) == s == T._clean(s)


def _fold_romaji_reference(token: str, folds: tuple[tuple[object, str], ...]) -> str:
    """``fold_romaji`` before its one-search check: every fold applied, pass after pass."""
    import re

    for _ in range(8):
        before = token
        for pattern, repl in folds:
            assert isinstance(pattern, re.Pattern)
            token = pattern.sub(repl, token)
        if token == before:
            break
    return token


def _folds(*pairs: tuple[str, str], flags: int = 0) -> tuple[tuple[object, str], ...]:
    import re

    return tuple((re.compile(p, flags), r) for p, r in pairs)


#: the rules' folds, and lists the one-search check must refuse (flags, groups) or that loop long
OTHER_FOLDS = [
    _folds(("a(?=b)", "ba"), ("b+", "a")),                       # never stable: eight passes
    _folds(("(o)h", r"\1"), ("uu", "u")),                        # a group: no combined search
    _folds(("OU", "o"), ("nn", "n"), flags=2),                   # IGNORECASE, alike: combined
    (*_folds(("OU", "o")), *_folds(("x", "ks"), flags=2)),       # different flags: no combined search
    _folds(("(?i)tt", "t")),                                     # a global inline flag: no combined search
    _folds(("", "-")),                                           # matches everywhere
    (),
]


@settings(max_examples=600, deadline=None)
@given(st.text(st.sampled_from(list("aeiouohnmbpctkxsyOUHNM -")), max_size=16) | ANY_TEXT,
       st.sampled_from([TR.romaji_folds, *OTHER_FOLDS]))
def test_fold_romaji_as_every_pass(token: str, folds: tuple[tuple[object, str], ...]) -> None:
    """``fold_romaji`` (a pass skipped where no fold matches) == every fold applied pass after pass."""
    assert T.fold_romaji(token, folds) == _fold_romaji_reference(token, folds)  # type: ignore[arg-type]


def test_the_rules_folds_are_searched_at_once() -> None:
    assert T._any_fold(TR.romaji_folds) is not None
    assert T._any_fold(OTHER_FOLDS[1]) is None and T._any_fold(OTHER_FOLDS[3]) is None  # type: ignore[arg-type]


#: kana/kanji runs (and their neighbours, and what must send a value to the full cleaning) one space apart
SPACED_WORDS = st.lists(st.text(st.sampled_from(
    [chr(c) for c in range(0x3040, 0x3100)] + ["ー"] * 20 + ["一"] * 20 + list("山田髙﨑龘\u4e00\u9fff\u3400\uf929々ｰｶﾞ～-・")),
    min_size=1, max_size=5), min_size=1, max_size=4).map(" ".join)


@settings(max_examples=1500, deadline=None)
@given(SPACED_WORDS | st.text(SETTLED_PIECES, min_size=1, max_size=12), st.booleans())
def test_spaced_settled_words_are_cleaned_as_by_the_full_path(s: str, keep_spaces: bool) -> None:
    """Kana/kanji runs one space apart, kept as they are with ``keep_spaces``: the full cleaning's answer."""
    assert T.clean(s, keep_spaces) == T._clean(s, keep_spaces)


@pytest.mark.parametrize("s", ["鈴木 和也", "たけだ かずや", "ノグチ アイ", "山田 太郎 様"])
def test_spaced_names_take_the_fast_path(s: str) -> None:
    assert T._SETTLED_WORDS.fullmatch(s) and T.clean(s, keep_spaces=True) == s == T._clean(s, keep_spaces=True)
