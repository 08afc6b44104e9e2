"""abm.normalize.person: splitting, display, keys, readings, romaji keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize.person import (
    EMPTY,
    _is_latin,
    _strip_honorifics,
    normalize_person,
    person_rules,
    romaji_key,
    split_full_name,
)
from abm.rules import load_rules

RULES = load_rules(validate=False)
PR = RULES.view(person_rules)
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
NAME_TEXT = st.lists(st.sampled_from(["山田", "髙橋", "太郎", "ヤマダ", "ﾀﾛｳ", "Taro", "YAMADA", " ", "　", ",", "様", "Mr.",
                                      "\x00", "ー", "一"]), max_size=5).map("".join)


@pytest.mark.parametrize(("full", "family", "given"), [
    ("山田 太郎", "山田", "太郎"),
    ("山田　太郎", "山田", "太郎"),
    ("山田太郎", "山田", "太郎"),          # known family name / word segmentation
    ("西田敏行", "西田", "敏行"),
    ("林太郎", "林", "太郎"),
    ("ヤマダ タロウ", "ヤマダ", "タロウ"),
    ("ヤマダタロウ", "ヤマダ", "タロウ"),
    ("Yamada Taro", "Yamada", "Taro"),     # a known family name first
    ("Taro Yamada", "Yamada", "Taro"),
    ("TARO YAMADA", "YAMADA", "TARO"),
    ("Taro YAMADA", "YAMADA", "Taro"),     # the all-caps token is the family name
    ("yamada, taro", "yamada", "taro"),
    ("山田太郎様", "山田", "太郎"),
    ("Mr. Taro Yamada", "Yamada", "Taro"),
    ("", None, None),
    (None, None, None),
])
def test_split_full_name(full, family, given):
    assert split_full_name(full, PR) == (family, given)


def test_forms_of_one_person_agree():
    forms = [
        normalize_person("山田", "太郎", rules=PR),
        normalize_person(full_name="山田太郎", rules=PR),
        normalize_person(full_name="ヤマダ タロウ", rules=PR),
        normalize_person(full_name="Taro Yamada", rules=PR),
        normalize_person(full_name="YAMADA TARO", rules=PR),
        normalize_person("山田", "太郎", "ヤマダ", "タロウ", rules=PR),
        normalize_person("Yamada", "Taro", rules=PR),
    ]
    assert {p.name_romaji for p in forms} == {"taro yamada"}


@pytest.mark.parametrize(("a", "b"), [
    ({"family": "大野", "given": "優子"}, {"full_name": "Yuko Ohno"}),
    ({"family": "大野", "given": "優子"}, {"full_name": "Yuuko Oono"}),
    ({"family": "佐藤", "given": "優子", "family_kana": "サトウ", "given_kana": "ユウコ"}, {"full_name": "Yuko Sato"}),
    ({"family": "本間", "given": "純一", "family_kana": "ホンマ", "given_kana": "ジュンイチ"}, {"full_name": "Jun'ichi Homma"}),
    ({"family": "髙橋", "given": "一郎"}, {"family": "高橋", "given": "一郎"}),
])
def test_long_vowel_and_variant_spellings_agree(a, b):
    pa, pb = normalize_person(**a, rules=PR), normalize_person(**b, rules=PR)
    assert pa.name_romaji == pb.name_romaji and pa.name_romaji


def test_fields():
    p = normalize_person("髙橋", "一郎", "たかはし", "いちろう", rules=PR)
    assert p == ("高橋", "一郎", "高橋 一郎", "高橋一郎", "タカハシイチロウ", "ichiro takahashi")
    p = normalize_person(full_name="ﾔﾏﾀﾞ ﾀﾛｳ", rules=PR)
    assert (p.family_name, p.given_name, p.name_kana, p.person_name_key) == ("ヤマダ", "タロウ", "ヤマダタロウ", "ヤマダタロウ")
    p = normalize_person(full_name="Taro YAMADA", rules=RULES)
    assert (p.person_name, p.person_name_key) == ("Taro Yamada", "taroyamada")
    assert normalize_person(full_name="YAMADA TARO", rules=PR).person_name_key == "taroyamada"  # order-free latin key
    p = normalize_person("山田 太郎", rules=PR)                  # a full name in the family column
    assert (p.family_name, p.given_name) == ("山田", "太郎")
    p = normalize_person("山田", "太郎", family_kana="ヤマダ タロウ", rules=PR)   # full reading in one column
    assert p.name_kana == "ヤマダタロウ"
    assert normalize_person(rules=PR) == EMPTY
    assert normalize_person("山田", rules=None) == EMPTY


def test_romaji_key():
    assert romaji_key("山田太郎", PR) == romaji_key("Taro Yamada", PR) == "taro yamada"
    assert romaji_key(None, PR) is None


@settings(max_examples=120, deadline=None)
@given(st.one_of(ANY_TEXT, NAME_TEXT), st.one_of(st.none(), ANY_TEXT, NAME_TEXT), st.one_of(st.none(), ANY_TEXT))
def test_properties(a, b, kana):
    p = normalize_person(a, b, kana, None, None, PR)
    q = normalize_person(full_name=a, rules=PR)
    for r in (p, q):
        assert len(r) == 6
        if r.name_romaji:
            tokens = r.name_romaji.split(" ")
            assert tokens == sorted(tokens) and all(t.isascii() and t.isalnum() for t in tokens)
        if r.person_name_key:
            assert " " not in r.person_name_key
    split_full_name(a, PR)


# --- readings of kanji names (JMnedict) and unspaced full names (namedivider) -------------------

import polars as _pl  # noqa: E402
import pytest as _pytest  # noqa: E402

from abm.normalize.name_readings import with_name_readings  # noqa: E402
from abm.normalize.text import text_rules as _text_rules  # noqa: E402
from abm.rules import load_rules as _load_rules  # noqa: E402

_FOLDS = _load_rules().view(_text_rules).romaji_folds


@_pytest.mark.parametrize(("family", "given", "latin"), [
    ("酒井", "健", "ken sakai"), ("酒井", "健", "sakai takeshi"), ("後藤", "淳", "goto jun"),
    ("後藤", "淳", "atsushi goto"), ("松本", "大樹", "hiroki matsumoto"), ("松本", "大樹", "daiki matsumoto"),
    ("谷口", "学", "manabu taniguchi"), ("上野", "蓮", "ren ueno"), ("東", "愛", "ai azuma"),
])
def test_a_kanji_name_carries_every_common_reading(family, given, latin):
    units = _pl.DataFrame({"family_name": [family], "given_name": [given], "name_kana": [None],
                           "name_romaji": [None]}, schema={c: _pl.Utf8 for c in
                                                           ("family_name", "given_name", "name_kana", "name_romaji")})
    units = units.with_columns(_pl.lit("x").alias("name_romaji"))
    readings = with_name_readings(units, _FOLDS)["name_readings"][0]
    assert f"|{latin}|" in readings


def test_a_name_with_a_known_reading_has_only_that_one():
    units = _pl.DataFrame({"family_name": ["酒井"], "given_name": ["健"], "name_kana": ["サカイケン"],
                           "name_romaji": ["ken sakai"]})
    out = with_name_readings(units, _FOLDS)
    assert out["name_readings"][0] == "|ken sakai|" and out["family_reading"][0] == "sakai"


@_pytest.mark.parametrize(("full", "family", "given"), [
    ("東和也", "東", "和也"), ("原田一郎", "原田", "一郎"), ("長谷川健一", "長谷川", "健一"), ("中島淳", "中島", "淳"),
])
def test_unspaced_full_names_are_divided(full, family, given):
    from abm.normalize.person import split_full_name
    from abm.rules import load_rules
    assert split_full_name(full, load_rules()) == (family, given)


def test_dictionary_readings_only_where_another_script_is_in_the_account():
    units = _pl.DataFrame({
        "account_id": ["A", "A", "B", "B"], "family_name": ["酒井", "Sakai", "酒井", "後藤"],
        "given_name": ["健", "Takeshi", "健", "淳"], "name_kana": [None] * 4,
        "name_romaji": ["ken sakai", "sakai takeshi", "ken sakai", "goto jun"]})
    out = with_name_readings(units, _FOLDS)
    assert "|sakai takeshi|" in out["name_readings"][0] and out["family_reading"][0] == "sakai"
    # account B holds kanji names only: each keeps its one reading, and no family reading
    assert out["name_readings"].to_list()[2:] == ["|ken sakai|", "|goto jun|"]
    assert out["family_reading"].to_list()[2:] == [None, None]


def test_name_readings_from_the_value_cache_equal_computed_ones_without_reading_the_dictionary(tmp_path, monkeypatch):
    from abm.normalize import name_readings
    from abm.normalize.unique import value_cache
    units = _pl.DataFrame({
        "account_id": ["A", "A", "A", "B"], "family_name": ["酒井", "Sakai", "さかい", None],
        "given_name": ["健", "Takeshi", "けん", "淳"], "name_kana": [None, None, "サカイケン", None],
        "name_romaji": ["ken sakai", "sakai takeshi", "ken sakai", None]})
    want = with_name_readings(units, _FOLDS)
    with value_cache(tmp_path, "k"):
        assert with_name_readings(units, _FOLDS).equals(want)
        monkeypatch.setattr(name_readings, "_lookup", lambda *a: _pytest.fail("dictionary read"))
        assert with_name_readings(units, _FOLDS).equals(want)   # every name known: no dictionary
    with value_cache(tmp_path, "k", read=False), _pytest.raises(_pytest.fail.Exception):
        with_name_readings(units, _FOLDS)   # --full reads no cache


def test_the_name_readings_table_is_compact_and_holds_common_readings():
    from abm.normalize.name_readings import TABLE, _table
    assert TABLE.stat().st_size < 3_000_000
    given = _table()["g"]
    assert {"ケン", "タケシ"} <= set(given["健"]) and {"ジュン", "アツシ"} <= set(given["淳"])


def test_the_table_builder_reads_jmnedict_xml(tmp_path):
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "build_name_readings", Path(__file__).resolve().parent.parent / "tools" / "build_name_readings.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE JMnedict [\n<!ELEMENT JMnedict (entry*)>\n'
           '<!ENTITY surname "family or surname">\n<!ENTITY masc "male given name or forename">\n'
           '<!ENTITY fem "female given name or forename">\n<!ENTITY place "place name">\n]>\n<JMnedict>\n'
           '<entry><k_ele><keb>健</keb></k_ele><r_ele><reb>けん</reb></r_ele><r_ele><reb>たけし</reb></r_ele>'
           '<trans><name_type>&masc;</name_type></trans></entry>\n'
           '<entry><k_ele><keb>酒井</keb></k_ele><r_ele><reb>さかい</reb></r_ele>'
           '<trans><name_type>&surname;</name_type><name_type>&place;</name_type></trans></entry>\n'
           '</JMnedict>\n')
    path = tmp_path / "JMnedict.xml.gz"
    path.write_bytes(gzip.compress(xml.encode("utf-8")))
    assert tool.table(tool._from_xml(path)) == "f\t酒井\tサカイ\ng\t健\tケン タケシ\n"


@_pytest.mark.parametrize(("family", "cached", "read"), [
    (["酒井", "Sakai"], False, True),     # a kanji name, no value cache: the table is read ahead
    (["Sakai", "サカイ"], False, False),  # no kanji: the dictionary is never needed
    (["酒井", "Sakai"], True, False),     # the value cache holds the names' readings: not read ahead
])
def test_the_readings_table_is_read_ahead_only_when_it_will_be_needed(tmp_path, family, cached, read):
    from abm.normalize import name_readings, unique

    records = _pl.DataFrame({"family_name": family, "given_name": [None] * len(family)})
    key = "k"
    if cached:
        (tmp_path / f"{name_readings.CACHE}-{key}.parquet").write_bytes(b"")
    with unique.value_cache(tmp_path if cached else None, key):
        assert name_readings.warm_table(records) is read


def _strip_honorifics_reference(s, pr):
    """``_strip_honorifics`` before the one-call ``endswith`` check (both passes always run)."""
    if not s:
        return None
    for _ in range(2):
        for h in pr.honorifics:
            if s.endswith(h) and len(s) > len(h):
                s = s[: -len(h)].rstrip()
    if _is_latin(s):
        words = s.split(" ")
        while len(words) > 1 and words[0].lower().strip(".") in pr.latin_titles:
            words = words[1:]
        s = " ".join(words)
    return s or None


HONORIFIC_TEXT = st.lists(st.sampled_from(["山田", "太郎", "Taro", " ", "　", "Mr.", "ー", *PR.honorifics]),
                          max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(HONORIFIC_TEXT, st.sampled_from([PR.honorifics, ("様", "さん", ""), ("殿", "殿様"), ()]))
def test_strip_honorifics_same_as_both_passes(s, honorifics):
    """Skipping a pass when the text ends with no honorific changes nothing (also with an empty one)."""
    from dataclasses import replace

    pr = replace(PR, honorifics=honorifics)
    assert _strip_honorifics(s, pr) == _strip_honorifics_reference(s, pr)
