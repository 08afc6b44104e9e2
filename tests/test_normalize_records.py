"""abm.normalize.records: the records_normalized table for every kind."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.contract import KINDS, NORMALIZED_SCHEMA
from abm.normalize.records import (
    NORMALIZED_DTYPES,
    apply_unique,
    normalize_records,
    parse_amount,
    parse_bool,
    parse_dates,
    records_rules,
)
from abm.rules import load_rules

RULES = load_rules(validate=False)
RR = RULES.view(records_rules)


def frame(rows: list[dict]) -> pl.DataFrame:
    cols = sorted({k for r in rows for k in r})
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in cols}, schema={c: pl.Utf8 for c in cols})


def by_key(df: pl.DataFrame) -> dict[str, dict]:
    return {r["record_key"]: r for r in df.iter_rows(named=True)}


def check_schema(df: pl.DataFrame) -> None:
    assert df.columns == list(NORMALIZED_SCHEMA)
    assert dict(df.schema) == dict(NORMALIZED_DTYPES)


TABLES = {
    "cards": frame([
        {"card_id": "C1", "company_name": "㈱山田電機 大阪支店", "family_name": "髙橋", "given_name": "一郎",
         "family_name_kana": "タカハシ", "given_name_kana": "イチロウ", "email": "Ichiro@Yamada-Denki.co.jp",
         "phone": "03-1234-5678", "mobile": "090-1234-5678", "postal_code": "〒530-0001", "address": "大阪市北区梅田1-1",
         "url": None, "exchanged_on": "2024/05/01", "owner_department": "営業１部", "department": "情報システム部",
         "title": "部長", "owner_name": "鈴木"},
        {"card_id": "C2", "company_name": "Yamada Electric Co., Ltd.", "family_name": "Taro Yamada",
         "email": "taro@gmail.com", "phone": "090-1111-2222", "url": "https://www.yamada-denki.co.jp/about",
         "exchanged_on": "not a date", "address": "〒100-0001 千代田区"},
    ]).with_columns(pl.lit("cards.csv").alias("source_file"), pl.Series("row_number", [1, 2]),
                    pl.Series("makes_touch", [True, False])),
    "crm_accounts": frame([
        {"account_id": "A1", "name": "株式会社 山田電機", "name_kana": "ｶ)ﾔﾏﾀﾞﾃﾞﾝｷ", "corporate_number": "7000012050002",
         "website": "www.yamada-denki.co.jp", "phone": "０３－１２３４－５６７８", "postal_code": "100-0001",
         "address": "東京都千代田区", "parent_account_id": "A0", "owner_department": "営業1部"},
        {"account_id": "A2", "name": "さくら商事(有)", "corporate_number": "1234567890123"},
    ]),
    "crm_contacts": frame([
        {"contact_id": "P1", "account_id": "A1", "family_name": "山田", "given_name": "太郎",
         "email": "taro@yamada-denki.co.jp", "created_on": "2024-01-10", "last_activity_on": "2024-06-01 10:00:00",
         "title": None},
    ]),
    "crm_leads": frame([
        {"lead_id": "L1", "company_name": "サクラ商事", "family_name": "佐藤", "given_name": "優子", "email": "yuko@i.softbank.jp",
         "created_on": "2024-03-03", "status": "open"},
        {"lead_id": "L2", "company_name": "ABC Inc."},
    ]),
    "crm_opportunities": frame([
        {"opportunity_id": "O1", "account_id": "A1", "contact_id": "P1", "amount": "¥1,200,000", "is_closed": "済",
         "product": "ＡＢＣ　Cloud", "stage": "提案", "created_on": "2024-04-01", "close_on": "2024/06/30"},
        {"opportunity_id": "O2", "account_id": "A1", "contact_id": "", "amount": "120万円", "is_closed": "FALSE"},
        {"opportunity_id": "O3", "amount": "tbd", "is_closed": "maybe"},
    ]),
    "ma_leads": frame([
        {"lead_id": "M1", "full_name": "ヤマダ タロウ", "company_name": "ヤマダ電機", "email": "TARO@YAMADA-DENKI.CO.JP",
         "created_on": "2024-02-02", "title": "課長"},
    ]),
    "ma_activities": frame([
        {"activity_id": "X1", "lead_id": "M1", "activity_on": "2024-05-02", "activity_type": "webinar",
         "program": "ウェビナー", "program_department": "マーケティング部"},
    ]),
}


@pytest.fixture(scope="module")
def out() -> pl.DataFrame:
    return normalize_records(TABLES, RULES)


def test_schema_and_rows(out):
    check_schema(out)
    assert out.height == sum(t.height for t in TABLES.values())
    assert out["kind"].unique(maintain_order=True).to_list() == list(KINDS)   # contract order
    assert out["record_key"].n_unique() == out.height


def test_cards(out):
    r = by_key(out)
    c1, c2 = r["cards:C1"], r["cards:C2"]
    assert (c1["company_name"], c1["legal_form"], c1["company_key"], c1["company_romaji"]) == (
        "山田電機", "株式会社", "山田電機", "yamadadenki")
    assert (c1["family_name"], c1["given_name"], c1["person_name"], c1["name_kana"], c1["name_romaji"]) == (
        "高橋", "一郎", "高橋 一郎", "タカハシイチロウ", "ichiro takahashi")
    assert (c1["email"], c1["email_domain"], c1["is_free_mail"], c1["company_domain"]) == (
        "ichiro@yamada-denki.co.jp", "yamada-denki.co.jp", False, "yamada-denki.co.jp")
    assert (c1["phone"], c1["mobile"], c1["postal_code"], c1["prefecture"]) == ("0312345678", "09012345678", "5300001", "大阪府")
    assert c1["record_date"] == date(2024, 5, 1) and c1["has_person"] is True
    assert c1["source_file"] == "cards.csv" and c1["row_number"] == 1 and c1["makes_touch"] is True
    assert c1["title"] == "部長" and c1["department_raw"] == "情報システム部" and c1["department"]
    assert c1["internal_department"] and c1["owner_name"] == "鈴木"
    # free mail: the company domain comes from the url; a mobile in the phone column moves to mobile
    assert (c2["is_free_mail"], c2["company_domain"], c2["email_domain"]) == (True, "yamada-denki.co.jp", "gmail.com")
    assert (c2["phone"], c2["mobile"]) == (None, "09011112222")
    assert (c2["family_name"], c2["given_name"], c2["name_romaji"]) == ("Yamada", "Taro", "taro yamada")
    assert c2["company_romaji"] == "yamadadenki" and c2["record_date"] is None and c2["makes_touch"] is False
    assert (c2["postal_code"], c2["prefecture"]) == ("1000001", "東京都")   # from the address
    assert c2["rank"] == 0 and c2["title"] is None


def test_accounts(out):
    r = by_key(out)
    a1, a2 = r["crm_accounts:A1"], r["crm_accounts:A2"]
    assert (a1["company_name"], a1["company_kana"], a1["corporate_number"], a1["corporate_number_invalid"]) == (
        "山田電機", "ヤマダデンキ", "7000012050002", False)
    assert (a1["company_domain"], a1["phone"], a1["prefecture"], a1["parent_account_ref"]) == (
        "yamada-denki.co.jp", "0312345678", "東京都", "crm_accounts:A0")
    assert a1["has_person"] is False and a1["makes_touch"] is True and a1["row_number"] == 1
    assert (a2["legal_form"], a2["corporate_number"], a2["corporate_number_invalid"]) == ("有限会社", None, True)
    assert a2["company_key"] == "サクラ商事" and a2["parent_account_ref"] is None


def test_contacts_leads(out):
    r = by_key(out)
    p1 = r["crm_contacts:P1"]
    assert (p1["account_ref"], p1["company_domain"], p1["person_name"]) == ("crm_accounts:A1", "yamada-denki.co.jp", "山田 太郎")
    assert (p1["record_date"], p1["last_activity_on"], p1["rank"]) == (date(2024, 1, 10), date(2024, 6, 1), 0)
    l1, l2 = r["crm_leads:L1"], r["crm_leads:L2"]
    assert (l1["is_free_mail"], l1["company_domain"], l1["company_key"], l1["name_romaji"]) == (
        True, None, "サクラ商事", "sato yuko")
    assert l2["has_person"] is False and l2["company_name"] == "ABC" and l2["legal_form"] == "株式会社"


def test_opportunities(out):
    r = by_key(out)
    o1, o2, o3 = r["crm_opportunities:O1"], r["crm_opportunities:O2"], r["crm_opportunities:O3"]
    assert (o1["account_ref"], o1["contact_ref"], o1["amount"], o1["is_closed"]) == (
        "crm_accounts:A1", "crm_contacts:P1", 1_200_000.0, True)
    assert (o1["product"], o1["stage"], o1["close_on"], o1["record_date"]) == ("ABC Cloud", "提案", date(2024, 6, 30), date(2024, 4, 1))
    assert (o2["contact_ref"], o2["amount"], o2["is_closed"]) == (None, 1_200_000.0, False)
    assert (o3["account_ref"], o3["amount"], o3["is_closed"], o3["has_person"]) == (None, None, None, False)


def test_ma(out):
    r = by_key(out)
    m1, x1 = r["ma_leads:M1"], r["ma_activities:X1"]
    assert (m1["family_name"], m1["given_name"], m1["name_kana"], m1["name_romaji"]) == ("ヤマダ", "タロウ", "ヤマダタロウ", "taro yamada")
    assert (m1["email"], m1["company_domain"], m1["company_romaji"], m1["has_person"]) == (
        "taro@yamada-denki.co.jp", "yamada-denki.co.jp", "yamadadenki", True)
    assert m1["rank"] >= 1 and m1["internal_department"] is None
    assert (x1["account_ref"], x1["activity_type"], x1["program"], x1["record_date"]) == (
        "ma_leads:M1", "webinar", "ウェビナー", date(2024, 5, 2))
    assert x1["internal_department"] and x1["has_person"] is False


def test_missing_columns_and_empty_tables():
    df = normalize_records({"cards": pl.DataFrame({"card_id": ["C9"]})}, RULES)
    check_schema(df)
    row = df.row(0, named=True)
    assert row["record_key"] == "cards:C9" and row["row_number"] == 1 and row["makes_touch"] is True
    assert row["has_person"] is False and row["company_name"] is None
    check_schema(normalize_records({}, RULES))
    empty = normalize_records({"crm_leads": pl.DataFrame(schema={"lead_id": pl.Utf8})}, RULES)
    check_schema(empty)
    assert empty.height == 0


def test_row_order_kept_and_values_per_unique():
    names = ["㈱山田電機", "山田電機株式会社", None, "㈱山田電機"] * 50
    df = pl.DataFrame({"lead_id": [f"L{i}" for i in range(200)], "company_name": names})
    out = normalize_records({"crm_leads": df}, RULES)
    assert out["source_id"].to_list() == df["lead_id"].to_list()
    assert out["company_name"].to_list() == ["山田電機", "山田電機", None, "山田電機"] * 50


def test_apply_unique_calls_once_per_value():
    calls = []

    def fn(v):
        calls.append(v)
        return (v and v.upper(),)

    df = pl.DataFrame({"a": ["x", "y", "x", None, "y"]})
    out = apply_unique(df, ["a"], fn, {"b": pl.Utf8})
    assert out["b"].to_list() == ["X", "Y", "X", None, "Y"]
    assert sorted(calls, key=str) == sorted(["x", "y", None], key=str)


@pytest.mark.parametrize(("raw", "expected"), [
    ("¥1,200,000", 1_200_000.0), ("1,200,000円", 1_200_000.0), ("120万円", 1_200_000.0), ("1億2000万", 120_000_000.0),
    ("1.5万", 15_000.0), ("-5000", -5000.0), ("▲5,000", -5000.0), ("￥３００", 300.0), ("$12.50", 12.5),
    ("tbd", None), ("", None), (None, None), ("nan", None), ("1e400", None),
])
def test_parse_amount(raw, expected):
    assert parse_amount(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("true", True), ("TRUE", True), ("1", True), ("済", True), ("Closed Won", True), ("lost", True), ("受注", True),
    ("false", False), ("0", False), ("Open", False), ("進行中", False), ("maybe", None), ("", None), (None, None),
])
def test_parse_bool(raw, expected):
    assert parse_bool(raw, RR) is expected


def test_parse_dates():
    s = pl.Series("d", ["2024-01-05", "2024/1/5", "2024-01-05T10:00:00", "2024-02-30", "bad", None, "2024-1-5 09:00"])
    assert parse_dates(s).to_list() == [date(2024, 1, 5), date(2024, 1, 5), date(2024, 1, 5), None, None, None,
                                        date(2024, 1, 5)]


def test_vectorised_phone_path_matches_scalar():
    from abm.normalize.contact import normalize_phone

    raw = ["03-1234-5678", "０３－１２３４－５６７８", "+81 3-1234-5678", "+81 (0)90-1234-5678", "+81 090 1234 5678",
           "(03)1234-5678", "03.1234.5678", " 090 1234 5678 ", "0120-123-456", "03-1234-5678 内線1", "+1 415 555 0123",
           "00000000", "12", "", None, "０９０（１２３４）５６７８", "03-1234-5678 ext. 12", "03-1234-5678 #3", "0312345678x9"]
    df = pl.DataFrame({"card_id": [f"C{i}" for i in range(len(raw))], "phone": raw}, schema={"card_id": pl.Utf8, "phone": pl.Utf8})
    out = normalize_records({"cards": df}, RULES)
    for value, phone, mobile in zip(raw, out["phone"], out["mobile"], strict=True):
        digits, kind = normalize_phone(value)
        assert (phone, mobile) == ((digits, None) if kind == "landline" else (None, digits)), value


def test_assembled_person_fields_match_normalize_person():
    from itertools import product

    from abm.normalize.person import normalize_person

    fams = ["山田", "髙橋", "ヤマダ", "やまだ", "Yamada", "山田 太郎", "様", None, "", "\u3099か", "佐藤\x00"]
    givs = ["太郎", "タロウ", "Taro", "一郎様", None, "ｲﾁﾛｳ"]
    kanas = [None, "ヤマダ", "ヤマダ タロウ", "やまだ", "abc"]
    rows = list(product(fams, givs, kanas, [None, "タロウ"]))
    df = pl.DataFrame(
        {"contact_id": [f"P{i}" for i in range(len(rows))], "family_name": [r[0] for r in rows],
         "given_name": [r[1] for r in rows], "family_name_kana": [r[2] for r in rows],
         "given_name_kana": [r[3] for r in rows]},
        schema={c: pl.Utf8 for c in ("contact_id", "family_name", "given_name", "family_name_kana", "given_name_kana")},
    )
    out = normalize_records({"crm_contacts": df}, RULES)
    cols = ["family_name", "given_name", "person_name", "person_name_key", "name_kana", "name_romaji"]
    for row, got in zip(rows, out.select(cols).iter_rows(), strict=True):
        assert got == tuple(normalize_person(*row, rules=RULES)), row



_NAME_POOL = ["山田", "髙橋", "ヤマダ", "やまだ", "Yamada", "山田 太郎", "太郎", "ｲﾁﾛｳ", "様", "", None]
_KANA_POOL = [None, "ヤマダ", "ヤマダ タロウ", "タロウ", "abc", ""]
_FULL_POOL = [None, "山田 太郎", "YAMADA Taro", "やました まこと", "佐藤花子様", "Mr. John Smith", ""]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(*(st.sampled_from(p) for p in (_NAME_POOL, _NAME_POOL, _KANA_POOL, _KANA_POOL, _FULL_POOL))),
                min_size=1, max_size=40))
def test_person_fields_per_distinct_tuple_match_every_row(rows):
    """The person columns are worked out once per distinct name tuple and joined back: drawn from
    small pools, tuples repeat (and hold nulls); every row still gets normalize_person's answer, in
    input order, for a kind without full names and for ma_leads (full_name only)."""
    from abm.normalize.person import normalize_person

    cols = ["family_name", "given_name", "person_name", "person_name_key", "name_kana", "name_romaji"]
    ids = [f"P{i}" for i in range(len(rows))]
    contacts = pl.DataFrame({"contact_id": ids, **{c: [r[i] for r in rows] for i, c in enumerate(
        ("family_name", "given_name", "family_name_kana", "given_name_kana"))}}, schema_overrides={
        c: pl.Utf8 for c in ("family_name", "given_name", "family_name_kana", "given_name_kana")})
    leads = pl.DataFrame({"lead_id": ids, "full_name": [r[4] for r in rows]}, schema={"lead_id": pl.Utf8,
                                                                                     "full_name": pl.Utf8})
    out = normalize_records({"crm_contacts": contacts, "ma_leads": leads}, RULES)
    assert out["source_id"].to_list() == ids + ids
    got = list(out.select(cols).iter_rows())
    assert got[:len(rows)] == [tuple(normalize_person(*r[:4], rules=RULES)) for r in rows]
    assert got[len(rows):] == [tuple(normalize_person(full_name=r[4], rules=RULES)) for r in rows]

# --- the vectorised contact columns equal the scalar functions on random values --------------
# (``_phone`` and ``_email`` keep their intermediate strings as columns; a wrong column name or
# condition there would show here)

_PHONE_CHARS = list("0123456789０１２３９－（）＋　 -()+.ー内線#xX") + ["ext.", "+81", "(0)", "090", "0120"]
_EMAIL_CHARS = list("abcXYZ09._%+-@") + ["@", "co.jp", "gmail.com", "example.com", "Ａ", " ", ".."]
_SEP = st.sampled_from(["", "-", " ", "－", "(", ")", ".", "ー", "  "])


@st.composite
def _phones(draw: st.DrawFn) -> str:
    """Mostly numbers of a Japanese shape (prefix, groups, separators, extension), some noise."""
    if draw(st.booleans()):
        return "".join(draw(st.lists(st.sampled_from(_PHONE_CHARS), max_size=14)))
    prefix = draw(st.sampled_from(["0", "０", "+81 ", "+81-", "+81 (0)", "+810", " 0", "1"]))
    shape = draw(st.sampled_from([(1, 4, 4), (2, 4, 4), (3, 3, 4), (2, 3, 3), (4, 2, 4), (1, 4), (2, 4, 4, 1)]))
    groups = [draw(st.text("0123456789０９", min_size=n, max_size=n)) for n in shape]
    body = "".join(draw(_SEP) + g for g in groups)
    return prefix + body + draw(st.sampled_from(["", "", " 内線12", " ext. 3", "#4", "x9", " "]))


@st.composite
def _emails(draw: st.DrawFn) -> str:
    """Mostly addresses of the usual shape (any case), some noise."""
    if draw(st.booleans()):
        return "".join(draw(st.lists(st.sampled_from(_EMAIL_CHARS), max_size=10)))
    local = draw(st.text("abcXYZ09._+-", min_size=1, max_size=8))
    host = draw(st.sampled_from(["example.co.jp", "Gmail.com", "MAIL.Yamada-Denki.CO.JP", "x.jp", "docomo.ne.jp",
                                 "a..b.com", "ｘ.jp", "-bad.com"]))
    return local + "@" + host


@given(st.lists(st.one_of(st.none(), _phones()),
                min_size=1, max_size=25))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_phone_columns_match_normalize_phone(raw):
    from abm.normalize.contact import normalize_phone

    df = pl.DataFrame({"card_id": [f"C{i}" for i in range(len(raw))], "phone": raw, "mobile": raw[::-1]},
                      schema={"card_id": pl.Utf8, "phone": pl.Utf8, "mobile": pl.Utf8})
    out = normalize_records({"cards": df}, RULES)
    for phone, mobile, got_phone, got_mobile in zip(raw, raw[::-1], out["phone"], out["mobile"], strict=True):
        found = {kind: digits for digits, kind in (normalize_phone(mobile), normalize_phone(phone)) if digits}
        # the landline column prefers ``phone``'s number, the mobile column ``mobile``'s
        landline = next((d for d, k in (normalize_phone(phone), normalize_phone(mobile)) if k == "landline"), None)
        cell = next((d for d, k in (normalize_phone(mobile), normalize_phone(phone)) if k == "mobile"), None)
        assert (got_phone, got_mobile) == (landline, cell), (phone, mobile, found)


@given(st.lists(st.one_of(st.none(), _emails()),
                min_size=1, max_size=25))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_email_columns_match_scalar_functions(raw):
    from abm.normalize.contact import contact_rules, is_free_mail, normalize_email, registrable_domain

    cr = RULES.view(contact_rules)
    df = pl.DataFrame({"card_id": [f"C{i}" for i in range(len(raw))], "email": raw},
                      schema={"card_id": pl.Utf8, "email": pl.Utf8})
    out = normalize_records({"cards": df}, RULES)
    for value, email, domain, free in zip(raw, out["email"], out["email_domain"], out["is_free_mail"], strict=True):
        want = normalize_email(value)
        host = want.split("@")[-1] if want is not None else None
        want_domain = registrable_domain(host, cr) if host is not None else None
        want_free = is_free_mail(host, cr) if host is not None else None
        assert (email, domain, free) == (want, want_domain, want_free), value


_DATE_TEXT = st.sampled_from(["2024-01-05", "2024/1/5", "2024-01-05T10:00:00", "2024-02-30", "bad", "", " 2024-1-5 ",
                              "2024.12.31", "2024-1-5 09:00", "24-01-05", "２０２４-01-05"])


@given(st.lists(st.one_of(st.none(), _DATE_TEXT, st.text(max_size=12)), max_size=40))
@settings(max_examples=80, deadline=None)
def test_parse_dates_once_per_distinct_value_equals_every_value(raw):
    """Parsing distinct strings and joining back (the repeated-dates path) gives the per-value answer."""
    from abm.normalize.values import _parse_dates

    s = pl.Series("when", raw, dtype=pl.Utf8)
    got = parse_dates(s)
    assert got.name == "when" and got.dtype == pl.Date
    assert got.to_list() == _parse_dates(s).to_list()
