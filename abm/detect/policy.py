"""Collision and key-person-gap policy (rules/policy.yaml) as one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from abm.errors import RulesError
from abm.rules import require, string_list

_FILE = "policy.yaml"
#: Collision severities, most severe first (the one place that orders them).
SEVERITIES = ("critical", "high", "medium", "low")
#: severity -> sort rank (0 = most severe); an unknown severity sorts after every known one.
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
LEVELS = ("person", "department", "account")


@dataclass(frozen=True)
class Policy:
    collision_window_days: int = 90
    min_internal_departments: int = 2
    severity_by_level: dict[str, str] = field(
        default_factory=lambda: {"person": "high", "department": "medium", "account": "low"})
    critical_open_opportunity_departments: int = 2
    critical_same_product_departments: int = 2
    engagement_window_days: int = 180
    engaged_min_touches: int = 3
    holder_window_days: int = 180
    decision_maker_rank: int = 5
    account_decision_maker_rank: int = 7
    excluded_internal_departments: frozenset[str] = frozenset()   # normalised names


MAX_COUNT = 36_500   # a window wider than a century overflows date arithmetic
_DEFAULT = Policy()   # the defaults above are the only ones: policy.yaml may leave these keys out


def _count(section: dict[str, Any], name: str, file: str, prefix: str, default: int | None = None) -> int:
    """A non-negative integer at ``prefix.name``; a RulesError naming that key otherwise."""
    value = section.get(name, default)
    if value is None:
        raise RulesError(file, f"{prefix}.{name}", "required key is missing")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RulesError(file, f"{prefix}.{name}", "expected a non-negative integer")
    if value > MAX_COUNT:  # a window wider than a century overflows date arithmetic
        raise RulesError(file, f"{prefix}.{name}", f"expected at most {MAX_COUNT}")
    return value


def detect_policy(rules: Any) -> Policy:
    """Parse and validate policy.yaml (a RulesError names the file and key)."""
    from abm.normalize.departments import department_rules, normalize_internal_department

    doc, file = rules.doc(_FILE), rules.path(_FILE)
    if not isinstance(doc, dict):
        raise RulesError(file, "<file>", "expected a mapping with collision and gaps sections")
    col = require(doc, "collision", dict, file)
    gaps = require(doc, "gaps", dict, file)
    by_level = require(col, "severity_by_level", dict, file)
    for level in LEVELS:
        if by_level.get(level) not in SEVERITIES:
            raise RulesError(file, f"collision.severity_by_level.{level}", f"expected one of {SEVERITIES}")
    critical = col.get("critical_when") or {}
    if not isinstance(critical, dict):
        raise RulesError(file, "collision.critical_when", "expected a mapping")
    crit = "collision.critical_when"   # 0 (or absent) switches a critical rule off
    excluded = string_list(doc.get("excluded_internal_departments") or [], file, "excluded_internal_departments")
    departments = rules.view(department_rules)
    policy = Policy(
        collision_window_days=_count(col, "window_days", file, "collision"),
        min_internal_departments=_count(col, "min_internal_departments", file, "collision", _DEFAULT.min_internal_departments),
        severity_by_level={k: str(by_level[k]) for k in LEVELS},
        critical_open_opportunity_departments=_count(critical, "open_opportunity_departments", file, crit, 0),
        critical_same_product_departments=_count(critical, "same_product_departments", file, crit, 0),
        engagement_window_days=_count(gaps, "engagement_window_days", file, "gaps"),
        engaged_min_touches=_count(gaps, "engaged_min_touches", file, "gaps"),
        holder_window_days=_count(gaps, "holder_window_days", file, "gaps", _DEFAULT.holder_window_days),
        decision_maker_rank=_count(gaps, "decision_maker_rank", file, "gaps", _DEFAULT.decision_maker_rank),
        account_decision_maker_rank=_count(gaps, "account_decision_maker_rank", file, "gaps",
                                           _DEFAULT.account_decision_maker_rank),
        excluded_internal_departments=frozenset(
            d for e in excluded if (d := normalize_internal_department(e, departments)) is not None),
    )
    if policy.min_internal_departments < 2:
        raise RulesError(file, "collision.min_internal_departments", "a collision needs at least 2 departments")
    for key in ("decision_maker_rank", "account_decision_maker_rank"):
        if not 0 <= getattr(policy, key) <= 9:
            raise RulesError(file, f"gaps.{key}", "expected a rank 0-9")
    return policy
