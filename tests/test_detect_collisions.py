"""社内バッティング detection (abm.detect.collisions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import polars as pl

from abm.contract import OUTPUTS
from abm.detect.collisions import detect_collisions
from abm.detect.policy import Policy
from abm.detect.touches import build_touches
from abm.normalize.departments import normalize_internal_department
from tests.test_detect_frames import AS_OF, card, contact, make_records, opportunity

POLICY = Policy()


def _days_ago(n: int) -> str:
    return (AS_OF - timedelta(days=n)).isoformat()


def _collide(rows: list[dict[str, Any]], policy: Policy = POLICY) -> pl.DataFrame:
    records = make_records(rows)
    return detect_collisions(build_touches(records, AS_OF), records, policy, AS_OF)


def _levels(collisions: pl.DataFrame) -> list[tuple[str, str | None, str | None]]:
    return [(r["level"], r["counterpart_department"], r["person_id"]) for r in collisions.iter_rows(named=True)]


def test_person_collision_with_evidence_and_window() -> None:
    out = _collide([
        card("C1", "A", "P1", "営業部", "第一営業部", _days_ago(10)),
        card("C2", "A", "P1", "営業部", "第二営業部", _days_ago(5)),
    ])
    assert tuple(out.columns[:10]) == OUTPUTS["collisions"][1:11]
    assert _levels(out) == [("person", "営業部", "P1")]   # department and account are covered by it
    row = out.row(0, named=True)
    assert row["internal_departments"] == ["第一営業部", "第二営業部"]
    assert row["evidence"] == ["cards:C1", "cards:C2"]
    assert (row["window_start"], row["window_end"]) == (AS_OF - timedelta(days=90), AS_OF)
    assert row["severity"] == "high"


def test_window_is_inclusive_90_in_91_out() -> None:
    base = card("C1", "A", "P1", "営業部", "第一営業部", AS_OF.isoformat())
    at_90 = _collide([base, card("C2", "A", "P1", "営業部", "第二営業部", _days_ago(90))])
    at_91 = _collide([base, card("C2", "A", "P1", "営業部", "第二営業部", _days_ago(91))])
    assert _levels(at_90) == [("person", "営業部", "P1")]
    assert at_91.height == 0


def test_internal_department_spelled_two_ways_is_one_department() -> None:
    ours = [normalize_internal_department(s) for s in ("第1営業部", "第一 営業部")]
    out = _collide([card("C1", "A", "P1", "営業部", ours[0], _days_ago(3)),
                    card("C2", "A", "P1", "営業部", ours[1], _days_ago(2))])
    assert out.height == 0


def test_empty_internal_department_does_not_count() -> None:
    out = _collide([card("C1", "A", "P1", "営業部", "第一営業部", _days_ago(3)),
                    card("C2", "A", "P1", "営業部", None, _days_ago(2)),
                    card("C3", "A", "P1", "営業部", "", _days_ago(1))])
    assert out.height == 0


def test_person_who_moved_departments_inside_the_window() -> None:
    out = _collide([
        card("C1", "A", "P1", "営業部", "第一営業部", _days_ago(60)),
        contact("K1", "A", "P1", "経営企画部", "第二営業部", _days_ago(10)),
    ])
    # the same person: a person-level collision, named with their current department;
    # no department saw two of our departments, and the account is covered by the person
    assert _levels(out) == [("person", "経営企画部", "P1")]


def test_department_level_suppressed_when_a_person_covers_it() -> None:
    out = _collide([
        card("C1", "A", "P1", "営業部", "第一営業部", _days_ago(10)),
        card("C2", "A", "P1", "営業部", "第二営業部", _days_ago(9)),
        card("C3", "A", "P2", "営業部", "第一営業部", _days_ago(8)),
    ])
    assert _levels(out) == [("person", "営業部", "P1")]


def test_department_level_reported_when_not_covered() -> None:
    out = _collide([
        card("C1", "A", "P1", "営業部", "第一営業部", _days_ago(10)),
        card("C2", "A", "P1", "営業部", "第二営業部", _days_ago(9)),
        card("C3", "A", "P2", "営業部", "第三営業部", _days_ago(8)),
        card("C4", "A", None, "営業部", "第一営業部", _days_ago(7)),   # no person: the department only
    ])
    assert _levels(out) == [("person", "営業部", "P1"), ("department", "営業部", None)]
    dept = out.row(1, named=True)
    assert dept["internal_departments"] == ["第一営業部", "第三営業部", "第二営業部"]
    assert dept["evidence"] == ["cards:C1", "cards:C2", "cards:C3", "cards:C4"]
    assert dept["severity"] == "medium"


def test_department_collision_without_any_person() -> None:
    out = _collide([card("C1", "A", None, "総務部", "第一営業部", _days_ago(10)),
                    card("C2", "A", None, "総務部", "第二営業部", _days_ago(9))])
    assert _levels(out) == [("department", "総務部", None)]


def test_account_level_suppressed_when_a_department_covers_it() -> None:
    out = _collide([card("C1", "A", "P1", "営業部", "第一営業部", _days_ago(10)),
                    card("C2", "A", "P2", "営業部", "第二営業部", _days_ago(9))])
    assert _levels(out) == [("department", "営業部", None)]


def test_account_level_reported_across_departments() -> None:
    out = _collide([
        card("C1", "A", "P1", "営業部", "第一営業部", _days_ago(10)),
        card("C2", "A", "P2", "総務部", "第二営業部", _days_ago(9)),
        card("C3", "A", None, None, "第三営業部", _days_ago(8)),          # account only
        card("C4", "B", "P9", "営業部", "第一営業部", _days_ago(8)),        # another account
    ])
    assert _levels(out) == [("account", None, None)]
    row = out.row(0, named=True)
    assert row["account_id"] == "A" and row["severity"] == "low"
    assert row["internal_departments"] == ["第一営業部", "第三営業部", "第二営業部"]


def test_critical_when_two_departments_hold_open_opportunities() -> None:
    out = _collide([
        contact("K1", "A", "P1", "営業部", "第一営業部", "2020-01-01"),
        opportunity("O1", "A", "K1", "第一営業部", "2024-01-01", closed=False, product="X"),
        opportunity("O2", "A", "K1", "第二営業部", "2024-02-01", closed=False, product="Y"),
    ])
    row = out.row(0, named=True)
    assert (row["level"], row["severity"]) == ("person", "critical")
    assert row["open_opportunity_departments"] == ["第一営業部", "第二営業部"]
    assert row["products"] == ["X", "Y"]
    assert row["evidence"] == ["crm_opportunities:O1", "crm_opportunities:O2"]


def test_critical_when_the_same_product_comes_from_two_departments() -> None:
    out = _collide([
        contact("K1", "A", "P1", "営業部", None, "2020-01-01"),
        opportunity("O1", "A", "K1", "第一営業部", _days_ago(20), closed=True, product="X"),
        opportunity("O2", "A", "K1", "第二営業部", _days_ago(10), closed=True, product="X"),
    ])
    assert out.row(0, named=True)["severity"] == "critical"
    quiet = replace(POLICY, critical_same_product_departments=0)
    assert _collide([
        contact("K1", "A", "P1", "営業部", None, "2020-01-01"),
        opportunity("O1", "A", "K1", "第一営業部", _days_ago(20), closed=True, product="X"),
        opportunity("O2", "A", "K1", "第二営業部", _days_ago(10), closed=True, product="X"),
    ], quiet).row(0, named=True)["severity"] == "high"


def test_excluded_internal_department_does_not_count() -> None:
    rows = [card("C1", "A", "P1", "営業部", "第一営業部", _days_ago(10)),
            card("C2", "A", "P1", "営業部", "マーケティング部", _days_ago(9))]
    assert _collide(rows).height == 1
    assert _collide(rows, replace(POLICY, excluded_internal_departments=frozenset({"マーケティング部"}))).height == 0


def test_no_touches_gives_an_empty_table_with_the_columns() -> None:
    out = _collide([])
    assert out.height == 0 and tuple(out.columns[:10]) == OUTPUTS["collisions"][1:11]
    assert out.schema["internal_departments"] == pl.List(pl.String)


def test_output_order_does_not_depend_on_row_order() -> None:
    rows = [card(f"C{i}{acc}", acc, f"P{i % 3}{acc}", "営業部", f"第{i % 4 + 1}営業部", _days_ago(i))
            for i in range(12) for acc in ("A", "B")]
    assert _collide(rows).equals(_collide(list(reversed(rows))))


def test_person_without_a_current_department_has_a_null_counterpart_department() -> None:
    out = _collide([card("C1", "A", "P1", None, "第一営業部", _days_ago(10)),
                    card("C2", "A", "P1", None, "第二営業部", _days_ago(9))])
    assert _levels(out) == [("person", None, "P1")]
