"""Contact data: e-mail, registrable domain, free mail, phone, 法人番号, postal code, prefecture.

Rules: ``free_mail.txt``, ``contact.yaml`` (multi-label public suffixes), ``prefectures.yaml``.
All functions are pure and never raise; the ones that need rules accept a ``Rules`` or the parsed
``ContactRules``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import phonenumbers

from abm.errors import RulesError
from abm.normalize.text import clean, strip_controls
from abm.rules import Rules, require, string_list

FREE_MAIL_FILE = "free_mail.txt"
CONTACT_FILE = "contact.yaml"
PREFECTURE_FILE = "prefectures.yaml"

_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$")


@dataclass(frozen=True)
class ContactRules:
    free_mail: frozenset[str]
    public_suffixes: frozenset[str]
    prefectures: tuple[str, ...]
    #: prefecture name without 都/府/県 -> full name (北海道 has none)
    short_prefectures: Mapping[str, str]
    cities: Mapping[str, str]
    #: (first, last) 3-digit postal prefix -> prefecture
    postal_ranges: tuple[tuple[int, int, str], ...]


def contact_rules(rules: Rules) -> ContactRules:
    """Parse and validate ``free_mail.txt``, ``contact.yaml`` and ``prefectures.yaml``."""
    ffile, cfile, pfile = rules.path(FREE_MAIL_FILE), rules.path(CONTACT_FILE), rules.path(PREFECTURE_FILE)
    free = string_list(rules.doc(FREE_MAIL_FILE), ffile, "<lines>")
    for d in free:
        if not _DOMAIN.match(d.lower()):
            raise RulesError(ffile, d, "not a domain name")
    suffixes = string_list(require(rules.doc(CONTACT_FILE), "public_suffixes", list, cfile), cfile, "public_suffixes")
    for s in suffixes:
        if "." not in s or not _DOMAIN.match(s.lower()):
            raise RulesError(cfile, f"public_suffixes.{s}", "expected a multi-label suffix such as co.jp")
    pdoc = rules.doc(PREFECTURE_FILE)
    prefs = string_list(require(pdoc, "prefectures", list, pfile), pfile, "prefectures")
    if len(set(prefs)) != 47 or not all(p[-1] in "都道府県" for p in prefs):
        raise RulesError(pfile, "prefectures", "expected the 47 prefecture names, each ending in 都/道/府/県")
    short = {p[:-1]: p for p in prefs if p[-1] in "都府県"}
    cities = require(pdoc, "cities", dict, pfile)
    for city, pref in cities.items():
        if not isinstance(city, str) or pref not in prefs:
            raise RulesError(pfile, f"cities.{city}", "expected a city name mapped to one of the 47 prefectures")
    ranges = []
    for span, pref in require(pdoc, "postal_ranges", dict, pfile).items():
        m = re.fullmatch(r"(\d{3})-(\d{3})", str(span))
        if not m or pref not in prefs or int(m.group(1)) > int(m.group(2)):
            raise RulesError(pfile, f"postal_ranges.{span}", "expected 'NNN-NNN: <prefecture>'")
        ranges.append((int(m.group(1)), int(m.group(2)), pref))
    return ContactRules(
        free_mail=frozenset(d.lower() for d in free), public_suffixes=frozenset(s.lower() for s in suffixes),
        prefectures=prefs, short_prefectures=MappingProxyType(short), cities=MappingProxyType(dict(cities)),
        postal_ranges=tuple(sorted(ranges)),
    )


def _view(rules: Rules | ContactRules) -> ContactRules:
    return rules if isinstance(rules, ContactRules) else rules.view(contact_rules)


def _nfkc(s: str | None) -> str:
    if s is None:
        return ""
    try:
        return unicodedata.normalize("NFKC", strip_controls(str(s)))
    except Exception:
        return ""


# --- e-mail and domains ----------------------------------------------------------------------

#: an already clean, lower-case address: normalize_email returns it unchanged (vectorised fast path)
PLAIN_EMAIL = (r"^[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
               r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$")
PLAIN_POSTAL = r"^[0-9]{3}-?[0-9]{4}$"
_EMAIL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.\-]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]")


def normalize_email(raw: str | None) -> str | None:
    """Lower-cased address, or None when nothing e-mail shaped is there. Full-width characters,
    ``mailto:``, angle brackets and stray spaces are handled; of several addresses the first wins."""
    s = _nfkc(raw).lower().replace("mailto:", " ")
    s = re.sub(r"\s*@\s*", "@", s)
    for m in _EMAIL.finditer(s):
        local, _, host = m.group(0).partition("@")
        local = local.strip(".")
        if local and ".." not in local and len(m.group(0)) <= 254 and _DOMAIN.match(host):
            return f"{local}@{host}"
    return None


def _host(value: str | None) -> str | None:
    s = _nfkc(value).strip().lower()
    if not s:
        return None
    if "@" in s and "/" not in s.split("@", 1)[0]:
        email = normalize_email(s)
        return email.rsplit("@", 1)[1] if email else None
    s = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", s)
    s = re.split(r"[/?#\s]", s, maxsplit=1)[0]
    s = s.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    return s if _DOMAIN.match(s) else None


def registrable_domain(value: str | None, rules: Rules | ContactRules) -> str | None:
    """Registrable domain of an e-mail address or URL: scheme, ``www.``, sub-domains and path
    dropped, multi-label suffixes kept (``https://www.yamada-denki.co.jp/about`` →
    ``yamada-denki.co.jp``; ``mail.foo.com`` → ``foo.com``). IP addresses and junk → None."""
    cr = _view(rules)
    host = _host(value)
    if host is None:
        return None
    labels = host.split(".")
    if len(labels) < 2 or host in cr.public_suffixes:
        return None
    keep = 2
    for n in range(len(labels) - 1, 1, -1):
        if ".".join(labels[-n:]) in cr.public_suffixes:
            keep = n + 1
            break
    return ".".join(labels[-keep:]) if len(labels) >= keep else None


def is_free_mail(value: str | None, rules: Rules | ContactRules) -> bool:
    """True for an address or domain of a free/carrier mail service (sub-domains included)."""
    cr = _view(rules)
    host = _host(value)
    if host is None:
        return False
    labels = host.split(".")
    return any(".".join(labels[i:]) in cr.free_mail for i in range(len(labels) - 1))


# --- phone -----------------------------------------------------------------------------------

MOBILE_PREFIXES = ("070", "080", "090")
#: separators dropped before the fast path; a plain 10/11-digit national number needs no parsing
PHONE_NOISE = r"[\s\-()‐‑–—―−ー.]"
JP_DIGITS = r"0[1-9][0-9]{8,9}"
#: "+81 3-…", "+81 (0)3-…", "+81 03-…" → "03-…"
INTL_JP = r"^\+81[\s\-]*(?:\(0\)|0)?"
_PHONE_NOISE = re.compile(PHONE_NOISE)
_INTL_JP = re.compile(INTL_JP)
_JP_DIGITS = re.compile(JP_DIGITS)
EXTENSION = r"(?i)(?:内線|ext\.?|x|\(内\)|#).*$"
_EXTENSION = re.compile(EXTENSION)


def normalize_phone(raw: str | None) -> tuple[str | None, str | None]:
    """(number, kind) with kind ``"mobile"`` (070/080/090) or ``"landline"`` (anything else: 03…,
    050 IP phones, 0120 toll-free, 020 M2M). Japanese numbers are national digits (``0312345678``,
    also from ``+81 3-1234-5678``); foreign ones E.164 (``+14155550123``). Extensions are dropped;
    of several numbers the first wins. Unusable → (None, None)."""
    s = _nfkc(raw)
    fast = _PHONE_NOISE.sub("", _INTL_JP.sub("0", _EXTENSION.sub("", s).strip()))
    if _JP_DIGITS.fullmatch(fast):
        return _fallback(fast)
    s = _EXTENSION.sub("", re.split(r"[/,;、，]|\s{2,}", s.strip(), maxsplit=1)[0]) if s.strip() else ""
    if not re.search(r"\d", s) or len(s) > 64:
        return None, None
    try:
        num = phonenumbers.parse(s, "JP")
    except phonenumbers.NumberParseException:
        return _fallback(s)
    if not phonenumbers.is_possible_number(num):
        return _fallback(s)
    if num.country_code == 81:
        digits = "0" + str(num.national_number)
        return (digits, phone_kind(digits)) if _JP_DIGITS.fullmatch(digits) else (None, None)
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), "landline"


def _fallback(s: str) -> tuple[str | None, str | None]:
    digits = re.sub(r"[^0-9]", "", s)
    if _JP_DIGITS.fullmatch(digits):
        return digits, phone_kind(digits)
    return None, None


def phone_kind(digits: str) -> str:
    """``mobile`` for an 11-digit 070/080/090 number, else ``landline``."""
    return "mobile" if len(digits) == 11 and digits.startswith(MOBILE_PREFIXES) else "landline"


# --- 法人番号 ------------------------------------------------------------------------------------

def corporate_number_check_digit(base12: str) -> int:
    """Check digit of a 法人番号 from its 12 base digits: 9 − (Σ digit × (1 if i odd else 2)) mod 9,
    i counted from the right, 1..12."""
    total = sum(int(d) * (1 if i % 2 else 2) for i, d in enumerate(reversed(base12), start=1))
    return 9 - total % 9


def is_valid_corporate_number(s: str | None) -> bool:
    return bool(s) and re.fullmatch(r"[1-9]\d{12}", s or "") is not None and (
        int(s[0]) == corporate_number_check_digit(s[1:])  # type: ignore[index]
    )


def normalize_corporate_number(raw: str | None) -> tuple[str | None, bool]:
    """(13-digit 法人番号 with a valid check digit, or None; True when a value was given but is invalid).

    Hyphens, spaces, full-width digits, an Excel ``.0`` tail and the ``T`` of an invoice
    registration number (適格請求書発行事業者登録番号 = T + 法人番号) are tolerated."""
    s = _nfkc(raw).strip()
    if not s:
        return None, False
    s = re.sub(r"\.0+$", "", s)
    s = re.sub(r"^[Tt]\s*-?\s*", "", s)
    digits = re.sub(r"[\s\-‐ー]", "", s)
    if is_valid_corporate_number(digits):
        return digits, False
    return None, True


# --- postal code and prefecture ----------------------------------------------------------------

_POSTAL = re.compile(r"(?<!\d)(\d{3})\s*[-ー‐−]?\s*(\d{4})(?!\d)")


def normalize_postal_code(raw: str | None) -> str | None:
    """7 digits from ``〒100-0001``, ``１００－０００１``, ``1000001``; else None."""
    s = _nfkc(raw).replace("〒", " ").strip()
    m = _POSTAL.search(s)
    return m.group(1) + m.group(2) if m else None


def postal_code_from_address(address: str | None) -> str | None:
    """A postal code written at the start of an address (``〒100-0001 東京都…``)."""
    s = _nfkc(address).strip()
    m = re.match(r"^(?:〒|郵便番号)?\s*(\d{3})\s*[-ー‐−]\s*(\d{4})(?!\d)|^〒\s*(\d{7})(?!\d)", s)
    if not m:
        return None
    return (m.group(1) + m.group(2)) if m.group(1) else m.group(3)


def prefecture(address: str | None, rules: Rules | ContactRules, postal_code: str | None = None) -> str | None:
    """Prefecture of an address: its full name at the start; the name without 都/府/県 where that
    is unambiguous (not before 区/町/村/郡: 大阪市北区 → 大阪府, but 福島区 is not 福島県); a city with a
    unique name (横浜市 → 神奈川県); else from the postal code's first three digits."""
    cr = _view(rules)
    s = clean(address) or ""
    s = re.sub(r"^(?:〒|郵便番号)?\s*\d{3}\s*[-ー]?\s*\d{4}\s*", "", s).lstrip("〒 ")
    s = re.sub(r"^日本(?:国)?\s*", "", s)
    if s:
        for pref in cr.prefectures:
            if s.startswith(pref):
                return pref
        for short, pref in cr.short_prefectures.items():
            if s.startswith(short):
                nxt = s[len(short): len(short) + 1]
                if nxt not in ("区", "町", "村", "郡"):
                    return pref
        for city, pref in cr.cities.items():
            if s.startswith(city):
                return pref
    return prefecture_from_postal(postal_code, cr)


def prefecture_from_postal(postal_code: str | None, rules: Rules | ContactRules) -> str | None:
    """Prefecture of a postal code from its first three digits (``prefectures.yaml`` ranges)."""
    cr = _view(rules)
    code = normalize_postal_code(postal_code)
    if code:
        head = int(code[:3])
        for lo, hi, pref in cr.postal_ranges:
            if lo <= head <= hi:
                return pref
    return None
