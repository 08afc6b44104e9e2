"""The cross-script company reading: a Latin-letter name and its Japanese name share one key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize.reading import company_gist
from abm.rules import load_rules

RULES = load_rules()

SAME = [
    ("Alpha Software", "アルファソフトウェア"),        # loan word read by e2k, business word as a group
    ("HanshinChuo Steel", "阪神中央工業"),            # run-together romaji; Steel renders 工業 too
    ("Hanshin Chuo Kogyo", "阪神中央鉄鋼"),           # romanised business word
    ("Asahi Logistics", "旭物流"),
    ("Miyamoto Medical", "宮本メディカル"),
    ("Global Communications", "グローバル通信"),       # long vowel written or not
    ("Sakura Trading", "桜物産"),                      # Trading is 商事 or 物産
    ("Sakura Trading", "桜商事"),
    ("Sanei Precision", "三栄精密"),
    ("Nishinihon Denki Systems", "西日本電気システムズ"),
]
DIFFERENT = [
    ("Alpha Software", "アルファ電機"),
    ("Sakura Trading", "桜電機"),
    ("Miyamoto Medical", "宮本物流"),
    ("Yamada Denki", "山口電機"),
]


@pytest.mark.parametrize(("latin", "japanese"), SAME)
def test_latin_and_japanese_names_of_one_company_share_the_reading(latin, japanese):
    assert company_gist(latin, RULES) == company_gist(japanese, RULES)


@pytest.mark.parametrize(("latin", "japanese"), DIFFERENT)
def test_different_companies_keep_different_readings(latin, japanese):
    assert company_gist(latin, RULES) != company_gist(japanese, RULES)


@pytest.mark.parametrize("value", [None, "", "   ", "株式会社", "!!!", "a" * 500, "\u0000"])
def test_never_raises(value):
    company_gist(value, RULES)


def _strip_reference(head: str, japanese: tuple[tuple[str, str], ...]) -> tuple[str, list[str]]:
    """The business-word stripping as first written: every key tried in ``japanese``'s order."""
    tail: list[str] = []
    stripped = True
    while stripped:
        stripped = False
        for key, label in japanese:
            if head.endswith(key) and len(head) - len(key) >= 2:
                tail.insert(0, label)
                head = head[: -len(key)]
                stripped = True
                break
    return head, tail


def test_business_words_stripped_as_by_the_key_loop() -> None:
    """``company_gist`` probes the end of a name once per key length; the answer is the one the
    loop over every key gives, on names made of business words, their parts and short heads."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from abm.normalize.reading import _fold, reading_rules

    rr = RULES.view(reading_rules)
    keys = [k for k, _ in rr.japanese]
    pieces = st.sampled_from([*keys, *(k[:3] for k in keys), *(k[-2:] for k in keys), "a", "yamada", "o", ""])

    @settings(max_examples=400, deadline=None)
    @given(st.lists(pieces, min_size=1, max_size=5).map("".join).filter(bool))
    def check(romaji: str) -> None:
        head, tail = _strip_reference(_fold(romaji, rr.folds), rr.japanese)
        assert company_gist("山田", rr, romaji) == ((head + "".join(tail)) or None)

    check()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("Alpha Steel山田電機アルファ ｱﾙﾌｧ Co.-&ー\u3000\x00") | st.characters(), max_size=16),
       st.one_of(st.none(), st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=10)))
def test_gist_of_a_name_without_loan_words_ignores_the_loans(name, rom):
    """The normalize stage reads the gist of a non-Latin name in the company-key workers, before the
    loan-word readings exist: for such a name they must not matter (``needs_loans``)."""
    from abm.normalize.reading import needs_loans, reading_rules

    rr = RULES.view(reading_rules)
    if not needs_loans(name):
        assert company_gist(name, rr, rom) == company_gist(name, rr, rom, {"alpha": "zzz", "steel": "qqq"})
