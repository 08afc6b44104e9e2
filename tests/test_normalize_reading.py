"""The cross-script company reading: a Latin-letter name and its Japanese name share one key."""

from __future__ import annotations

import pytest

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
