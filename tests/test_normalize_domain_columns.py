"""abm.normalize.domain_columns: the table-speed registrable domain and free-mail flag equal
``registrable_domain`` and ``is_free_mail`` value by value, on plain and hostile values."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.normalize.contact import contact_rules, is_free_mail, registrable_domain
from abm.normalize.domain_columns import domain_columns
from abm.rules import load_rules

CR = load_rules(validate=False).view(contact_rules)

LABELS = ["www", "mail", "yamada-denki", "foo", "a", "x1", "co", "ne", "or", "jp", "com", "gmail", "docomo",
          "ezweb", "yahoo", "tokyo", "ac", "go", "lg", "-bad", "bad-", "1", "xn--eckwd4c7c", "a" * 64,
          "ＣＯ", "ｊｐ", "Example", "日本", "", " "]
SEPS = [".", ".", ".", "..", "@", ":", ":8080", "/", "?", "#", " ", "\u3000", "．", "\x00", "\n"]
SCHEMES = ["", "", "https://", "http://", "mailto:", "ftp+x://", "HTTPS://", "//", "1http://"]
TAILS = ["", "", "/", "/about?x=1#top", ":443/", ".", "..", "/a@b", "?q=a.b.co.jp"]


@st.composite
def values(draw: st.DrawFn) -> str:
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=6))
    out = labels[0]
    for label in labels[1:]:
        out += draw(st.sampled_from(SEPS)) + label
    return draw(st.sampled_from(SCHEMES)) + out + draw(st.sampled_from(TAILS))


#: every listed suffix and free-mail domain, with and without labels in front
LISTED = sorted(CR.public_suffixes | CR.free_mail)
KNOWN = [f"{p}{d}" for d in LISTED for p in ("", "x.", "www.x.", "a.b.c.")]


def _columns(vals: list[str | None]) -> list[tuple[object, ...]]:
    df = domain_columns(pl.DataFrame({"v": vals}, schema={"v": pl.Utf8}), "v", CR, "d", "f")
    return list(df.select("d", "f").iter_rows())


def _reference(vals: list[str | None]) -> list[tuple[object, ...]]:
    return [(None, None) if v is None else (registrable_domain(v, CR), is_free_mail(v, CR)) for v in vals]


@pytest.mark.parametrize("value, domain, free", [
    ("www.yamada-denki.co.jp", "yamada-denki.co.jp", False),
    ("https://www.yamada-denki.co.jp/about", "yamada-denki.co.jp", False),
    ("mail.foo.com", "foo.com", False),
    ("gmail.com", "gmail.com", True),
    ("co.jp", None, False),
    ("HTTP://WWW.X.CO.JP:8080/a", "x.co.jp", False),
    ("localhost", None, False),
    (None, None, None),
])
def test_known_values(value: str | None, domain: str | None, free: bool | None) -> None:
    assert _columns([value]) == [(domain, free)] == _reference([value])


def test_every_listed_domain() -> None:
    assert _columns(KNOWN) == _reference(KNOWN)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(values(), st.none(), st.text(max_size=20)), max_size=20))
def test_equals_the_per_value_functions(vals: list[str | None]) -> None:
    assert _columns(vals) == _reference(vals)


def test_domain_only() -> None:
    df = domain_columns(pl.DataFrame({"v": ["www.x.co.jp", None]}), "v", CR, "d")
    assert df.columns == ["v", "d"] and df.get_column("d").to_list() == ["x.co.jp", None]
