"""rules/policy.yaml -> Policy (abm.detect.policy)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from abm.detect.policy import Policy, detect_policy
from abm.errors import RulesError
from abm.rules import Rules, load_rules


def _rules() -> Rules:
    loaded = load_rules(validate=False)
    return Rules(root=Path(loaded.root), documents=copy.deepcopy(loaded.documents))


def test_project_policy_is_the_contract_default() -> None:
    assert detect_policy(_rules()) == Policy()
    assert Policy().collision_window_days == 90 and Policy().engagement_window_days == 180
    assert Policy().engaged_min_touches == 3


def test_excluded_internal_departments_are_normalised() -> None:
    rules = _rules()
    rules.documents["policy.yaml"]["excluded_internal_departments"] = ["ﾏｰｹﾃｨﾝｸﾞ部", "第1営業部"]
    assert detect_policy(rules).excluded_internal_departments == frozenset({"マーケティング部", "第一営業部"})


@pytest.mark.parametrize(("section", "key", "value", "where"), [
    ("collision", "window_days", -1, "collision.window_days"),
    ("collision", "window_days", "90", "collision.window_days"),
    ("collision", "min_internal_departments", 1, "collision.min_internal_departments"),
    ("gaps", "engaged_min_touches", None, "gaps.engaged_min_touches"),
    ("gaps", "decision_maker_rank", 11, "gaps.decision_maker_rank"),
])
def test_bad_policy_names_the_key(section: str, key: str, value: object, where: str) -> None:
    rules = _rules()
    rules.documents["policy.yaml"][section][key] = value
    with pytest.raises(RulesError) as err:
        detect_policy(rules)
    assert err.value.key == where and err.value.file.endswith("policy.yaml")


def test_bad_severity_names_the_level() -> None:
    rules = _rules()
    rules.documents["policy.yaml"]["collision"]["severity_by_level"]["person"] = "urgent"
    with pytest.raises(RulesError, match="severity_by_level.person"):
        detect_policy(rules)
