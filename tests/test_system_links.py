"""Links the systems record: generic engine mechanics, data_quality findings, CRM duplicates."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from abm.detect.crm_duplicates import crm_duplicates
from abm.errors import RulesError
from abm.linkage.engine import link
from abm.linkage.spec import parse_spec
from abm.pipeline import run
from abm.settings import Settings


def _toy_spec(**system_links: object) -> dict:
    return {
        "name": "toy", "id_column": "id",
        "blocking": [{"name": "city", "keys": ["city"]}],
        "comparisons": [{"name": "name", "column": "name", "levels": [{"kind": "exact"}]},
                        {"name": "city", "column": "city", "levels": [{"kind": "exact"}]}],
        "threshold": 0.9, "prior": 0.1, "u_sample_pairs": 2000,
        "system_links": {"weight": 12, **system_links},
    }


def _toy_units() -> pl.DataFrame:
    rows = [{"id": f"u{i:03d}", "name": f"n{i // 2}", "city": f"c{i % 7}", "ref": None, "key": None, "zone": "x"}
            for i in range(60)]
    # u100 states it is u000 (another name, another city: no blocking rule pairs them)
    rows.append({"id": "u100", "name": "other", "city": "c99", "ref": "u000", "key": None, "zone": "x"})
    # u101 / u102 share a vendor key; u103 states u001 but sits in another zone (vetoed)
    rows.append({"id": "u101", "name": "p", "city": "c98", "ref": None, "key": "K1", "zone": "x"})
    rows.append({"id": "u102", "name": "q", "city": "c97", "ref": None, "key": "K1", "zone": "x"})
    rows.append({"id": "u103", "name": "r", "city": "c96", "ref": "u001", "key": None, "zone": "y"})
    return pl.DataFrame(rows)


LINKS = {"links": [{"name": "stated", "kind": "ref", "column": "ref", "finding": "stated_conflict"},
                   {"name": "vendor", "kind": "shared", "column": "key"}],
         "vetoes": [{"name": "other_zone", "sql": "l.zone <> r.zone"}]}


def test_system_links_join_units_no_comparison_would_and_name_themselves():
    result = link(_toy_units(), parse_spec(_toy_spec(**LINKS), "toy.yaml"))
    cluster = dict(zip(result.units["id"], result.units["cluster"], strict=True))
    assert cluster["u100"] == cluster["u000"]
    assert cluster["u101"] == cluster["u102"]
    pairs = result.pairs.filter(pl.col("system_link").is_not_null())
    assert set(pairs["system_link"]) == {"stated", "vendor"}
    assert set(pairs["rule"]) == {"system_link"}  # no blocking rule found them


def test_a_vetoed_system_link_is_a_conflict_with_its_reason():
    result = link(_toy_units(), parse_spec(_toy_spec(**LINKS), "toy.yaml"))
    cluster = dict(zip(result.units["id"], result.units["cluster"], strict=True))
    assert cluster["u103"] != cluster["u001"]
    assert result.conflicts.rows(named=True) == [
        {"id_from": "u103", "id_to": "u001", "system_link": "stated", "finding": "stated_conflict",
         "reason": "other_zone"}]


def test_without_system_links_the_same_units_stay_apart():
    result = link(_toy_units(), parse_spec(_toy_spec(), "toy.yaml"))
    cluster = dict(zip(result.units["id"], result.units["cluster"], strict=True))
    assert cluster["u100"] != cluster["u000"] and cluster["u101"] != cluster["u102"]


@pytest.mark.parametrize(("links", "key"), [
    ({"links": [{"kind": "magic", "column": "ref"}]}, "system_links.links[0].kind"),
    ({"links": [{"kind": "ref"}]}, "column"),
    ({"weight": -1}, "system_links.weight"),
])
def test_bad_system_links_name_the_key(links, key):
    with pytest.raises(RulesError) as err:
        parse_spec(_toy_spec(**links), "toy.yaml")
    assert key in str(err.value)


# --- end to end: a tiny world --------------------------------------------------------------------

def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def linked_run(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("links")
    _write(d / "crm_accounts.csv", ["account_id", "name", "corporate_number", "website", "phone", "owner_department"], [
        ["A1", "株式会社東洋興業", "", "https://www.toyo-kogyo.example", "03-1111-0000", "営業部"],
        ["A2", "東洋工業株式会社", "", "https://www.toyo-industry.example", "06-2222-0000", "営業部"],
        ["A3", "トウヨウコウギョウ", "", "", "03-1111-0000", "開発部"],  # A1's duplicate
        ["A4", "北斗電機株式会社", "", "https://www.hokuto-denki.example", "011-333-0000", "営業部"],
    ])
    _write(d / "crm_contacts.csv", ["contact_id", "account_id", "family_name", "given_name", "email",
                                    "owner_department", "created_on"], [
        ["C1", "A1", "山田", "太郎", "yamada@toyo-kogyo.example", "営業部", "2025-01-10"],
        ["C2", "A2", "佐藤", "花子", "sato@toyo-industry.example", "営業部", "2025-01-11"],
        # a 東洋工業 person on 北斗電機's account
        ["C3", "A4", "鈴木", "一郎", "suzuki@toyo-industry.example", "営業部", "2025-01-12"],
    ])
    _write(d / "crm_leads.csv", ["lead_id", "company_name", "family_name", "given_name", "email", "owner_department",
                                 "created_on", "is_converted", "converted_account_id", "converted_contact_id"], [
        # converted correctly, though the lead wrote the company in English and nothing else matches
        ["L1", "Toyo Kogyo", "Yamada", "Taro", "", "営業部", "2025-01-05", "true", "A1", "C1"],
        # mis-converted into the similarly named 東洋工業 (its own domain says 東洋興業)
        ["L2", "東洋興業", "田中", "実", "tanaka@toyo-kogyo.example", "営業部", "2025-01-06", "true", "A2", ""],
    ])
    _write(d / "ma_leads.csv", ["lead_id", "email", "company_name", "full_name", "created_on", "crm_contact_id",
                                "crm_account_id"], [
        ["M1", "taro.y@gmail.example", "", "山田 太郎", "2025-01-04", "C1", ""],
        # a stale sync: a 東洋興業 person synced to 東洋工業's contact and account
        ["M2", "tanaka@toyo-kogyo.example", "東洋興業", "田中 実", "2025-01-07", "C2", "A2"],
    ])
    out = d / "out"
    run(Settings(input_dir=d, out_dir=out))
    return out


def _records(out: Path) -> dict[str, dict]:
    return {r["record_key"]: r for r in pl.read_parquet(out / "records.parquet").iter_rows(named=True)}


def test_converted_and_synced_leads_join_their_contact(linked_run: Path):
    rec = _records(linked_run)
    assert rec["crm_leads:L1"]["person_id"] == rec["crm_contacts:C1"]["person_id"] is not None
    assert rec["ma_leads:M1"]["person_id"] == rec["crm_contacts:C1"]["person_id"]
    assert rec["crm_leads:L1"]["account_id"] == rec["crm_accounts:A1"]["account_id"]


def test_a_mis_conversion_is_not_followed_but_reported(linked_run: Path):
    rec = _records(linked_run)
    assert rec["crm_leads:L2"]["account_id"] == rec["crm_accounts:A1"]["account_id"]
    assert rec["crm_leads:L2"]["account_id"] != rec["crm_accounts:A2"]["account_id"]
    quality = pl.read_parquet(linked_run / "data_quality.parquet")
    row = quality.filter(pl.col("finding") == "conversion_conflict").row(0, named=True)
    assert (row["record_key"], row["related_record_key"]) == ("crm_leads:L2", "crm_accounts:A2")
    assert "crm_accounts:A2" in row["detail"]


def test_a_contact_on_another_companys_account_is_a_finding(linked_run: Path):
    quality = pl.read_parquet(linked_run / "data_quality.parquet")
    rows = quality.filter(pl.col("finding") == "contact_on_other_company")
    assert rows["record_key"].to_list() == ["crm_contacts:C3"]
    assert "@" not in rows["detail"][0]  # no e-mail address in the detail


def test_crm_duplicate_accounts_name_their_survivor_and_rule(linked_run: Path):
    dups = pl.read_parquet(linked_run / "crm_duplicates.parquet").filter(pl.col("kind") == "crm_accounts")
    assert dups.select("crm_id", "duplicate_of", "survivor_rule").rows() == [("A3", "A1", "most_activity")]


def _crm(n: int, corporate: set[int], pointing: dict[int, int]) -> pl.DataFrame:
    rows = [{"record_key": f"crm_accounts:X{i}", "kind": "crm_accounts", "source_id": f"X{i}", "account_id": "A",
             "person_id": None, "corporate_number": "1234567890123" if i in corporate else None,
             "account_ref": None, "contact_ref": None, "record_date": None, "last_activity_on": None,
             "company_key": "x", "company_domain": None, "phone": None, "postal_code": None, "email": None,
             "person_name_key": None, "mobile": None, "name_kana": None} for i in range(n)]
    for target, k in pointing.items():
        rows += [{**rows[0], "record_key": f"crm_contacts:K{target}-{j}", "kind": "crm_contacts",
                  "source_id": f"K{target}-{j}", "account_ref": f"crm_accounts:X{target}", "corporate_number": None}
                 for j in range(k)]
    strings = {c: pl.Utf8 for c in rows[0] if c not in ("record_date", "last_activity_on")}
    return pl.DataFrame(rows, schema_overrides={"record_date": pl.Date, "last_activity_on": pl.Date, **strings})


@pytest.mark.parametrize(("n", "corporate", "pointing", "survivor", "rule"), [
    (2, {1}, {0: 3}, "X1", "has_corporate_number"),
    (2, set(), {1: 2}, "X1", "most_activity"),
    (3, set(), {}, "X0", "smallest_id"),
])
def test_survivor_rule(n, corporate, pointing, survivor, rule):
    dups = crm_duplicates(_crm(n, corporate, pointing)).filter(pl.col("kind") == "crm_accounts")
    assert set(dups["duplicate_of"]) == {survivor}
    assert dups["survivor_rule"][0] == rule


def test_groups_larger_than_three_are_split_into_merges_of_three():
    dups = crm_duplicates(_crm(6, set(), {})).filter(pl.col("kind") == "crm_accounts")
    assert dups.height == 5 and set(dups["duplicate_of"]) == {"X0"}
    sizes = dups.group_by("merge_group").len()["len"].to_list()
    assert max(sizes) <= 2 and sorted(sizes) == [1, 2, 2]


def test_the_vendor_variant_of_a_world_loads_by_header_alone(small_world: Path, tmp_path: Path):
    from abm.load import load_inputs
    from abm.rules import load_rules
    from fixtures.synth.vendor import write_vendor_variant

    rules = load_rules(validate=False)
    write_vendor_variant(small_world, tmp_path / "vendor")
    canonical = load_inputs(small_world, rules)
    vendor = load_inputs(tmp_path / "vendor", rules)
    layouts = {f["path"]: f["layout"] for f in vendor.files if f.get("layout")}
    assert layouts == {"名刺データ.csv": "sansan", "Account.csv": "salesforce_account",
                       "Contact.csv": "salesforce_contact", "リード.csv": "salesforce_ja_lead",
                       "Opportunity.csv": "salesforce_opportunity", "marketo_activity_log.csv": "marketo_activity",
                       "marketo_leads.csv": "marketo_lead"}
    for kind, table in canonical.tables.items():
        assert vendor.tables[kind].height == table.height, kind
    for kind, columns in (("crm_leads", ["lead_id", "converted_account_id", "converted_contact_id"]),
                          ("ma_leads", ["lead_id", "crm_lead_id", "crm_contact_id", "crm_account_id"]),
                          ("cards", ["card_id", "vendor_person_id"])):
        want = canonical.tables[kind].select(columns).sort(columns[0])
        assert vendor.tables[kind].select(columns).sort(columns[0]).equals(want), kind


def test_generated_worlds_carry_links_and_their_truth(small_world: Path):
    conversions = pl.read_csv(small_world / "truth" / "conversions.csv", infer_schema=False)
    leads = pl.read_csv(small_world / "crm_leads.csv", infer_schema=False)
    converted = leads.filter(pl.col("is_converted") == "true")
    assert converted.height == conversions.height > 0
    assert set(converted["converted_account_id"]) <= set(
        pl.read_csv(small_world / "crm_accounts.csv", infer_schema=False, encoding="cp932")["account_id"])
    syncs = pl.read_csv(small_world / "truth" / "ma_sync.csv", infer_schema=False)
    assert set(syncs.columns) == {"ma_lead_key", "crm_key", "account_key", "stale"}
    cards = pl.concat([pl.read_csv(p, infer_schema=False) for p in small_world.glob("cards_*.csv")])
    assert cards["vendor_person_id"].drop_nulls().len() > cards.height // 2



def test_system_links_show_in_the_evidence_and_explain(linked_run: Path):
    from abm.explain import explain

    evidence = pl.read_parquet(linked_run / "evidence" / "account_links.parquet")
    rules = set(evidence.filter(pl.col("id_r") == "crm_leads:L2")["rule"])
    assert "system_link:converted_account" in rules
    text = explain(linked_run, "crm_leads:L1")
    assert "system_link:converted_account" in text and "system_link:converted_contact" in text


def test_a_stale_sync_is_not_followed_but_reported(linked_run: Path):
    rec = _records(linked_run)
    assert rec["ma_leads:M2"]["account_id"] == rec["crm_accounts:A1"]["account_id"]
    assert rec["ma_leads:M2"]["person_id"] != rec["crm_contacts:C2"]["person_id"]
    quality = pl.read_parquet(linked_run / "data_quality.parquet").filter(pl.col("finding") == "sync_conflict")
    assert ("ma_leads:M2", "crm_accounts:A2") in set(quality.select("record_key", "related_record_key").rows())
