"""Touches (abm.detect.touches) and current persons (abm.detect.current)."""

from __future__ import annotations

from datetime import date

import polars as pl

from abm.contract import OUTPUTS
from abm.detect.current import current_persons
from abm.detect.touches import build_touches
from tests.test_detect_frames import AS_OF, activity, card, contact, d, ma_lead, make_records, opportunity


def _touch_dates(touches: pl.DataFrame, key: str) -> list[date]:
    return touches.filter(pl.col("record_key") == key).get_column("touched_on").sort().to_list()


def test_touch_table_has_contract_columns_first() -> None:
    touches = build_touches(make_records([card("C1", "A", "P", "営業部", "第一営業部", "2025-06-01")]), AS_OF)
    assert tuple(touches.columns[:8]) == OUTPUTS["touches"]
    assert {"kind", "product", "is_open_opportunity"} <= set(touches.columns)


def test_each_kind_touches_on_its_dates() -> None:
    records = make_records([
        card("C1", "A", "P1", "営業部", "第一営業部", "2025-06-01"),
        contact("K1", "A", "P1", "営業部", "第二営業部", "2025-01-10", last_activity_on="2025-05-05"),
        contact("K2", "A", "P2", "総務部", "第二営業部", "2025-02-02", last_activity_on="2025-02-02"),
        {"kind": "crm_leads", "source_id": "L1", "account_id": "A", "person_id": "P3", "department": "人事部",
         "internal_department": "第三営業部", "record_date": "2025-03-03"},
        ma_lead("M1", "A", "P4", "情報システム部", "2025-01-01"),
        activity("X1", "A", "M1", "P4", "マーケティング部", "2025-04-04"),
        {"kind": "crm_accounts", "source_id": "A1", "account_id": "A", "record_date": "2025-01-01"},
    ])
    touches = build_touches(records, AS_OF)
    assert _touch_dates(touches, "cards:C1") == [d("2025-06-01")]
    assert _touch_dates(touches, "crm_contacts:K1") == [d("2025-01-10"), d("2025-05-05")]
    assert _touch_dates(touches, "crm_contacts:K2") == [d("2025-02-02")]   # same day: one touch
    assert _touch_dates(touches, "crm_leads:L1") == [d("2025-03-03")]
    assert _touch_dates(touches, "ma_leads:M1") == []                      # an MA lead itself is no touch
    assert _touch_dates(touches, "crm_accounts:A1") == []
    act = touches.filter(pl.col("record_key") == "ma_activities:X1").row(0, named=True)
    # an activity's counterpart is its lead's person and department
    assert (act["person_id"], act["counterpart_department"], act["internal_department"]) == \
        ("P4", "情報システム部", "マーケティング部")


def test_open_opportunity_touches_on_as_of_closed_does_not() -> None:
    records = make_records([
        contact("K1", "A", "P1", "営業本部/第一営業部", "第一営業部", "2024-01-01"),
        opportunity("O1", "A", "K1", "第二営業部", "2025-05-01", closed=False, product="X"),
        opportunity("O2", "A", "K1", "第三営業部", "2025-05-02", closed=True, product="X"),
        opportunity("O3", "A", "K1", "第三営業部", "2025-08-01", closed=False),      # created after as-of
        opportunity("O4", "A", None, "第四営業部", "2025-05-03", closed=False),      # no contact: account only
    ])
    touches = build_touches(records, AS_OF)
    assert _touch_dates(touches, "crm_opportunities:O1") == [d("2025-05-01"), AS_OF]
    assert _touch_dates(touches, "crm_opportunities:O2") == [d("2025-05-02")]
    assert _touch_dates(touches, "crm_opportunities:O3") == []
    o1 = touches.filter(pl.col("record_key") == "crm_opportunities:O1")
    # counterpart = the contact's person and the department written on the contact
    assert o1.get_column("person_id").unique().to_list() == ["P1"]
    assert o1.get_column("counterpart_department").unique().to_list() == ["営業本部/第一営業部"]
    assert o1.get_column("is_open_opportunity").all()
    o4 = touches.filter(pl.col("record_key") == "crm_opportunities:O4").row(0, named=True)
    assert o4["person_id"] is None and o4["counterpart_department"] is None and o4["account_id"] == "A"


def test_touches_after_as_of_and_rows_without_owner_are_ignored() -> None:
    records = make_records([
        card("C1", "A", "P", "営業部", "第一営業部", "2025-07-01"),
        card("C2", "A", "P", "営業部", None, "2025-06-01", makes_touch=False),
        card("C3", "A", "P", "営業部", "第一営業部", None),
    ])
    assert build_touches(records, AS_OF).height == 0


def test_dates_given_as_iso_strings_are_read() -> None:
    records = make_records([card("C1", "A", "P", "営業部", "第一営業部", "2025-06-01")])
    as_text = records.with_columns(pl.col("record_date").cast(pl.String))
    assert build_touches(as_text, AS_OF).get_column("touched_on").to_list() == [d("2025-06-01")]


def test_current_person_uses_latest_record_that_states_it() -> None:
    records = make_records([
        card("C1", "A", "P1", "営業部", "第一営業部", "2025-01-10", rank=5, title="部長",
             person_name="山田 太郎"),
        # moved department later; the blank title states no rank, so rank stays 5
        contact("K1", "A", "P1", "経営企画部", "第二営業部", "2025-05-20", rank=0, title=None),
        card("C2", "A", "P1", None, "第三営業部", "2025-06-01", rank=0),       # no department stated
        opportunity("O1", "A", "K1", "第四営業部", "2025-06-02"),
        ma_lead("M1", "A", "P1", "営業部", "2024-01-01"),
        activity("X1", "A", "M1", "P1", "マーケティング部", "2025-02-02"),
    ])
    person = current_persons(records).row(0, named=True)
    assert tuple(current_persons(records).columns[:6]) == OUTPUTS["persons"]
    assert person["department"] == "経営企画部"
    assert (person["rank"], person["title"], person["name"]) == (5, "部長", "山田 太郎")
    # known through every record about them, opportunities and MA activities included
    assert person["known_through"] == ["マーケティング部", "第一営業部", "第三営業部", "第二営業部", "第四営業部"]
    assert person["known_since"] == d("2024-01-01")


def test_person_without_any_rank_is_zero_and_known_through_empty() -> None:
    records = make_records([card("C1", "A", "P9", "営業部", None, "2025-01-10")])
    person = current_persons(records).row(0, named=True)
    assert person["rank"] == 0 and person["title"] is None and person["known_through"] == []


def test_current_state_as_of_a_date_and_only_from_dated_records() -> None:
    records = make_records([
        card("C1", "A", "P1", "営業部", None, "2025-01-10", rank=3),
        card("C2", "A", "P1", "経営企画部", None, "2025-08-01", rank=5),   # after the as-of date
        card("C3", "A", "P1", "総務部", None, None, rank=8),                # undated: states nothing
    ])
    assert current_persons(records).row(0, named=True)["department"] == "経営企画部"
    as_of = current_persons(records, AS_OF).row(0, named=True)
    assert (as_of["department"], as_of["rank"]) == ("営業部", 3)


def test_unknown_is_closed_is_not_an_open_opportunity() -> None:
    records = make_records([contact("K1", "A", "P1", "営業部", None, "2024-01-01"),
                            opportunity("O1", "A", "K1", "第一営業部", "2025-05-01", closed=None)])
    assert _touch_dates(build_touches(records, AS_OF), "crm_opportunities:O1") == [d("2025-05-01")]
