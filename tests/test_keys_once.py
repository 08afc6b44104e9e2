"""``keys_once`` reads sorted keys by their neighbours and ``counterparts`` drops repeated keys only
when there are some (issue 14): the same answers as hashing every key."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.detect.touches import counterparts, keys_once


def _hashed(keys: list[str | None]) -> bool:
    series = pl.Series("record_key", keys, dtype=pl.String)
    return series.null_count() == 0 and series.n_unique() == series.len()


@pytest.mark.parametrize("keys", [[], ["a"], ["a", "a"], ["a", "b"], ["b", "a"], ["b", "a", "b"], ["a", None],
                                  [None], ["a", "b", "b"], ["b", "a", "a"], ["", "a"], ["a", "ab", "b"]])
def test_keys_once_cases(keys: list[str | None]) -> None:
    assert keys_once(pl.DataFrame({"record_key": keys}, schema={"record_key": pl.String})) == _hashed(keys)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["", "a", "ab", "b", "c1", "c10", "c2"])), max_size=8),
       st.booleans())
def test_keys_once_sorted_or_not(keys: list[str | None], sort: bool) -> None:
    frame = pl.DataFrame({"record_key": keys}, schema={"record_key": pl.String})
    if sort:
        frame = frame.sort("record_key")
    assert keys_once(frame) == _hashed(keys)


def _counterparts_unique(records: pl.DataFrame) -> pl.DataFrame:
    """counterparts as it was: the targets always made unique by key."""
    ref = pl.coalesce(pl.when(pl.col("kind") == "crm_opportunities").then(pl.col("contact_ref")),
                      pl.when(pl.col("kind") == "ma_activities").then(pl.col("account_ref")))
    targets = records.select(pl.col("record_key").alias("_ref"), pl.col("person_id").alias("_ref_person"),
                             pl.col("department").alias("_ref_department")).unique("_ref", keep="first")
    return (records.select("record_key", "person_id", "department", ref.alias("_ref"))
            .join(targets, on="_ref", how="left", maintain_order="left")
            .select("record_key", pl.coalesce("_ref_person", "person_id").alias("counterpart_person_id"),
                    pl.when(pl.col("_ref").is_not_null()).then(pl.coalesce("_ref_department", "department"))
                    .otherwise(pl.col("department")).alias("counterpart_department")))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["k1", "k2", "k3", "o1", "a1"]),
                          st.sampled_from(["crm_contacts", "crm_opportunities", "ma_activities", "ma_leads"]),
                          st.one_of(st.none(), st.sampled_from(["k1", "k2", "x"])),
                          st.one_of(st.none(), st.sampled_from(["P1", "P2"])),
                          st.one_of(st.none(), st.sampled_from(["営業部", "総務部"]))), max_size=8), st.booleans())
def test_counterparts_with_and_without_repeated_keys(rows: list[tuple[str, str, str | None, str | None, str | None]],
                                                      sort: bool) -> None:
    records = pl.DataFrame([{"record_key": k, "kind": kind, "contact_ref": ref if kind == "crm_opportunities" else None,
                             "account_ref": ref if kind == "ma_activities" else None, "person_id": p, "department": d}
                            for k, kind, ref, p, d in rows],
                           schema={"record_key": pl.String, "kind": pl.String, "contact_ref": pl.String,
                                   "account_ref": pl.String, "person_id": pl.String, "department": pl.String})
    if sort:
        records = records.sort("record_key")
    assert counterparts(records).equals(_counterparts_unique(records))
