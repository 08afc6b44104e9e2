"""The per-name company work (``companies._company_table_later.per_name``) gives what it gave before its
speed-ups, name by name: the replaced functions are kept here as they were (the reference) and the
whole chain runs with them and without them on every fixture name and on drawn mixed-script text."""

from __future__ import annotations

import contextlib
import functools
import unicodedata
from collections.abc import Iterator, Mapping

import jaconv
import jntajis
import pytest
from hypothesis import given, settings

from abm.normalize import company as C
from abm.normalize import kana_reading as KR
from abm.normalize import reading as R
from abm.normalize import text as T
from abm.rules import load_rules
from tests.test_normalize_kana_reading import MIXED, fixture_names

RULES = load_rules(validate=False)
CR = RULES.view(C.company_rules)
RR = RULES.view(R.reading_rules)


# --- the reference: main 5644aa7's versions of what changed ----------------------------------------

def old_fold_variants(s: str | None, extra: Mapping[str, str] | None = None) -> str | None:
    if s is None:
        return None
    if s.isascii():
        return s
    try:
        s = unicodedata.normalize("NFC", s)
        s = unicodedata.normalize("NFC", jntajis.mj_shrink_candidates(s, T._MJ_COMBO)[0])
        out = []
        for ch in s:
            c = T._canon_char(ch)
            if extra and c in extra:
                c = "".join(T._canon_char(x) for x in extra[c])
            out.append(c)
        return "".join(out)
    except Exception:
        return s


def old_kana_to_romaji(kana: str | None) -> str:
    if not kana:
        return ""
    try:
        h = jaconv.kata2hira(kana)
        h = T._DIGRAPH_RE.sub(lambda m: T._KANA_DIGRAPHS[m.group(0)], h)
        r = jaconv.kana2alphabet(h)
        r = T._SOKUON.sub(lambda m: "t" if m.group(1) == "c" else m.group(1), r).replace("xtsu", "")
        r = T._LONG_MARK.sub(r"\1\1", r)
        return r.replace("ー", "").replace("-", "").lower()
    except Exception:
        return ""


def old_text_romaji(s: str | None) -> str:
    if not s:
        return ""
    try:
        text = T.clean(s, keep_spaces=True) or ""
        if not text.isascii():
            text = T.kana_to_romaji(T.reading(text))
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        return T._SPACES.sub(" ", T._NON_ALNUM_SPACE.sub("", text.lower().replace("'", ""))).strip()
    except Exception:
        return ""


def old_is_latin(s: str) -> bool:
    return all(ord(ch) < 0x250 for ch in s)


def old_lookalikes(s: str, table: Mapping[str, str]) -> str:
    if not table or not any(ch in table for ch in s):
        return s
    return _lookalikes(s, table)


_lookalikes = C.fold_katakana_lookalikes


def _clear() -> None:
    T.reading.cache_clear()
    T._romaji_cached.cache_clear()
    R._latin_word.cache_clear()


@contextlib.contextmanager
def reference() -> Iterator[None]:
    """Inside: the reference functions in place of the new ones (caches emptied on entry and exit)."""
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(T, "_READER", functools.partial(KR.stock_read, T._kakasi()))
        for module in (T, C):
            mp.setattr(module, "fold_variants", old_fold_variants)
        mp.setattr(T, "kana_to_romaji", old_kana_to_romaji)
        mp.setattr(T, "_romaji", old_text_romaji)
        mp.setattr(R, "_is_latin", old_is_latin)
        mp.setattr(C, "fold_katakana_lookalikes", old_lookalikes)
        _clear()
        yield
    finally:
        mp.undo()
        _clear()


def per_name(name: str) -> tuple[object, ...]:
    """What the worker processes compute per display name (``abm.normalize.companies``)."""
    key, rom = C.display_keys(name, CR)
    latin = R.needs_loans(name)
    return key, rom, latin, None if latin else R.company_gist(name, RR, rom)


def test_per_name_on_every_fixture_name() -> None:
    names = list(fixture_names())
    with reference():
        before = [per_name(n) for n in names]
    after = [per_name(n) for n in names]
    assert [n for n, b, a in zip(names, before, after, strict=True) if a != b] == []


@settings(max_examples=150, deadline=None)
@given(MIXED)
def test_per_name_on_drawn_text(text: str) -> None:
    with reference():
        before = per_name(text)
    assert per_name(text) == before


@pytest.mark.parametrize("s", ["", "山田", "髙橋﨑", "社\ufa4c", "檜山", "葛\U000e0100城", "ABC", "ｱｲｳ", "斉藤"])
def test_fold_variants_as_before(s: str) -> None:
    assert T.fold_variants(s, CR.text.variants) == old_fold_variants(s, CR.text.variants)
    assert T.fold_variants(s) == old_fold_variants(s)


@settings(max_examples=300, deadline=None)
@given(MIXED)
def test_pieces_as_before(text: str) -> None:
    assert T.fold_variants(text, CR.text.variants) == old_fold_variants(text, CR.text.variants)
    assert T.fold_variants(text) == old_fold_variants(text)
    hira = T.to_hiragana(text) or ""
    assert T.kana_to_romaji(hira) == old_kana_to_romaji(hira)
    assert T._romaji(text) == old_text_romaji(text)
    assert R._is_latin(text) == old_is_latin(text)
    assert C.fold_katakana_lookalikes(text, CR.ocr_lookalikes) == old_lookalikes(text, CR.ocr_lookalikes)
