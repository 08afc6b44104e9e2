"""Key-person gaps (abm.detect.gaps): engagement, no_decision_maker, hidden_key_person, single_threaded."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import polars as pl

from abm.contract import OUTPUTS
from abm.detect.current import current_persons
from abm.detect.gaps import detect_gaps
from abm.detect.policy import Policy
from abm.detect.touches import build_touches
from tests.test_detect_frames import AS_OF, card, contact, d, make_records, opportunity

POLICY = Policy()


def _days_ago(n: int) -> str:
    return (AS_OF - timedelta(days=n)).isoformat()


def _gaps(rows: list[dict[str, Any]], policy: Policy = POLICY) -> pl.DataFrame:
    records = make_records(rows)
    return detect_gaps(build_touches(records, AS_OF), current_persons(records), records, policy, AS_OF)


def _kinds(gaps: pl.DataFrame) -> list[tuple[str, str, str | None]]:
    return [(r["counterpart_department"], r["gap_type"], r["person_id"]) for r in gaps.iter_rows(named=True)]


def _three_touches(person: str = "P1", dept: str = "情報システム部", ours: str = "第一営業部",
                   rank: int = 3, first: int = 30) -> list[dict[str, Any]]:
    return [card(f"{person}-{i}", "A", person, dept, ours, _days_ago(first - i), rank=rank) for i in range(3)]


def test_no_decision_maker_and_single_threaded_on_one_department() -> None:
    out = _gaps(_three_touches())
    assert tuple(out.columns[:5]) == OUTPUTS["key_person_gaps"][1:6]
    assert _kinds(out) == [("情報システム部", "no_decision_maker", None), ("情報システム部", "single_threaded", "P1")]
    assert out.row(0, named=True)["evidence"] == ["cards:P1-0", "cards:P1-1", "cards:P1-2"]


def test_two_touches_is_not_engaged_and_window_is_inclusive() -> None:
    assert _gaps(_three_touches()[:2]).height == 0
    at_180 = _three_touches(first=180)   # touches 180, 179, 178 days ago
    assert _gaps(at_180).height == 2
    at_181 = _three_touches(first=181)   # 181 falls outside: two touches left
    assert _gaps(at_181).height == 0


def test_open_opportunity_engages_a_department() -> None:
    rows = [contact("K1", "A", "P1", "情報システム部", "第一営業部", "2020-01-01", rank=5),
            opportunity("O1", "A", "K1", "第一営業部", "2020-02-01", closed=False)]
    out = _gaps(rows)
    assert _kinds(out) == [("情報システム部", "single_threaded", "P1")]   # its one person is a decision maker
    assert "crm_opportunities:O1" in out.row(0, named=True)["evidence"]
    closed = [rows[0], opportunity("O1", "A", "K1", "第一営業部", "2020-02-01", closed=True)]
    assert _gaps(closed).height == 0


def test_rank_7_elsewhere_in_the_account_suppresses_no_decision_maker() -> None:
    rows = [*_three_touches(), card("X1", "A", "P9", "経営企画部", "第二営業部", "2019-01-01", rank=7)]
    assert _kinds(_gaps(rows)) == [("情報システム部", "single_threaded", "P1")]
    # a rank 6 elsewhere does not
    rows6 = [*_three_touches(), card("X1", "A", "P9", "経営企画部", "第二営業部", "2019-01-01", rank=6)]
    assert ("情報システム部", "no_decision_maker", None) in _kinds(_gaps(rows6))
    # nor does a rank 7 in another account
    other = [*_three_touches(), card("X1", "B", "P9", "経営企画部", "第二営業部", "2019-01-01", rank=9)]
    assert ("情報システム部", "no_decision_maker", None) in _kinds(_gaps(other))


def test_hidden_key_person_named_with_holder() -> None:
    rows = [*_three_touches("P1"), *_three_touches("P2"),
            # the department head is known only through 第九営業部, which has not touched it for a year
            card("H1", "A", "P3", "情報システム部", "第九営業部", "2024-03-01", rank=5, title="部長")]
    out = _gaps(rows)
    assert _kinds(out) == [("情報システム部", "hidden_key_person", "P3")]
    row = out.row(0, named=True)
    assert row["holder_internal_departments"] == ["第九営業部"]
    assert row["known_since"] == d("2024-03-01")
    assert "cards:H1" in row["evidence"] and "cards:P1-0" in row["evidence"]


def test_hidden_key_person_one_row_per_decision_maker_and_none_when_one_is_reached() -> None:
    base = [*_three_touches("P1"), *_three_touches("P2"),
            card("H1", "A", "P3", "情報システム部", "第九営業部", "2024-03-01", rank=5),
            card("H2", "A", "P4", "情報システム部", "第八営業部", "2023-03-01", rank=6)]
    hidden = _gaps(base)
    assert _kinds(hidden) == [("情報システム部", "hidden_key_person", "P3"),
                              ("情報システム部", "hidden_key_person", "P4")]
    # each one's evidence holds the records about them, not the other's
    p3, p4 = hidden.get_column("evidence").to_list()
    assert "cards:H1" in p3 and "cards:H2" not in p3 and "cards:H2" in p4 and "cards:H1" not in p4
    # the engaging department also holds one decision maker: nobody is hidden
    reached = [*base, card("H3", "A", "P4", "情報システム部", "第一営業部", "2022-01-01", rank=6)]
    assert _gaps(reached).height == 0


def test_people_are_those_whose_current_department_it_is() -> None:
    rows = [*_three_touches("P1"),
            # P2 was a decision maker of this department but has moved to 経営企画部
            card("M1", "A", "P2", "情報システム部", "第一営業部", "2023-01-01", rank=5),
            card("M2", "A", "P2", "経営企画部", "第一営業部", "2024-01-01", rank=5)]
    assert _kinds(_gaps(rows)) == [("情報システム部", "no_decision_maker", None),
                                   ("情報システム部", "single_threaded", "P1")]


def test_touches_without_department_or_from_excluded_departments_do_not_engage() -> None:
    rows = [card(f"C{i}", "A", None, None, "第一営業部", _days_ago(i)) for i in range(5)]
    assert _gaps(rows).height == 0
    marketing = _three_touches(ours="マーケティング部")
    assert _gaps(marketing).height == 2
    excluded = replace(POLICY, excluded_internal_departments=frozenset({"マーケティング部"}))
    assert _gaps(marketing, excluded).height == 0


def test_engaged_department_with_people_of_rank_5_has_no_gap() -> None:
    rows = [*_three_touches("P1", rank=5), *_three_touches("P2", rank=2)]
    assert _gaps(rows).height == 0


def test_empty_input_gives_the_columns() -> None:
    out = _gaps([])
    assert out.height == 0 and tuple(out.columns[:5]) == OUTPUTS["key_person_gaps"][1:6]
