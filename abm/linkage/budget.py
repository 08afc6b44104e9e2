"""Pair budgets: how many candidate pairs a blocking rule, and a whole spec, may produce.

Blocking is counted before it is run: per rule, a group-by on its keys gives every block's size
n, and a block yields n·(n-1)/2 pairs — or, above the rule's ``max_block``, about ``window``·n
(sorted neighbourhood). A rule whose count exceeds its budget is either windowed further (its
``max_block`` lowered to the largest value that fits, logged) or, with ``over_budget: error``,
stops the run before any pair is built, with an error naming the rule, its count and the fix.
The spec-wide budget is checked as each rule's pairs arrive, so memory stays bounded whatever
the spec says.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from abm.errors import RulesError

if TYPE_CHECKING:
    from abm.linkage.spec import BlockingRule, LinkageSpec

log = logging.getLogger(__name__)

#: defaults when a spec does not say (about 40 bytes per scored pair: 20 M pairs ≈ 0.8 GB)
MAX_PAIRS_PER_RULE = 20_000_000
MAX_PAIRS = 50_000_000
OVER_BUDGET = ("window", "error")


class PairBudgetError(RulesError):
    """A blocking rule (or the whole spec) would produce more candidate pairs than its budget."""


def windowed_pairs(sizes: np.ndarray, window: int) -> np.ndarray:
    """Pairs a sorted-neighbourhood window yields in blocks of ``sizes`` (each row paired with its
    next ``window`` neighbours)."""
    n = sizes.astype(np.float64)
    w = float(window)
    return np.where(n > w, w * n - w * (w + 1) / 2, n * (n - 1) / 2)


def planned_pairs(sizes: np.ndarray, max_block: int, window: int) -> int:
    """Pairs a rule yields for blocks of ``sizes``: all pairs up to ``max_block``, a window above."""
    n = sizes.astype(np.float64)
    full = n * (n - 1) / 2
    return int(np.where(n <= max_block, full, windowed_pairs(sizes, window)).sum())


def rule_budget(rule: BlockingRule, spec: LinkageSpec) -> int:
    return rule.max_pairs if rule.max_pairs is not None else spec.max_pairs_per_rule


def _fitted_max_block(sizes: np.ndarray, rule: BlockingRule, budget: int) -> int | None:
    """The largest max_block (≤ the declared one) whose pairs fit ``budget``; None if none does."""
    n = np.sort(sizes.astype(np.float64))
    n = n[n > 1]
    full = n * (n - 1) / 2
    win = windowed_pairs(n, rule.window)
    cum_full = np.r_[0.0, np.cumsum(full)]
    cum_win = np.r_[0.0, np.cumsum(win)]
    # cut j: blocks [0, j) keep every pair, [j, end) are windowed; valid where sizes change
    j = np.arange(len(n) + 1)
    total = cum_full[j] + (cum_win[-1] - cum_win[j])
    valid = np.r_[True, n[1:] > n[:-1], True] if len(n) else np.array([True])
    cap = np.r_[0.0, n] <= rule.max_block   # the cut's max_block may not exceed the declared one
    ok = np.flatnonzero(valid & cap & (total <= budget))
    if ok.size == 0:
        return None
    best = int(ok.max())
    return int(n[best - 1]) if best > 0 else 1


def fit_rule(rule: BlockingRule, sizes: np.ndarray, spec: LinkageSpec) -> tuple[BlockingRule, int]:
    """``rule`` fitted to its pair budget, and the pairs it will yield (counted, not built)."""
    budget = rule_budget(rule, spec)
    planned = planned_pairs(sizes, rule.max_block, rule.window)
    log.info("blocking %s rule %s: %d blocks, %d pairs planned (max_block %d, budget %d)",
             spec.name, rule.name, len(sizes), planned, rule.max_block, budget)
    if planned <= budget:
        return rule, planned
    fix = (f"give rule {rule.name!r} a more selective key, lower its max_block (now {rule.max_block}) or window "
           f"(now {rule.window}), or raise its max_pairs")
    if spec.over_budget == "error":
        raise PairBudgetError(spec.source, f"blocking.{rule.name}",
                              f"rule {rule.name!r} would produce {planned:,} candidate pairs, over its budget of "
                              f"{budget:,} (over_budget: error); to fix this, {fix}, or set over_budget: window")
    fitted = _fitted_max_block(sizes, rule, budget)
    if fitted is None:
        raise PairBudgetError(spec.source, f"blocking.{rule.name}",
                              f"rule {rule.name!r} would produce {planned:,} candidate pairs, over its budget of "
                              f"{budget:,}, even with every block windowed; to fix this, {fix}")
    new = replace(rule, max_block=fitted)
    now = planned_pairs(sizes, fitted, rule.window)
    log.warning("blocking %s rule %s: %d pairs planned, over its budget of %d: max_block lowered from %d to %d "
                "(%d pairs)", spec.name, rule.name, planned, budget, rule.max_block, fitted, now)
    return new, now


def check_total(spec: LinkageSpec, rule: BlockingRule, total: int) -> None:
    """Stop as soon as the pairs built so far exceed the spec-wide budget."""
    if total > spec.max_pairs:
        raise PairBudgetError(spec.source, f"blocking.{rule.name}",
                              f"the candidate pairs reach {total:,} with rule {rule.name!r}, over the spec's budget "
                              f"of {spec.max_pairs:,} (max_pairs); to fix this, make that rule or an earlier one "
                              f"more selective (lower max_block or max_pairs), or raise max_pairs")
