"""Resolution rules around the engine: lone web forms placed through the person who filled them in."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.resolve import _place_lone_web_forms, stable_id, stable_ids


def _rec(key: str, kind: str, account: str, company: str, person: str | None, free: bool = False) -> dict:
    return {"record_key": key, "kind": kind, "account_id": account, "company_key": company,
            "company_romaji": None, "person_name_key": person, "name_romaji": None,
            "has_person": person is not None, "is_free_mail": free}


def test_a_web_form_naming_a_shared_company_name_follows_its_person():
    frame = pl.DataFrame([
        _rec("cards:1", "cards", "A_tokyo", "東洋興業", "山田太郎"),
        _rec("cards:2", "cards", "A_osaka", "東洋興業", "佐藤花子"),
        _rec("ma_leads:1", "ma_leads", "A_lone1", "東洋興業", "山田太郎", free=True),
        _rec("ma_leads:2", "ma_leads", "A_lone2", "東洋興業", "鈴木一郎", free=True),   # nobody knows him
        _rec("ma_activities:1", "ma_activities", "A_lone1", None, None),
    ])
    moves = _place_lone_web_forms(frame)
    # the move carries its evidence: the record of that person in the account, and the key matched
    assert moves.to_dicts() == [{"record_key": "ma_leads:1", "moved_to": "A_tokyo", "evidence_key": "cards:1",
                                 "matched_on": "person_name_key"}]


def test_a_person_known_in_both_candidates_moves_nothing():
    frame = pl.DataFrame([
        _rec("cards:1", "cards", "A_tokyo", "東洋興業", "山田太郎"),
        _rec("cards:2", "cards", "A_osaka", "東洋興業", "山田太郎"),
        _rec("ma_leads:1", "ma_leads", "A_lone", "東洋興業", "山田太郎", free=True),
    ])
    assert _place_lone_web_forms(frame).height == 0


def test_a_web_form_with_a_corporate_address_is_not_lone():
    frame = pl.DataFrame([
        _rec("cards:1", "cards", "A_tokyo", "東洋興業", "山田太郎"),
        _rec("ma_leads:1", "ma_leads", "A_own", "東洋興業", "山田太郎", free=False),
    ])
    assert _place_lone_web_forms(frame).height == 0


def test_a_placed_web_form_shows_in_abm_explain(tmp_path):
    from abm.explain import EVIDENCE_DIR, explain, write_evidence
    from abm.linkage.engine import link
    from abm.linkage.spec import parse_spec

    spec = parse_spec({"name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
                       "comparisons": [{"name": "v", "column": "v", "levels": [{"kind": "exact"}]}]}, "t.yaml")
    empty = link(pl.DataFrame({"id": ["a", "b"], "v": ["x", "y"]}), spec)
    moves = pl.DataFrame([{"record_key": "ma_leads:1", "moved_to": "A_tokyo", "evidence_key": "cards:1",
                           "matched_on": "person_name_key"}])
    write_evidence(tmp_path, empty, empty, moves=moves)
    assert (tmp_path / EVIDENCE_DIR / "account_links.parquet").exists()
    pl.DataFrame([{"record_key": "ma_leads:1", "account_id": "A_tokyo", "person_id": None, "kind": "ma_leads",
                   "source_file": "ma_leads.csv", "row_number": 1, "account_score": None, "person_score": None}]
                 ).write_parquet(tmp_path / "records.parquet")
    text = explain(tmp_path, "ma_leads:1")
    assert "ma_leads:1 ~ cards:1: linked; rule web_form_same_person:person_name_key" in text


def test_a_switchboard_is_told_from_direct_lines():
    from abm.resolve import with_switchboard

    records = pl.DataFrame({
        "record_key": ["acc", "c1", "c2", "c3", "c4"], "account_id": ["A"] * 5,
        "has_person": [False, True, True, True, True],
        "person_name_key": [None, "山田太郎", "山田太郎", "佐藤花子", "鈴木一郎"],
        # the account's number; Yamada's direct line twice; Sato and Suzuki both give 03-9999
        "phone": ["0311110000", "0311112222", "0311112222", "0399990000", "0399990000"],
    })
    units = with_switchboard(records.filter(pl.col("has_person")), records)
    assert units["phone_shared"].to_list() == [False, False, True, True]
    with_main = with_switchboard(records.with_columns(pl.lit("0311112222").alias("phone")).filter(
        pl.col("has_person")), records.with_columns(pl.lit("0311112222").alias("phone")))
    assert with_main["phone_shared"].all()


@pytest.mark.parametrize("keys", [[], [None], ["cards:1", None, "crm_accounts:ｱ漢字", "cards:1", ""]])
def test_stable_ids_are_sha1_of_the_anchor_key(keys):
    expected = [None if k is None else "P" + hashlib.sha1(k.encode("utf-8")).hexdigest()[:12] for k in keys]
    series = pl.Series("anchor", keys, dtype=pl.Utf8)
    assert stable_ids("P", series).to_list() == expected
    assert pl.DataFrame({"anchor": series}).select(stable_id("P", pl.col("anchor"))).to_series().to_list() == expected


def test_lone_web_forms_read_only_their_columns():
    """The wide records' other columns (some named like the helper's own) change no move."""
    rows = [_rec("cards:1", "cards", "A_tokyo", "東洋興業", "山田太郎"),
            _rec("cards:2", "cards", "A_osaka", "東洋興業", "佐藤花子"),
            _rec("ma_leads:1", "ma_leads", "A_lone1", "東洋興業", "山田太郎", free=True)]
    narrow = pl.DataFrame(rows)
    wide = narrow.with_columns(pl.lit("x").alias("candidate"), pl.lit(1).alias("k"), pl.lit("y").alias("email"))
    assert _place_lone_web_forms(wide).equals(_place_lone_web_forms(narrow))
    assert _place_lone_web_forms(narrow).height == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40), st.sampled_from(["A", "P", "'x"]))
def test_stable_ids_in_a_batch_are_hashlib_sha1_key_by_key(keys, prefix):
    """DuckDB's ``sha1`` over the batch gives, row for row, what ``hashlib`` gives each key."""
    expected = [None if k is None else prefix + hashlib.sha1(k.encode("utf-8")).hexdigest()[:12] for k in keys]
    got = stable_ids(prefix, pl.Series("anchor", keys, dtype=pl.Utf8))
    assert got.name == "anchor" and got.dtype == pl.Utf8
    assert got.to_list() == expected
