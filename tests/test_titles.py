"""Job titles -> rank (abm.normalize.titles)."""

from __future__ import annotations

import copy
from pathlib import Path

import polars as pl
import pytest

from abm.errors import RulesError
from abm.normalize.titles import default_titles, title_rank, title_ranks, title_rules
from abm.rules import Rules, load_rules

TITLES = [
    # 9 .. 1 per the contract's table, Japanese and English
    ("代表取締役社長", 9), ("社長", 9), ("CEO", 9), ("会長", 9), ("President", 9), ("代表取締役", 9),
    ("Representative Director & CEO", 9), ("Chief Executive Officer", 9),
    ("専務", 8), ("常務取締役", 8), ("取締役", 8), ("Director", 8), ("CTO", 8), ("CFO", 8), ("CIO", 8),
    ("Chief Technology Officer", 8), ("副社長", 8), ("Managing Director", 8),
    ("執行役員", 7), ("VP", 7), ("Vice President", 7), ("Senior Vice President", 7), ("常務執行役員", 7),
    ("本部長", 6), ("事業部長", 6), ("統括部長", 6), ("営業本部長", 6),
    ("部長", 5), ("室長", 5), ("所長", 5), ("センター長", 5), ("General Manager", 5), ("Head of Sales", 5),
    ("営業部長", 5), ("社長室長", 5),
    ("次長", 4), ("部長代理", 4), ("副部長", 4), ("営業部 部長代理", 4), ("担当部長", 4),
    ("課長", 3), ("グループリーダー", 3), ("Manager", 3), ("Sales Manager", 3), ("ﾏﾈｰｼﾞｬｰ", 3),
    ("マネ－ジャー", 3), ("マネ一ジャー", 3),
    ("係長", 2), ("主任", 2), ("主査", 2), ("チームリーダー", 2), ("課長代理", 2), ("Team Leader", 2),
    ("担当", 1), ("Staff", 1), ("一般", 1), ("エンジニア", 1), ("社長秘書", 1), ("社長室", 1), ("営業代表", 1),
    # compound titles take the highest
    ("取締役 兼 営業本部長", 8), ("執行役員 営業本部長", 7), ("営業本部長兼第一営業部長", 6),
    ("部長 / CTO", 8), ("取締役副社長", 8), ("Director, Head of Sales", 8),
    # blank states no rank; unreadable is 0
    ("", 0), ("   ", 0), ("-", 0), ("不明", 0), ("????", 0), ("Ã¥Â–Â¶æ¥­", 0), ("\ufffd\ufffd", 0),
]


@pytest.mark.parametrize(("title", "rank"), TITLES)
def test_title_rank(title: str, rank: int) -> None:
    assert title_rank(title) == rank


def test_title_rank_none_and_explicit_rules() -> None:
    assert title_rank(None) == 0
    assert title_rank("部長", default_titles()) == 5


def test_deputy_is_not_the_head_longest_match_wins() -> None:
    # 部長代理 contains 部長 but is the deputy; 副部長 likewise
    assert title_rank("部長代理") < title_rank("部長")
    assert title_rank("第一営業部部長代理") == 4
    assert title_rank("副部長") == 4


def test_title_ranks_series_once_per_unique_value() -> None:
    s = pl.Series("title", ["部長", None, "部長", "CEO", ""])
    assert title_ranks(s).to_list() == [5, 0, 5, 9, 0]




def _rules() -> Rules:
    """A private, editable copy of the project's rules documents."""
    loaded = load_rules(validate=False)
    return Rules(root=Path(loaded.root), documents=copy.deepcopy(loaded.documents))


def test_bad_title_rule_names_file_and_key() -> None:
    rules = _rules()
    rules.documents["titles.yaml"]["patterns"][0]["rank"] = 12
    with pytest.raises(RulesError) as err:
        title_rules(rules)
    assert err.value.key == "patterns[0].rank" and err.value.file.endswith("titles.yaml")


def test_bad_regex_names_file_and_key() -> None:
    rules = _rules()
    rules.documents["titles.yaml"]["patterns"].append({"rank": 3, "regex": ["(unclosed"]})
    with pytest.raises(RulesError, match="regex"):
        title_rules(rules)
