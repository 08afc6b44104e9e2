"""IDs inherited through record references: a gather through ``pointers`` decides as the join on
record keys it replaced (kept here as the reference)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.resolve import _inherit, _with_accounts, pointers


def _joined(records: pl.DataFrame, ref: str, column: str) -> pl.DataFrame:
    """The former ``_inherit``: fill ``column`` from the record ``ref`` names, by a join on record_key."""
    source = records.select(pl.col("record_key").alias(ref), pl.col(column).alias("__inherited")).drop_nulls(
        "__inherited")
    inherited = records.select(ref).join(source, on=ref, how="left", maintain_order="left").get_column("__inherited")
    return records.with_columns(pl.coalesce(pl.col(column), inherited).alias(column))


def _reference_accounts(records: pl.DataFrame, assigned: pl.DataFrame) -> pl.DataFrame:
    out = records.join(assigned, on="record_key", how="left", maintain_order="left")
    for ref in ("account_ref", "contact_ref", "account_ref"):
        out = _joined(out, ref, "account_id")
    return out


def _frame(rows: list[tuple[str, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"record_key": pl.Utf8, "account_ref": pl.Utf8, "contact_ref": pl.Utf8},
                        orient="row")


CHAINS = [
    # an opportunity follows its account; an activity its lead; a contact its CRM account
    ([("acc:1", None, None), ("opp:1", "acc:1", None), ("con:1", "acc:1", None), ("act:1", "lead:1", None),
      ("lead:1", None, None)], {"acc:1": "A1", "lead:1": "A2"}),
    # an opportunity with a missing account takes its contact's; a dangling or null ref stays null
    ([("con:1", "acc:1", None), ("acc:1", None, None), ("opp:1", "acc:9", "con:1"), ("opp:2", None, None)],
     {"acc:1": "A1"}),
    # two hops within one pass (activity -> lead -> contact's account) and a cycle that names nothing
    ([("act:1", "lead:1", None), ("lead:1", None, "con:1"), ("con:1", "acc:1", None), ("acc:1", None, None),
      ("x:1", "x:2", None), ("x:2", "x:1", None)], {"acc:1": "A1"}),
    ([], {}),
]


def _assigned(ids: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"record_key": list(ids), "account_id": list(ids.values()),
                         "account_score": [1.0] * len(ids)}, schema={"record_key": pl.Utf8, "account_id": pl.Utf8,
                                                                     "account_score": pl.Float64})


def test_inherited_account_ids_equal_the_join_on_record_keys():
    for rows, ids in CHAINS:
        records, assigned = _frame(rows), _assigned(ids)
        assert _with_accounts(records, assigned, pointers(records, "account_ref", "contact_ref")).equals(
            _reference_accounts(records, assigned))


def test_inherit_fills_only_the_nulls():
    values = pl.Series("account_id", ["A1", None, None, "A4"])
    pointer = pl.Series([1, 0, None, 0], dtype=pl.UInt32)
    assert _inherit(values, pointer).to_list() == ["A1", "A1", None, "A4"]


KEYS = st.sampled_from([f"r{i}" for i in range(8)])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.none() | KEYS, st.none() | KEYS), max_size=8),
       st.dictionaries(KEYS, st.sampled_from(["A1", "A2", "A3"])))
def test_any_reference_graph_inherits_as_the_join(refs, ids):
    records = _frame([(f"r{i}", a, c) for i, (a, c) in enumerate(refs)])
    assigned = _assigned({k: v for k, v in ids.items() if k in set(records.get_column("record_key"))})
    assert _with_accounts(records, assigned, pointers(records, "account_ref", "contact_ref")).equals(
        _reference_accounts(records, assigned))
