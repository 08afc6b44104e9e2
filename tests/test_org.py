"""Titles -> rank and department / internal department normalisation (abm.normalize.org)."""

from __future__ import annotations

import copy
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.errors import RulesError
from abm.normalize.org import (
    default_org,
    normalize_department,
    normalize_departments,
    normalize_internal_department,
    org_rules,
    title_rank,
    title_ranks,
)
from abm.rules import Rules, load_rules

TITLES = [
    # 9 .. 1 per the contract's table, Japanese and English
    ("代表取締役社長", 9), ("社長", 9), ("CEO", 9), ("会長", 9), ("President", 9), ("代表取締役", 9),
    ("Representative Director & CEO", 9), ("Chief Executive Officer", 9),
    ("専務", 8), ("常務取締役", 8), ("取締役", 8), ("Director", 8), ("CTO", 8), ("CFO", 8), ("CIO", 8),
    ("Chief Technology Officer", 8), ("副社長", 8), ("Managing Director", 8),
    ("執行役員", 7), ("VP", 7), ("Vice President", 7), ("Senior Vice President", 7), ("常務執行役員", 7),
    ("本部長", 6), ("事業部長", 6), ("統括部長", 6), ("営業本部長", 6),
    ("部長", 5), ("室長", 5), ("所長", 5), ("センター長", 5), ("General Manager", 5), ("Head of Sales", 5),
    ("営業部長", 5), ("社長室長", 5),
    ("次長", 4), ("部長代理", 4), ("副部長", 4), ("営業部 部長代理", 4), ("担当部長", 4),
    ("課長", 3), ("グループリーダー", 3), ("Manager", 3), ("Sales Manager", 3), ("ﾏﾈｰｼﾞｬｰ", 3),
    ("マネ－ジャー", 3), ("マネ一ジャー", 3),
    ("係長", 2), ("主任", 2), ("主査", 2), ("チームリーダー", 2), ("課長代理", 2), ("Team Leader", 2),
    ("担当", 1), ("Staff", 1), ("一般", 1), ("エンジニア", 1), ("社長秘書", 1), ("社長室", 1), ("営業代表", 1),
    # compound titles take the highest
    ("取締役 兼 営業本部長", 8), ("執行役員 営業本部長", 7), ("営業本部長兼第一営業部長", 6),
    ("部長 / CTO", 8), ("取締役副社長", 8), ("Director, Head of Sales", 8),
    # blank states no rank; unreadable is 0
    ("", 0), ("   ", 0), ("-", 0), ("不明", 0), ("????", 0), ("Ã¥Â–Â¶æ¥­", 0), ("\ufffd\ufffd", 0),
]


@pytest.mark.parametrize(("title", "rank"), TITLES)
def test_title_rank(title: str, rank: int) -> None:
    assert title_rank(title) == rank


def test_title_rank_none_and_explicit_rules() -> None:
    assert title_rank(None) == 0
    assert title_rank("部長", default_org()) == 5


def test_deputy_is_not_the_head_longest_match_wins() -> None:
    # 部長代理 contains 部長 but is the deputy; 副部長 likewise
    assert title_rank("部長代理") < title_rank("部長")
    assert title_rank("第一営業部部長代理") == 4
    assert title_rank("副部長") == 4


def test_title_ranks_series_once_per_unique_value() -> None:
    s = pl.Series("title", ["部長", None, "部長", "CEO", ""])
    assert title_ranks(s).to_list() == [5, 0, 5, 9, 0]


DEPARTMENTS = [
    # hierarchy, one canonical path
    ("営業本部 第一営業部", "営業本部/第一営業部"), ("営業本部・第一営業部", "営業本部/第一営業部"),
    ("営業本部/第一営業部", "営業本部/第一営業部"), ("営業本部／第１営業部", "営業本部/第一営業部"),
    ("営業本部　第1営業部", "営業本部/第一営業部"), ("営業本部第一営業部", "営業本部/第一営業部"),
    ("営業本部 > 第一営業部 > 第二課", "営業本部/第一営業部/第二課"), ("本社 営業部", "本社/営業部"),
    # numbering and spacing
    ("第1営業部", "第一営業部"), ("第１営業部", "第一営業部"), ("第一 営業部", "第一営業部"), ("営業1課", "営業一課"),
    ("第12営業部", "第十二営業部"), ("DX推進 室", "DX推進室"), ("ＤＸ推進　室", "DX推進室"),
    # ー and 一 typed for each other
    ("営業本部 第ー営業部", "営業本部/第一営業部"), ("マ一ケティング部", "マーケティング部"),
    # synonyms and abbreviations, suffix tolerance
    ("情シス", "情報システム部"), ("情報システム", "情報システム部"), ("IT部", "情報システム部"),
    ("ＩＴ部", "情報システム部"), ("Information Systems Dept.", "情報システム部"), ("経企", "経営企画部"),
    ("総務", "総務部"), ("人事", "人事部"), ("購買", "購買部"), ("調達部", "購買部"), ("Sales", "営業部"),
    ("Sales Dept.", "営業部"), ("Sales Division", "営業本部"), ("Dept. of Sales", "営業部"), ("HR", "人事部"),
    ("経企室", "経営企画室"), ("営業部門", "営業部"), ("ﾏｰｹﾃｨﾝｸﾞ", "マーケティング部"), ("法人営業", "法人営業部"),
    ("First Sales Dept., Sales Division", "営業本部/第一営業部"),
    # unknown names pass through normalised; a same-level pair joined by ・ is one department
    ("Quantum Lab", "Quantum Lab"), ("quantum  LAB", "Quantum Lab"), ("東京", "東京"), ("総務・人事部", "総務・人事部"),
    ("Global Alliances Dept.", "Global Alliances Department"),
    # a title written in the department field is not a department
    ("営業部 部長", "営業部"), ("営業部部長代理", "営業部"),
    # blanks
    ("", None), ("  ", None), ("-", None), ("なし", None), (None, None),
]


@pytest.mark.parametrize(("raw", "canonical"), DEPARTMENTS)
def test_normalize_department(raw: str | None, canonical: str | None) -> None:
    assert normalize_department(raw) == canonical


@pytest.mark.parametrize("raw", ["第1営業部", "第一営業部", "第１営業部", "第一 営業部", " 第 1 営業部 "])
def test_internal_department_spellings_are_one(raw: str) -> None:
    assert normalize_internal_department(raw) == "第一営業部"


def test_normalize_departments_series() -> None:
    s = pl.Series("d", ["情シス", None, "情シス", "第1営業部"])
    assert normalize_departments(s).to_list() == ["情報システム部", None, "情報システム部", "第一営業部"]
    assert normalize_departments(s, internal=True).name == "d"


def _rules() -> Rules:
    """A private, editable copy of the project's rules documents."""
    loaded = load_rules(validate=False)
    return Rules(root=Path(loaded.root), documents=copy.deepcopy(loaded.documents))


def test_internal_aliases_are_site_data() -> None:
    rules = _rules()
    rules.documents["departments.yaml"]["internal_aliases"] = {"MA": "マーケティング部"}
    org = org_rules(rules)
    assert normalize_internal_department("MA", org) == "マーケティング部"
    assert normalize_internal_department("ＭＡ", org) == "マーケティング部"
    assert normalize_department("MA", org) == "Ma"   # counterpart departments do not use our aliases


def test_bad_title_rule_names_file_and_key() -> None:
    rules = _rules()
    rules.documents["titles.yaml"]["patterns"][0]["rank"] = 12
    with pytest.raises(RulesError) as err:
        org_rules(rules)
    assert err.value.key == "patterns[0].rank" and err.value.file.endswith("titles.yaml")


def test_bad_regex_names_file_and_key() -> None:
    rules = _rules()
    rules.documents["titles.yaml"]["patterns"].append({"rank": 3, "regex": ["(unclosed"]})
    with pytest.raises(RulesError, match="regex"):
        org_rules(rules)


def test_bad_department_unit_names_key() -> None:
    rules = _rules()
    rules.documents["departments.yaml"]["english"]["units"]["dept"] = "部局課"
    with pytest.raises(RulesError) as err:
        org_rules(rules)
    assert err.value.key == "english.units.dept"


_PIECES = st.sampled_from(["営業", "本部", "部", "第1", "第一", " ", "・", "/", "情シス", "Sales", "Dept.", "課",
                           "ｼｽﾃﾑ", "IT", "、", "部長", "Division", "東京", "-", "Ａ"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=6).map("".join))
def test_department_normalisation_is_idempotent(raw: str) -> None:
    once = normalize_department(raw)
    assert normalize_department(once) == once


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=30))
def test_org_functions_never_raise(raw: str) -> None:
    assert 0 <= title_rank(raw) <= 9
    out = normalize_department(raw)
    assert out is None or (out and not out.startswith("/") and "//" not in out)
    normalize_internal_department(raw)
