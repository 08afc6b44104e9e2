"""abm.normalize.kana_reading: the same answers as the pykakasi / jaconv calls it replaces."""

from __future__ import annotations

import functools
import io
import itertools
from pathlib import Path

import jaconv
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize import kana_reading as KR
from abm.normalize import text as T
from abm.normalize.company import company_rules, split_legal_form
from abm.normalize.kana_reading import KanaReader, kana_alphabet
from abm.rules import load_rules

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CR = load_rules(validate=False).view(company_rules)


@functools.lru_cache(maxsize=1)
def fixture_names() -> tuple[str, ...]:
    """Every distinct value of a name column of the fixtures' CSV files, and its display name."""
    names: set[str] = set()
    for path in sorted(FIXTURES.glob("**/*.csv")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp932")
        df = pl.read_csv(io.StringIO(text), infer_schema=False)
        for col in (c for c in df.columns if "name" in c):
            names.update(df.get_column(col).drop_nulls().to_list())
    displays = {d for n in names if (d := split_legal_form(n, CR)[0])}
    return tuple(sorted(names | displays))


def stock_reading(s: str) -> str:
    """What ``text.reading`` joined before ``KanaReader``: pykakasi's segments, hira or as written."""
    return "".join(item["hira"] or item["orig"] for item in T._kakasi().convert(s))


def test_stock_read_is_that() -> None:
    assert [KR.stock_read(T._kakasi(), x) for x in KR.READ_TEST] == [stock_reading(x) for x in KR.READ_TEST]


def outcome(f, s):  # noqa: ANN001, ANN201 - a result or the exception's type, both must agree
    try:
        return f(s)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


# every branch of pykakasi's loop: kanji (with okurigana, 々, ヶ, variants, variation selectors, an
# unknown one: Hangul), hiragana, katakana, half-width kana (voiced marks: pairs), long marks, end
# marks, symbols in a row, Latin, PUA, and characters of no class
MIXED = st.text(st.sampled_from(list(
    "山田電機株式会社打ち合わせ東海林日本大阪市北区梅田髙﨑齋邊々ヶ一〆长檜さくらやまだっぁゔ"
    "カタロウヴァッーヶヵヷヺｶﾀﾛｳｶﾞﾊﾟｰｯｨ・。、！？（）()[]!,.＆＆Ａｂ１2 　-‐―−〜ー\ue000\uac00\U00020b9f"
    "\ufe00\U000e0100αЖé\u200b\x00\n")), max_size=24)
KANA = st.text(st.sampled_from([chr(c) for c in range(0x3041, 0x30A0)] + list("ヵ〜ーアカっっa- 一")), max_size=16)


@pytest.fixture(scope="module")
def reader() -> KanaReader:
    return KanaReader(T._kakasi())


def test_reader_on_every_fixture_name(reader: KanaReader) -> None:
    names = fixture_names()
    assert len(names) > 1000
    for name in names:
        assert outcome(reader.read, name) == outcome(stock_reading, name), name


@pytest.mark.parametrize("text", [*T._SELF_TEST, *KR.READ_TEST, "", "打ち合わせ", "佐々木", "霞ヶ関", "東京ーー", "ｶﾞｰﾃﾞﾝ", "ﾊﾟ" * 20,
                                  "\uac00A", "山\ufe00田", "Ａ！！", "!!", "a\ue000b", "é山"])
def test_reader_cases(reader: KanaReader, text: str) -> None:
    assert outcome(reader.read, text) == outcome(stock_reading, text)


@settings(max_examples=400, deadline=None)
@given(MIXED)
def test_reader_on_drawn_text(text: str) -> None:
    assert outcome(KanaReader(T._kakasi()).read, text) == outcome(stock_reading, text)


def test_reading_uses_the_reader() -> None:
    T.reading("山田")
    assert getattr(T._READER, "__self__", None).__class__ is KanaReader


def test_checked_reader_falls_back_on_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KanaReader, "read", lambda self, s: "?")
    read = KR.checked_reader(T._kakasi(), ("山田",))
    assert read("山田電機") == stock_reading("山田電機")


def test_kana_alphabet_every_pair() -> None:
    domain = [chr(c) for c in range(0x3041, 0x30A0)] + list("ヵ〜ーアカa- 一")
    for n in (1, 2):
        for chars in itertools.product(domain, repeat=n):
            s = "".join(chars)
            assert kana_alphabet(s) == jaconv.kana2alphabet(s), s


@settings(max_examples=500, deadline=None)
@given(KANA)
def test_kana_alphabet_on_drawn_kana(text: str) -> None:
    assert kana_alphabet(text) == jaconv.kana2alphabet(text)
