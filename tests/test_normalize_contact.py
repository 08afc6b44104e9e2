"""abm.normalize.contact: e-mail, domains, free mail, phones, 法人番号, postal codes, prefectures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize.contact import (
    contact_rules,
    corporate_number_check_digit,
    is_free_mail,
    is_valid_corporate_number,
    normalize_corporate_number,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    postal_code_from_address,
    prefecture,
    prefecture_from_postal,
    registrable_domain,
)
from abm.rules import load_rules

RULES = load_rules(validate=False)
CR = RULES.view(contact_rules)
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
CONTACT_TEXT = st.lists(st.sampled_from(list("0123456789０１２-－ー()（） +@.ａabcx〒内線") + ["co.jp", "www.", "http://", "/"]),
                        max_size=20).map("".join)


@pytest.mark.parametrize(("raw", "expected"), [
    (" Taro.Yamada@Yamada-Denki.CO.JP ", "taro.yamada@yamada-denki.co.jp"),
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "taro@example.com"),
    ("mailto:a@b.com", "a@b.com"),
    ("山田 <yamada@x.jp>", "yamada@x.jp"),
    ("a@b.com; c@d.com", "a@b.com"),
    ("taro @ example.com", "taro@example.com"),
    ("a@b", None), ("a@@b.com", None), ("foo", None), ("a..b@x.com", None), ("a@x..com", None), ("", None), (None, None),
])
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://www.yamada-denki.co.jp/about", "yamada-denki.co.jp"),
    ("mail.foo.com", "foo.com"),
    ("taro@mail.yamada.co.jp", "yamada.co.jp"),
    ("HTTP://WWW.ABC.COM", "abc.com"),
    ("example.com:8080/x?y=1", "example.com"),
    ("www.example.co.uk", "example.co.uk"),
    ("http://192.168.0.1/", None),
    ("localhost", None),
    ("co.jp", None),
    ("", None), (None, None),
])
def test_registrable_domain(raw, expected):
    assert registrable_domain(raw, CR) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("taro@gmail.com", True), ("yahoo.co.jp", True), ("x@docomo.ne.jp", True), ("x@ezweb.ne.jp", True),
    ("x@i.softbank.jp", True), ("x@icloud.com", True), ("x@mail.yahoo.co.jp", True), ("outlook.jp", True),
    ("x@yamada-denki.co.jp", False), ("notgmail.com", False), ("softbank.jp", False), (None, False),
])
def test_is_free_mail(raw, expected):
    assert is_free_mail(raw, CR) is expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("03-1234-5678", ("0312345678", "landline")),
    ("090-1234-5678", ("09012345678", "mobile")),
    ("080 1234 5678", ("08012345678", "mobile")),
    ("070-1234-5678", ("07012345678", "mobile")),
    ("+81 90 1234 5678", ("09012345678", "mobile")),
    ("+81-3-1234-5678", ("0312345678", "landline")),
    ("０３（１２３４）５６７８", ("0312345678", "landline")),
    ("(03)1234-5678", ("0312345678", "landline")),
    ("03-1234-5678 内線123", ("0312345678", "landline")),
    ("03-1234-5678 / 090-1111-2222", ("0312345678", "landline")),
    ("0120-123-456", ("0120123456", "landline")),
    ("050-1234-5678", ("05012345678", "landline")),
    ("020-1234-5678", ("02012345678", "landline")),
    ("+1 415 555 0123", ("+14155550123", "landline")),
    ("12", (None, None)), ("abc", (None, None)), ("", (None, None)), (None, (None, None)),
])
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


def test_corporate_number():
    assert corporate_number_check_digit("000012050002") == 7
    for valid in ("7000012050002", "1180301018771", "5010401067252"):  # 国税庁, トヨタ自動車, ソニーグループ
        assert is_valid_corporate_number(valid), valid
    assert normalize_corporate_number("７０００－０１２０５－０００２") == ("7000012050002", False)
    assert normalize_corporate_number("7000012050002.0") == ("7000012050002", False)
    assert normalize_corporate_number("7000012050003") == (None, True)   # wrong check digit
    assert normalize_corporate_number("700001205000") == (None, True)    # 12 digits
    assert normalize_corporate_number("7.00001E+12") == (None, True)     # Excel mangled
    assert normalize_corporate_number("") == (None, False)
    assert normalize_corporate_number(None) == (None, False)


def test_check_digit_matches_definition():
    base = "123456789012"
    total = sum(int(d) * (1 if i % 2 else 2) for i, d in enumerate(reversed(base), start=1))
    assert corporate_number_check_digit(base) == 9 - total % 9
    assert is_valid_corporate_number(str(9 - total % 9) + base)


@pytest.mark.parametrize(("raw", "expected"), [
    ("〒100-0001", "1000001"), ("１００－０００１", "1000001"), ("1000001", "1000001"), ("100 0001", "1000001"),
    ("12345678", None), ("abc", None), (None, None),
])
def test_postal_code(raw, expected):
    assert normalize_postal_code(raw) == expected


def test_postal_code_from_address():
    assert postal_code_from_address("〒100-0001 東京都千代田区") == "1000001"
    assert postal_code_from_address("東京都千代田区1-2-3") is None


@pytest.mark.parametrize(("address", "expected"), [
    ("東京都千代田区丸の内1-1", "東京都"),
    ("〒100-0001 東京都千代田区", "東京都"),
    ("東京千代田区", "東京都"),
    ("東京", "東京都"),
    ("大阪市北区梅田", "大阪府"),          # X市 with X a prefecture name is in X
    ("京都市中京区", "京都府"),
    ("北海道札幌市", "北海道"),
    ("神奈川県横浜市", "神奈川県"),
    ("横浜市西区", "神奈川県"),            # a unique city name
    ("福島区海老江", None),                # Osaka's ward, not 福島県
    ("京都郡苅田町", None),                # in Fukuoka
    ("石川町", None),
    ("港区芝公園", None),                  # 港区 exists in Tokyo, Osaka and Nagoya
    ("", None), (None, None),
])
def test_prefecture(address, expected):
    assert prefecture(address, CR) == expected


def test_prefecture_from_postal():
    assert prefecture("港区芝公園", CR, "105-0011") == "東京都"
    assert prefecture_from_postal("530-0001", CR) == "大阪府"
    assert prefecture_from_postal("060-0001", CR) == "北海道"
    assert prefecture_from_postal("900-0001", CR) == "沖縄県"
    assert prefecture("大阪府大阪市", CR, "100-0001") == "大阪府"   # the address wins
    assert prefecture_from_postal(None, CR) is None


@settings(max_examples=150, deadline=None)
@given(st.one_of(ANY_TEXT, CONTACT_TEXT))
def test_properties(s):
    email = normalize_email(s)
    assert normalize_email(email) == email
    dom = registrable_domain(s, CR)
    assert registrable_domain(dom, CR) == dom
    is_free_mail(s, CR)
    digits, kind = normalize_phone(s)
    assert (digits is None) == (kind is None)
    if digits:
        assert normalize_phone(digits) == (digits, kind)
    code = normalize_postal_code(s)
    assert normalize_postal_code(code) == code
    num, bad = normalize_corporate_number(s)
    assert not (num and bad)
    prefecture(s, CR, s)
    postal_code_from_address(s)


def test_invoice_registration_number_gives_the_corporate_number():
    from abm.normalize.contact import normalize_corporate_number

    assert normalize_corporate_number("T7000012050002") == ("7000012050002", False)
    assert normalize_corporate_number("Ｔ-7000012050002") == ("7000012050002", False)
    assert normalize_corporate_number("T7000012050003") == (None, True)
