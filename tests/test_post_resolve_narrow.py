"""The post-resolve stages read the wide resolved table through its few columns (issue 14): each
narrow path gives what the whole-table operation it replaces gave."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.detect.crm_duplicates import crm_duplicates
from abm.graph import _SEP as SEP
from abm.graph import _renamed, merge_unit_variants
from abm.normalize.departments import DepartmentRules, default_departments
from abm.tables import accounts_table


def _whole_join(records: pl.DataFrame, renames: pl.DataFrame, to: str) -> pl.DataFrame:
    """What the departments stages did before: a left join of the whole table."""
    return (records.join(renames, on=["account_id", "department"], how="left", maintain_order="left")
            .with_columns(pl.coalesce(to, "department").alias("department")).drop(to))


RECORDS = pl.DataFrame({
    "record_key": ["r1", "r2", "r3", "r4", "r5"],
    "account_id": ["A", "A", "B", None, "B"],
    "department": ["企画室", "営業部", "企画室", "企画室", None],
    "other": [1, 2, 3, 4, 5],
})

CASES = [
    # (renames, what the department column becomes)
    ({"account_id": ["A"], "department": ["企画室"], "_to": ["企画部"]}, ["企画部", "営業部", "企画室", "企画室", None]),
    ({"account_id": ["A", "B"], "department": ["企画室", "企画室"], "_to": ["企画部", "管理/企画室"]},
     ["企画部", "営業部", "管理/企画室", "企画室", None]),
    ({"account_id": ["C"], "department": ["企画室"], "_to": ["x"]}, ["企画室", "営業部", "企画室", "企画室", None]),
    # a null key matches nothing (an unlinked record keeps its department)
    ({"account_id": [None], "department": ["企画室"], "_to": ["x"]}, ["企画室", "営業部", "企画室", "企画室", None]),
    # one key with two targets: the rows multiply, exactly as the whole-table join does
    ({"account_id": ["A", "A"], "department": ["企画室", "企画室"], "_to": ["x", "y"]},
     ["x", "y", "営業部", "企画室", "企画室", None]),
]


@pytest.mark.parametrize(("renames", "departments"), CASES)
def test_renamed_is_the_whole_table_join(renames: dict[str, list[str | None]], departments: list[str | None]) -> None:
    frame = pl.DataFrame(renames, schema={"account_id": pl.String, "department": pl.String, "_to": pl.String})
    out = _renamed(RECORDS, frame, "_to")
    assert out.equals(_whole_join(RECORDS, frame, "_to"))
    assert out.columns == RECORDS.columns
    assert out.get_column("department").to_list() == departments


_key = st.sampled_from(["A", "B", "C", None])
_dept = st.sampled_from(["営業部", "企画室", "企画部", "a/b", None])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_key, _dept), max_size=12), st.lists(st.tuples(_key, _dept, _dept), max_size=5))
def test_renamed_matches_the_join_on_any_table(rows: list[tuple[str | None, str | None]],
                                               renames: list[tuple[str | None, str | None, str | None]]) -> None:
    records = pl.DataFrame({"account_id": [r[0] for r in rows], "department": [r[1] for r in rows],
                            "n": list(range(len(rows)))}, schema={"account_id": pl.String, "department": pl.String,
                                                                  "n": pl.Int64})
    frame = pl.DataFrame(renames, schema={"account_id": pl.String, "department": pl.String, "longest": pl.String},
                         orient="row")
    assert _renamed(records, frame, "longest").equals(_whole_join(records, frame, "longest"))


def _wide(frame: pl.DataFrame, extra: int = 40) -> pl.DataFrame:
    """``frame`` with many unrelated columns, as the resolved table has."""
    return frame.with_columns(pl.lit("x").alias(f"unused_{i}") for i in range(extra))


RESOLVED = pl.DataFrame({
    "record_key": ["k1", "k2", "k3", "k4", "k5", "k6"],
    "kind": ["crm_accounts", "crm_accounts", "cards", "crm_contacts", "crm_contacts", "ma_leads"],
    "source_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
    "account_id": ["A", "A", "A", "B", "B", None],
    "person_id": [None, None, "P1", "P2", "P2", None],
    "company_name": ["山田商事", "Yamada Shoji", "山田商事", "鈴木工業", "鈴木工業", "x"],
    "corporate_number": ["2000000000001", None, "1000000000002", None, None, None],
    "company_key": ["yamada", "yamada", "yamada", "suzuki", "suzuki", None],
    "company_domain": ["yamada.co.jp", "yamada.co.jp", None, "suzuki.jp", "suzuki.jp", None],
    "phone": ["0312345678", "0312345678", None, None, None, None],
    "postal_code": ["1000001", None, "1000001", None, None, None],
    "legal_form": ["株式会社", "株式会社", None, None, None, None],
    "prefecture": ["東京都", "東京都", "大阪府", None, None, None],
    "account_score": [0.9, float("nan"), None, 0.8, None, None],
    "is_free_mail": [False, False, None, None, None, True],
    "email": [None, None, None, "a@suzuki.jp", "a@suzuki.jp", None],
    "person_name_key": [None, None, None, "suzuki ichiro", "suzuki ichiro", None],
    "mobile": [None] * 6, "name_kana": [None] * 6,
    "record_date": ["2026-01-01", "2026-02-01", "2026-03-01", "2026-01-05", "2026-01-06", None],
    "last_activity_on": [None, "2026-05-01", None, None, None, None],
    "account_ref": [None, None, "k1", None, None, None], "contact_ref": [None] * 6,
}, schema_overrides={"mobile": pl.String, "name_kana": pl.String, "contact_ref": pl.String})


def test_accounts_and_crm_duplicates_read_only_their_columns() -> None:
    """Unrelated columns change nothing; the smallest corporate number is the account's."""
    accounts = accounts_table(RESOLVED)
    assert accounts.equals(accounts_table(_wide(RESOLVED)))
    assert accounts.filter(pl.col("account_id") == "A").get_column("corporate_number").to_list() == ["1000000000002"]
    assert accounts.filter(pl.col("account_id") == "B").get_column("corporate_number").to_list() == [None]
    duplicates = crm_duplicates(RESOLVED)
    assert duplicates.height == 2
    assert duplicates.equals(crm_duplicates(_wide(RESOLVED)))


# --- merge_unit_variants works on distinct (account, department, raw) rows with their counts ------------

def _reference_merge(records: pl.DataFrame, rules: DepartmentRules | None = None) -> pl.DataFrame:
    """merge_unit_variants as it was: the string work on every record, votes by len()."""
    dr = rules or default_departments()
    raw = "department_raw" if "department_raw" in records.columns else "department"
    rows = (records.select(*dict.fromkeys(["account_id", "department", raw]))   # narrow before filtering a wide table
            .filter(pl.col("account_id").is_not_null() & pl.col("department").is_not_null()))
    if not dr.unit_variants or rows.is_empty():
        return records
    segs = pl.col("department").str.split(SEP)
    leaf, prefix = segs.list.last(), segs.list.head(segs.list.len() - 1).list.join(SEP)
    canon_units = sorted(dr.unit_levels, key=lambda u: (-len(u), u))
    unit = pl.coalesce(pl.when(leaf.str.ends_with(u)).then(pl.lit(u)) for u in canon_units)
    rows = (rows.select("account_id", "department", pl.col(raw).alias("_raw"), leaf.alias("_leaf"),
                        prefix.alias("_prefix"), unit.alias("_unit"))
            .with_columns(pl.col("_leaf").str.head(-pl.col("_unit").str.len_chars().cast(pl.Int64)).alias("_stem")))
    moves = []
    for group in dr.unit_variants:
        others = [pl.col("_raw").str.contains(u, literal=True) for u in sorted(group)]
        japanese = pl.col("_raw").str.contains(r"[\u3040-\u30ff\u3400-\u9fff]")
        nested = pl.any_horizontal((pl.lit(SEP) + pl.col("_prefix") + SEP)
                                   .str.contains(pl.lit(SEP) + pl.col("_stem") + u + SEP, literal=True)
                                   for u in sorted(group))
        cand = (rows.filter(pl.col("_unit").is_in(sorted(group)) & (pl.col("_stem").str.len_chars() > 0))
                .with_columns(nested.alias("_nested"),
                              (japanese & (pl.col("_raw").str.contains(pl.col("_stem") + pl.col("_unit"), literal=True)
                                           | (pl.col("_raw").str.contains(pl.col("_unit"), literal=True)
                                              & (pl.sum_horizontal(others) == 1)))).alias("_written")))
        # two units under two different parents (営業本部/企画室, 管理本部/企画部) are two departments
        stems = cand.group_by("account_id", "_stem").agg(
            pl.col("_unit").n_unique().alias("_n_units"), pl.col("_nested").any().alias("_any_nested"),
            pl.col("_prefix").filter(pl.col("_prefix") != "").n_unique().alias("_n_parents"))
        merged = cand.join(stems.filter((pl.col("_n_units") > 1) & ~pl.col("_any_nested") & (pl.col("_n_parents") <= 1)),
                           on=["account_id", "_stem"]).drop("_n_units", "_any_nested", "_n_parents")
        winner = (merged.group_by("account_id", "_stem", "_unit")
                  .agg(pl.col("_written").sum().alias("_w"), pl.len().alias("_n"))
                  .sort(["account_id", "_stem", "_w", pl.col("_unit") == dr.default_unit, "_n", "_unit"],
                        descending=[False, False, True, True, True, False])
                  .group_by("account_id", "_stem", maintain_order=True).first()
                  .select("account_id", "_stem", pl.col("_unit").alias("_keep")))
        moves.append(merged.join(winner, on=["account_id", "_stem"])
                     .filter(pl.col("_unit") != pl.col("_keep"))
                     .select("account_id", "department",
                             pl.concat_str([pl.when(pl.col("_prefix") != "").then(pl.col("_prefix") + SEP),
                                            pl.col("_stem"), pl.col("_keep")], ignore_nulls=True).alias("_to"))
                     .unique())
    moved = pl.concat(moves)
    if moved.is_empty():
        return records
    return _renamed(records, moved, "_to")


_acc = st.sampled_from(["A", "B", None])
_dept = st.sampled_from(["企画室", "企画部", "営業本部/企画室", "管理本部/企画部", "経営企画部/経営企画室", "営業部",
                         "営業室", "総務課", None])
_raw = st.sampled_from(["企画室", "企画部", "Planning Dept.", "経営企画", "企画部企画室", "営業室", None])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_acc, _dept, _raw), max_size=14))
def test_unit_variants_merge_as_they_did_record_by_record(rows: list[tuple[str | None, str | None, str | None]]) -> None:
    records = pl.DataFrame({"record_key": [f"r{i}" for i in range(len(rows))],
                            "account_id": [r[0] for r in rows], "department": [r[1] for r in rows],
                            "department_raw": [r[2] if r[2] is not None else r[1] for r in rows]},
                           schema={"record_key": pl.String, "account_id": pl.String, "department": pl.String,
                                   "department_raw": pl.String})
    assert merge_unit_variants(records).equals(_reference_merge(records))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_acc, _dept, _raw), max_size=14), st.booleans())
def test_unit_variants_per_spelling_as_per_row(rows: list[tuple[str | None, str | None, str | None]],
                                               with_raw: bool) -> None:
    """The string work once per distinct (department, raw) spelling, joined back to its rows: the same
    moves, also where the raw spelling is missing (a null joins a null) or there is no raw column."""
    columns = {"record_key": [f"r{i}" for i in range(len(rows))], "account_id": [r[0] for r in rows],
               "department": [r[1] for r in rows]}
    if with_raw:
        columns["department_raw"] = [r[2] for r in rows]
    records = pl.DataFrame(columns, schema={c: pl.String for c in columns})
    assert merge_unit_variants(records).equals(_reference_merge(records))
