"""Department / internal department normalisation (abm.normalize.departments)."""

from __future__ import annotations

import copy
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.errors import RulesError
from abm.normalize.departments import (
    department_rules,
    normalize_department,
    normalize_departments,
    normalize_internal_department,
)
from abm.normalize.titles import title_rank
from abm.rules import Rules, load_rules

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
    ("Quantum Lab", "Quantum Lab"), ("quantum  LAB", "Quantum Lab"), ("東京", "東京"),
    ("Global Alliances Dept.", "Global Alliances Department"),
    # a title written in the department field is not a department
    ("営業部 部長", "営業部"), ("営業部部長代理", "営業部"),
    # blanks
    ("", None), ("  ", None), ("-", None), ("なし", None), (None, None),
    # an ordinal after the name moves before it (units marked ordinal_first); 課 keeps it
    ("営業二部", "第二営業部"), ("営業第二部", "第二営業部"), ("営業2部", "第二営業部"), ("営業第２部", "第二営業部"),
    ("開発第一部", "第一開発部"), ("営業本部営業二部", "営業本部/第二営業部"), ("セールス二部", "第二営業部"),
    ("第一セールス部", "第一営業部"), ("営業二課", "営業二課"), ("統一部", "統一部"),
    ("Sales Dept. 2", "第二営業部"), ("Sales Dept. II", "第二営業部"), ("Sales Dept. No. 2", "第二営業部"),
    ("2nd Sales Dept.", "第二営業部"), ("Second Sales Department", "第二営業部"), ("Sales Division 3", "第三営業本部"),
    ("Project Team 2", "Project Team 2"), ("Quantum Lab 2", "Quantum Lab 2"),
    # two names of one function are that function; two functions stay as written
    ("調達・購買部", "購買部"), ("購買・調達", "購買部"), ("調達及び購買部", "購買部"),
    ("Procurement & Purchasing Dept.", "購買部"), ("Procurement and Purchasing Dept.", "購買部"),
    # two functions are one department named by both, the same however it is joined or spelt
    ("総務・人事部", "人事総務部"), ("人事・総務部", "人事総務部"), ("総務人事部", "人事総務部"),
    ("HR & General Affairs Dept.", "人事総務部"), ("General Affairs & HR Dept.", "人事総務部"),
    ("経理・財務部", "経理財務部"), ("Accounting & Finance Dept.", "経理財務部"),
    ("営業・マーケティング部", "営業・マーケティング部"), ("Sales & Marketing Dept.", "営業・マーケティング部"),
    ("マーケティング・営業部", "営業・マーケティング部"), ("営業・東京", "営業・東京"),
    ("Sales & Quantum Dept.", "Sales & Quantum Department"),
    # DX: Japanese, English, any casing; デジタル推進 is DX推進
    ("デジタル推進部", "DX推進部"), ("DX Promotion Dept.", "DX推進部"), ("Dx Promotion Dept.", "DX推進部"),
    ("dx推進室", "DX推進室"), ("DX Promotion Office", "DX推進室"), ("Digital Transformation Dept.", "DX推進部"),
    ("dx promotion dept", "DX推進部"), ("Dx推進部", "DX推進部"), ("デジタル推進室", "DX推進室"),
    ("Digital Promotion Office", "DX推進室"),
    # the English stems, with and without a unit word
    ("Procurement", "購買部"), ("Purchasing", "購買部"), ("Human Resources", "人事部"), ("Human Resource Dept.", "人事部"),
    ("General Affairs", "総務部"), ("Legal", "法務部"), ("R&D", "研究開発部"), ("R & D Dept.", "研究開発部"),
    ("Corp. Planning Dept.", "経営企画部"), ("2nd Sales Division", "第二営業本部"), ("Sales Dept 2", "第二営業部"),
    ("Sales Department No.2", "第二営業部"), ("Sales Section 2", "第二営業課"), ("営業第2部", "第二営業部"),
    ("Sales Dept., 2nd", "第二営業部"), ("No. 2 Sales Dept.", "第二営業部"), ("Sales No.2 Dept.", "第二営業部"),
    ("No. 2 Quantum Dept.", "No 2 Quantum Department"),
]

# English department vocabulary -> the Japanese canonical department (rules/departments.yaml synonyms)
ENGLISH = [
    ("Sales Dept.", "営業部"), ("Marketing Dept.", "マーケティング部"), ("IT Dept.", "情報システム部"),
    ("Information Systems Division", "情報システム本部"), ("Human Resources Dept.", "人事部"), ("HR", "人事部"),
    ("General Affairs Dept.", "総務部"), ("Accounting Dept.", "経理部"), ("Finance Dept.", "財務部"),
    ("Legal Dept.", "法務部"), ("Procurement Dept.", "購買部"), ("Purchasing Dept.", "購買部"),
    ("Quality Assurance Dept.", "品質保証部"), ("Quality Control Section", "品質管理課"), ("R&D Division", "研究開発本部"),
    ("Research & Development Center", "研究開発センター"), ("Corporate Planning Office", "経営企画室"),
    ("Manufacturing Dept.", "製造部"), ("Production Engineering Dept.", "生産技術部"), ("Logistics Dept.", "物流部"),
    ("Customer Support Center", "カスタマーサポートセンター"), ("Customer Success Team", "カスタマーサクセスチーム"),
    ("Internal Audit Office", "内部監査室"), ("Investor Relations", "IR部"), ("Public Relations Dept.", "広報部"),
    ("Business Development Dept.", "事業開発部"), ("Sales Planning Dept.", "営業企画部"),
    ("Intellectual Property Dept.", "知的財産部"), ("Information Security Office", "情報セキュリティ室"),
    ("Overseas Sales Dept.", "海外営業部"), ("Finance & Accounting Dept.", "経理財務部"),
]


@pytest.mark.parametrize(("raw", "canonical"), ENGLISH)
def test_english_department_vocabulary(raw: str, canonical: str) -> None:
    assert normalize_department(raw) == canonical
    assert normalize_department(raw.upper()) == canonical


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
    departments = department_rules(rules)
    assert normalize_internal_department("MA", departments) == "マーケティング部"
    assert normalize_internal_department("ＭＡ", departments) == "マーケティング部"
    assert normalize_department("MA", departments) == "Ma"   # counterpart departments do not use our aliases


def test_bad_department_unit_names_key() -> None:
    rules = _rules()
    rules.documents["departments.yaml"]["english"]["units"]["dept"] = "部局課"
    with pytest.raises(RulesError) as err:
        department_rules(rules)
    assert err.value.key == "english.units.dept"


_PIECES = st.sampled_from(["営業", "本部", "部", "第1", "第一", " ", "・", "/", "情シス", "Sales", "Dept.", "課",
                           "ｼｽﾃﾑ", "IT", "、", "部長", "Division", "東京", "-", "Ａ",
                           "二", "室", "調達", "購買", "&", "and", "2", "II", "No.", "DX推進", "デジタル推進", "Office"])


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


def _japanese_aliases() -> list[tuple[str, str]]:
    """(alias, canonical stem) of every Japanese synonym in rules/departments.yaml that reads as its
    function with 部 after it (新規事業部 is 新規 + the unit 事業部, not 新規事業 + 部)."""
    doc = load_rules(validate=False).documents["departments.yaml"]["synonyms"]
    return [(a, str(c)) for c, aliases in doc.items() for a in aliases
            if any("\u3040" <= ch <= "\u9fff" for ch in a) and "・" not in a
            and not f"{a}部".endswith(("事業部", "統括部", "本部"))]


_ALIASES = _japanese_aliases()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_ALIASES), st.sampled_from(_ALIASES), st.sampled_from(["・", "及び", "&", "＆"]))
def test_a_compound_of_two_functions_is_one_department_whichever_way_it_is_joined(
        a: tuple[str, str], b: tuple[str, str], sep: str) -> None:
    one, other = normalize_department(f"{a[0]}{sep}{b[0]}部"), normalize_department(f"{b[0]}・{a[0]}部")
    assert one == other
    assert normalize_department(one) == one
    if a[1] == b[1]:   # two names of one function are that function
        assert one == normalize_department(f"{a[1]}部")
