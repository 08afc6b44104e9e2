"""Table-driven checks of the load stage's pieces: dates, Salesforce ids, file kinds, layouts.yaml."""

from __future__ import annotations

import copy

import pytest

from abm.errors import RulesError
from abm.load import kind_from_stem
from abm.load.layouts import detect, layout_rules, norm_header
from abm.load.read import sniff_delimiter
from abm.load.validate import iso_date, salesforce_18
from abm.rules import Rules, load_rules

RULES = load_rules(validate=False)


@pytest.mark.parametrize(
    "value, fmt, expected",
    [
        ("2025-1-5", None, "2025-01-05"),
        ("2025/12/31 23:59:59", None, "2025-12-31"),
        ("2025.02.28", None, "2025-02-28"),
        ("2025年 2月 3日", None, "2025-02-03"),
        ("2025年2月3日 10時", None, "2025-02-03"),
        ("12/31/2025", None, "2025-12-31"),
        ("31/12/2025", None, None),
        ("31/12/2025", "%d/%m/%Y", "2025-12-31"),
        ("2025-04-31", None, None),
        ("2025-13-01", None, None),
        ("1899-12-31", None, None),
        ("令和元年5月1日", None, "2019-05-01"),
        ("昭和64年1月7日", None, "1989-01-07"),
        ("45678", None, "2025-01-21"),  # an Excel serial day number
        ("令和0年1月5日", None, None),
        ("R7.1.5", None, "2025-01-05"),
        ("H31/4/30", None, "2019-04-30"),
        ("05/01", "%d/%m", None),
        ("", None, None),
        ("2025-01-05Z", None, None),
    ],
)
def test_iso_date(value, fmt, expected):
    assert iso_date(value, fmt) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),  # the example in Salesforce's documentation
        ("001000000000001", "001000000000001AAA"),
        ("001000000000001AAA", "001000000000001AAA"),  # already 18 characters
        ("C0001", "C0001"),  # not a Salesforce id
    ],
)
def test_salesforce_18(value, expected):
    assert salesforce_18(value) == expected


@pytest.mark.parametrize(
    "stem, kind",
    [
        ("cards", "cards"),
        ("cards_2025-10", "cards"),
        ("Cards 2025", "cards"),
        ("crm_contacts", "crm_contacts"),
        ("crm-opportunities_q1", "crm_opportunities"),
        ("ma_activities2025", "ma_activities"),
        ("cardsx", None),
        ("export", None),
        ("crm", None),
    ],
)
def test_kind_from_stem(stem, kind):
    assert kind_from_stem(stem) == kind


def test_norm_header():
    assert norm_header("取引先 ID") == norm_header("取引先ID") == "取引先id"
    assert norm_header("E-mail") == norm_header("ｅｍａｉｌ") == "email"
    assert norm_header("Last_Name") == norm_header("LastName")


@pytest.mark.parametrize(
    "line, expected",
    [
        ("a,b,c", ","),
        ("a\tb\tc", "\t"),
        ('"x,y";b;c', ";"),
        ("a|b|c", "|"),
        ("single", ","),
    ],
)
def test_sniff_delimiter(line, expected):
    assert sniff_delimiter(line) == expected


def test_detect_restricted_to_kind_from_file_name():
    view = RULES.view(layout_rules)
    header = ["Id", "Email", "First Name", "Last Name", "Company Name"]
    assert detect(header, view, "x.csv", "ma_leads").name == "marketo_lead"
    assert detect(["card_id", "company_name"], view, "x.csv").kind == "cards"
    assert detect(["foo"], view, "x.csv") is None


def _with(doc_edit) -> Rules:
    docs = copy.deepcopy(RULES.documents)
    doc_edit(docs["layouts.yaml"])
    return Rules(root=RULES.root, documents=docs)


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda d: d["layouts"]["eight"].update(kind="namecards"), "layouts.eight.kind"),
        (lambda d: d["layouts"]["eight"]["columns"].update(nickname=["x"]), "layouts.eight.columns.nickname"),
        (lambda d: d["layouts"]["eight"]["columns"].update(email="e-mail"), "layouts.eight.columns.email"),
        (lambda d: d["layouts"]["eight"].update(signature=[]), "layouts.eight.signature"),
        (lambda d: d["layouts"]["eight"].update(id_from=["nickname"]), "layouts.eight.id_from"),
        (
            lambda d: d["layouts"]["sansan"]["split"][0].update(into=["family_name"]),
            "layouts.sansan.split[0].into",
        ),
        (lambda d: d.pop("layouts"), "layouts"),
    ],
)
def test_bad_layouts_yaml_names_the_key(edit, key):
    with pytest.raises(RulesError) as err:
        layout_rules(_with(edit))
    assert err.value.key == key and err.value.file.endswith("rules/layouts.yaml")
