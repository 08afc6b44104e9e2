"""Each committed vendor fixture (tests/fixtures_vendor/<layout>/) loads with no configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from abm.contract import KINDS, LINEAGE_COLUMNS
from abm.load import load_inputs
from abm.load.layouts import layout_rules
from abm.rules import load_rules

HERE = Path(__file__).parent / "fixtures_vendor"


@pytest.fixture(scope="module")
def rules():
    return load_rules(validate=False)


def _load(layout, rules):
    return load_inputs(HERE / layout, rules)


def _one(loaded, kind):
    rows = loaded.tables[kind].sort("row_number").rows(named=True)
    assert rows, kind
    return rows


EXPECTED = {
    # layout: (kind, file, {column: value} of the first row)
    "eight": (
        "cards",
        "名刺一覧.csv",
        {
            "company_name": "株式会社サンプル商事",
            "family_name": "山田",
            "given_name": "太郎",
            "email": "t.yamada@sample-shoji.example",
            "phone": "03-1111-0101",
            "mobile": "090-0000-0001",
            "exchanged_on": "2025-04-01",
            "owner_name": None,
            "makes_touch": False,
        },
    ),
    "sansan": (
        "cards",
        "sansan_meishi.csv",
        {
            "family_name": "鈴木",
            "given_name": "一郎",
            "family_name_kana": "スズキ",
            "given_name_kana": "イチロウ",
            "owner_name": "高橋 次郎",
            "owner_department": "第二営業部",
            "exchanged_on": "2025-03-15",
            "makes_touch": True,
        },
    ),
    "salesforce_account": (
        "crm_accounts",
        "Account.csv",
        {
            "account_id": "001000000000001AAA",
            "address": "東京都 千代田区 千代田1-1",
            "postal_code": "100-0001",
            "owner_name": "営業 一郎",
            "owner_department": "第一営業部",
            "makes_touch": False,
        },
    ),
    "salesforce_contact": (
        "crm_contacts",
        "Contact.csv",
        {
            "contact_id": "003000000000001AAA",
            "account_id": "001000000000001AAA",
            "family_name": "山田",
            "given_name": "太郎",
            "owner_name": "営業 一郎",
            "owner_department": "第一営業部",
            "created_on": "2025-01-10",
            "last_activity_on": "2025-03-01",
            "makes_touch": True,
        },
    ),
    "salesforce_lead": (
        "crm_leads",
        "Lead.csv",
        {
            "lead_id": "00Q000000000001AAA",
            "company_name": "架空工業株式会社",
            "status": "Open - Not Contacted",
            "created_on": "2025-02-01",
        },
    ),
    "salesforce_opportunity": (
        "crm_opportunities",
        "Opportunity.csv",
        {
            "opportunity_id": "006000000000001AAA",
            "contact_id": "003000000000001AAA",
            "product": "ERP",
            "stage": "Proposal",
            "amount": "1200000",
            "is_closed": "false",
            "close_on": "2025-06-30",
            "owner_department": "第一営業部",
        },
    ),
    "salesforce_ja_account": (
        "crm_accounts",
        "取引先.csv",
        {
            "account_id": "001000000000003AAA",
            "name": "株式会社サンプル商事",
            "website": "sample-shoji.example",
        },
    ),
    "salesforce_ja_contact": (
        "crm_contacts",
        "取引先責任者.csv",
        {
            "contact_id": "003000000000003AAA",
            "account_id": "001000000000003AAA",
            "department": "第一営業部",
            "owner_name": "営業 一郎",
            "created_on": "2025-01-10",
        },
    ),
    "salesforce_ja_lead": (
        "crm_leads",
        "リード.csv",
        {"lead_id": "00Q000000000002AAA", "status": "未対応", "owner_name": "販売 花子"},
    ),
    "salesforce_ja_opportunity": (
        "crm_opportunities",
        "商談.csv",
        {
            "opportunity_id": "006000000000002AAA",
            "stage": "提案",
            "amount": "¥1,200,000",
            "is_closed": "0",
            "close_on": "2025-06-30",
        },
    ),
    "marketo_lead": (
        "ma_leads",
        "marketo_export.csv",
        {
            "lead_id": "1001",
            "full_name": "山田 太郎",
            "score": "85",
            "created_on": "2025-01-20",
            "department": "第一営業部",
        },
    ),
    "hubspot_contact": (
        "ma_leads",
        "hubspot-contacts.csv",
        {
            "lead_id": "51",
            "full_name": "Smith Anna",
            "company_name": "Sample Shoji Co., Ltd.",
            "created_on": "2025-02-03",
        },
    ),
    "marketo_activity": (
        "ma_activities",
        "activities.csv",
        {
            "activity_id": "9001",
            "lead_id": "1001",
            "activity_on": "2025-03-03",
            "program": "2025春セミナー",
            "makes_touch": True,
        },
    ),
}


def test_every_layout_has_a_fixture(rules):
    layouts = set(rules.view(layout_rules).by_name) - {"salesforce_user"}
    assert layouts == set(EXPECTED)
    assert {p.name for p in HERE.iterdir() if p.is_dir()} == set(EXPECTED)


@pytest.mark.parametrize("layout", sorted(EXPECTED))
def test_vendor_layout_maps_without_configuration(layout, rules):
    kind, file, values = EXPECTED[layout]
    loaded = _load(layout, rules)
    stats = {f["path"]: f for f in loaded.files}
    assert stats[file]["kind"] == kind and stats[file]["layout"] == layout
    assert loaded.quarantine.height == 0
    table = loaded.tables[kind]
    assert table.columns == [*KINDS[kind], *LINEAGE_COLUMNS]
    row = _one(loaded, kind)[0]
    assert {k: row[k] for k in values} == values
    for other, t in loaded.tables.items():
        assert t.height == 0 or other == kind


def test_salesforce_user_file_is_reference_data(rules):
    loaded = _load("salesforce_contact", rules)
    users = next(f for f in loaded.files if f["path"] == "User.csv")
    assert (users["kind"], users["layout"], users["rows_reference"], users["rows_loaded"]) == (
        "_users",
        "salesforce_user",
        2,
        0,
    )
    second = _one(loaded, "crm_contacts")[1]
    assert (second["owner_name"], second["owner_department"]) == ("販売 花子", "マーケティング部")


def test_salesforce_15_char_ids_are_widened_and_unknown_owner_counted(rules):
    loaded = _load("salesforce_account", rules)
    child = _one(loaded, "crm_accounts")[1]
    assert child["account_id"] == "001000000000002AAA"
    assert child["parent_account_id"] == "001000000000001AAA"
    assert child["owner_name"] == "005000000000009AAA" and child["owner_department"] is None
    stats = next(f for f in loaded.files if f["path"] == "Account.csv")
    assert stats["field_issues"] == {"owner_unresolved": 1}
    assert stats["ignored_columns"] == ["Industry"]


def test_eight_rows_without_owner_do_not_touch_and_are_counted(rules):
    loaded = _load("eight", rules)
    stats = loaded.files[0]
    assert stats["encoding"] == "cp932"
    assert stats["field_issues"] == {"no_touch_without_owner": 2, "blank_owner": 2}
    assert stats["ignored_columns"] == ["Fax", "展示会2025", "要フォロー"]
    ids = loaded.tables["cards"].get_column("card_id").to_list()
    assert all(i.startswith("eight-") and len(i) == len("eight-") + 16 for i in ids)


def test_sansan_full_name_with_ideographic_space_is_split(rules):
    second = _one(_load("sansan", rules), "cards")[1]
    assert (second["family_name"], second["given_name"], second["family_name_kana"]) == ("田中", "実", None)


# The links the systems record (contract v1.2): layout -> (kind, row index, expected values).
SYSTEM_LINKS = [
    ("salesforce_lead", "crm_leads", 0, {"is_converted": "false", "converted_account_id": None}),
    # 15-character Salesforce ids widened to 18 like every other Salesforce id
    ("salesforce_lead", "crm_leads", 1, {"is_converted": "true", "converted_account_id": "001000000000003AAA",
                                         "converted_contact_id": "003000000000003AAA",
                                         "converted_on": "2025-01-10"}),
    ("salesforce_ja_lead", "crm_leads", 0, {"is_converted": "1", "converted_account_id": "001000000000004AAA",
                                            "converted_contact_id": "003000000000004AAA",
                                            "converted_on": "2025-02-20"}),
    # Marketo's one "SFDC Id" routed by "SFDC Type"; a type-less id by its key prefix (00Q = Lead)
    ("marketo_lead", "ma_leads", 0, {"crm_lead_id": None, "crm_contact_id": "003000000000003AAA",
                                     "crm_account_id": "001000000000003AAA"}),
    ("marketo_lead", "ma_leads", 1, {"crm_lead_id": "00Q000000000001AAA", "crm_contact_id": None}),
    ("hubspot_contact", "ma_leads", 0, {"crm_lead_id": "00Q000000000009EAA", "crm_contact_id": None}),
    ("sansan", "cards", 0, {"vendor_person_id": "P0000123"}),
    ("sansan", "cards", 1, {"vendor_person_id": None}),
]


@pytest.mark.parametrize(("layout", "kind", "index", "values"), SYSTEM_LINKS)
def test_system_links_load_from_vendor_headers(layout, kind, index, values, rules):
    row = _one(_load(layout, rules), kind)[index]
    assert {k: row[k] for k in values} == values


def test_system_links_are_normalised_to_record_keys(rules):
    from abm.normalize.records import normalize_records

    leads = normalize_records(_load("salesforce_lead", rules).tables, rules).sort("row_number")
    assert leads.get_column("converted_account_ref").to_list() == [None, "crm_accounts:001000000000003AAA"]
    assert leads.get_column("converted_contact_ref").to_list() == [None, "crm_contacts:003000000000003AAA"]
    assert leads.get_column("is_converted").to_list() == [False, True]
    ma = normalize_records(_load("marketo_lead", rules).tables, rules).sort("row_number")
    assert ma.get_column("crm_contact_ref").to_list() == ["crm_contacts:003000000000003AAA", None]
    assert ma.get_column("crm_lead_ref").to_list() == [None, "crm_leads:00Q000000000001AAA"]
    cards = normalize_records(_load("sansan", rules).tables, rules).sort("row_number")
    assert cards.get_column("vendor_person_id").to_list() == ["P0000123", None]
