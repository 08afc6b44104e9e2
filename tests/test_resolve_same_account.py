"""resolve._same_account: a person must-link across two accounts is refused, one within an account
kept — looked up for the constrained units only, equal to the former dict over every unit."""

from __future__ import annotations

import polars as pl
import pytest

from abm.constraints import CONSTRAINT_SCHEMA, Constraints
from abm.resolve import _same_account

UNITS = pl.DataFrame({"record_key": ["r1", "r2", "r3", "r4", "r5"],
                      "account_id": ["A1", "A1", "A2", None, "A2"]})


def _constraints(musts: dict[int, tuple[str, str]], cannots: dict[int, tuple[str, str]]) -> Constraints:
    def table(pairs: dict[int, tuple[str, str]]) -> pl.DataFrame:
        return pl.DataFrame([(a, b, f"override {n}") for n, (a, b) in pairs.items()], schema=CONSTRAINT_SCHEMA,
                            orient="row")
    return Constraints(must=table(musts), cannot=table(cannots), stale={}, units_of=musts | cannots)


def _reference(constraints: Constraints, units: pl.DataFrame) -> set[int]:
    """The overrides the former implementation refused (a dict of every unit's account)."""
    account = dict(units.select("record_key", "account_id").iter_rows())
    musts = set(constraints.must.get_column("override").to_list())
    return {n for n, (a, b) in constraints.units_of.items()
            if f"override {n}" in musts and account.get(a) != account.get(b)}


CASES = [
    ("none", {}, {}, set()),
    ("same account kept", {1: ("r1", "r2")}, {}, set()),
    ("across accounts refused", {1: ("r1", "r3")}, {}, {1}),
    ("a unit without account", {1: ("r4", "r1")}, {}, {1}),
    ("a key that is no unit", {1: ("r1", "zz")}, {}, {1}),
    ("cannot-links never refused", {}, {2: ("r1", "r3")}, set()),
    ("mixed", {1: ("r3", "r5"), 3: ("r2", "r5")}, {2: ("r1", "r3")}, {3}),
]


@pytest.mark.parametrize(("musts", "cannots", "refused"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_same_account(musts, cannots, refused) -> None:
    constraints = _constraints(musts, cannots)
    out = _same_account(constraints, UNITS)
    assert set(out.refused) == refused == _reference(constraints, UNITS)
    assert set(out.units_of) == set(constraints.units_of) - refused
    assert set(out.must.get_column("override").to_list()) == {f"override {n}" for n in musts if n not in refused}
    assert out.cannot.equals(constraints.cannot)
