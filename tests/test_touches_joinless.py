"""Touches and persons set each record's counterpart beside it instead of hash-joining on record_key,
and drop a touch repeated on its record's day by a rule instead of a hash pass (issue 14): the same
frames as the joins and the ``unique`` they replace, whatever the keys (repeated, missing, reordered)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.detect.current import current_persons
from abm.detect.touches import (
    _TOUCH_INPUTS,
    TOUCH_KINDS,
    TOUCH_SCHEMA,
    build_touches,
    counterparts,
    is_open_opportunity,
    keys_once,
    with_counterparts,
    with_dates,
)
from tests.test_detect_frames import AS_OF, make_records


def _old_touches(records: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """build_touches as it was: a hash join on record_key, then ``unique`` over (record_key, touched_on)."""
    recs = with_dates(records.select(c for c in records.columns if c in _TOUCH_INPUTS))
    recs = (recs.filter(pl.col("kind").is_in(TOUCH_KINDS) & pl.col("makes_touch").fill_null(True))
            .join(counterparts(recs), on="record_key", how="left")
            .with_columns(is_open_opportunity(as_of).alias("is_open_opportunity")))
    sources = [
        recs.with_columns(pl.col("record_date").alias("touched_on"), pl.lit("record_date").alias("date_source")),
        recs.filter(pl.col("kind") == "crm_contacts").with_columns(
            pl.col("last_activity_on").alias("touched_on"), pl.lit("last_activity_on").alias("date_source")),
        recs.filter(pl.col("is_open_opportunity")).with_columns(
            pl.lit(as_of).alias("touched_on"), pl.lit("open_on_as_of").alias("date_source")),
    ]
    touches = (pl.concat([s.select(
        "account_id", pl.col("counterpart_person_id").alias("person_id"), "counterpart_department",
        "internal_department", pl.col("touched_on").cast(pl.Date), "record_key", "kind", "owner_name", "product",
        "stage", "amount", "is_open_opportunity", "date_source") for s in sources])
        .filter(pl.col("touched_on").is_not_null() & (pl.col("touched_on") <= as_of))
        .unique(["record_key", "touched_on"], keep="first", maintain_order=True)
        .sort(["account_id", "touched_on", "record_key", "date_source"], nulls_last=True))
    return touches.cast(TOUCH_SCHEMA)  # type: ignore[arg-type]


_DAYS = st.one_of(st.none(), st.integers(-3, 3).map(lambda n: AS_OF + timedelta(days=n)))
_KINDS = st.sampled_from([*TOUCH_KINDS, "ma_leads", "crm_accounts"])
_IDS = st.sampled_from(["1", "2", "3", "4"])   # few ids: repeated record keys and references that hit


@st.composite
def _row(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(_KINDS)
    return {
        "kind": kind, "source_id": draw(_IDS), "record_date": draw(_DAYS), "last_activity_on": draw(_DAYS),
        "account_id": draw(st.sampled_from(["A", "B", None])), "person_id": draw(st.sampled_from(["P1", "P2", None])),
        "department": draw(st.sampled_from(["営業部", "総務部", None])),
        "internal_department": draw(st.sampled_from(["第一営業部", "第二営業部", None])),
        "is_closed": draw(st.sampled_from([True, False, None])), "makes_touch": draw(st.sampled_from([True, False, None])),
        "contact_ref": f"crm_contacts:{draw(_IDS)}", "account_ref": f"ma_leads:{draw(_IDS)}",
        "rank": draw(st.integers(0, 3)), "amount": draw(st.sampled_from([None, 1.0, 2.5])),
    }


_WORLDS = st.lists(_row(), max_size=14)


@settings(max_examples=150, deadline=None)
@given(_WORLDS)
def test_touches_equal_the_joined_and_deduplicated_ones(rows: list[dict[str, Any]]) -> None:
    records = make_records(rows)
    expected = _old_touches(records, AS_OF)
    assert build_touches(records, AS_OF).equals(expected)
    assert build_touches(records, AS_OF, counterparts(records)).equals(expected)


@settings(max_examples=150, deadline=None)
@given(_WORLDS, st.randoms(use_true_random=False))
def test_counterparts_beside_equal_the_join(rows: list[dict[str, Any]], rnd: Any) -> None:
    records = make_records(rows)
    about = counterparts(records)
    shuffled = about.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 2**31)) if about.height else about
    for given_about in (about, shuffled, about.head(max(about.height - 1, 0))):
        joined = records.join(given_about, on="record_key", how="left")
        beside = with_counterparts(records, given_about)
        assert beside.columns == joined.columns
        assert beside.sort(pl.all(), nulls_last=True).equals(joined.sort(pl.all(), nulls_last=True))
    assert current_persons(records, AS_OF, about=about).equals(current_persons(records, AS_OF))


def test_keys_once_needs_every_key_present_and_distinct() -> None:
    cases = [(["a", "b"], True), (["a", "a"], False), (["a", None], False), ([], True)]
    for keys, once in cases:
        assert keys_once(pl.DataFrame({"record_key": keys}, schema={"record_key": pl.String})) is once
