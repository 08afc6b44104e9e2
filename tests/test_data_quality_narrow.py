"""The data-quality findings read only the records they name (issue 14): ``link_conflicts`` looks up
the records its links name, ``contacts_on_other_companies`` reads the accounts of its candidate
contacts. Each gives what the whole-table version (kept here as the reference) gave."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.detect.data_quality import (
    _OTHER_COMPANY_INPUTS,
    ACCOUNT_LEVEL_REASONS,
    REASON_TEXT,
    SCHEMA,
    contacts_on_other_companies,
    link_conflicts,
)
from abm.linkage.engine import CONFLICT_SCHEMA, LinkResult


def _link_conflicts_whole(records: pl.DataFrame, accounts: LinkResult, persons: LinkResult) -> pl.DataFrame:
    conflicts = pl.concat([
        accounts.conflicts.with_columns(pl.lit("account").alias("level")),
        persons.conflicts.filter(~pl.col("reason").is_in(ACCOUNT_LEVEL_REASONS))
        .with_columns(pl.lit("person").alias("level")),
    ])
    if conflicts.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    where = records.select("record_key", "account_id", "person_id")
    out = (conflicts.unique(["id_from", "id_to", "level"], keep="first", maintain_order=True)
           .join(where.rename({"record_key": "id_from", "account_id": "a_from", "person_id": "p_from"}), on="id_from",
                 how="left")
           .join(where.rename({"record_key": "id_to", "account_id": "a_to", "person_id": "p_to"}), on="id_to", how="left"))
    reason = pl.col("reason").replace_strict(REASON_TEXT, default=pl.col("reason"))
    detail = pl.format("{} link to {} not followed ({} level): {}; this record stays in account {}, the linked "
                       "record is in account {}", pl.col("system_link"), pl.col("id_to"), pl.col("level"), reason,
                       pl.col("a_from").fill_null("-"), pl.col("a_to").fill_null("-"))
    return (out.select(pl.col("finding"), pl.col("id_from").alias("record_key"), detail.alias("detail"),
                       pl.col("id_to").alias("related_record_key"), pl.col("reason"))
            .unique(["finding", "record_key", "related_record_key"], keep="first", maintain_order=True)
            .sort("finding", "record_key"))


def _contacts_on_other_companies_whole(records: pl.DataFrame) -> pl.DataFrame:
    records = records.select(c for c in records.columns if c in _OTHER_COMPANY_INPUTS)
    named = records.filter(pl.col("company_domain").is_not_null() & pl.col("account_id").is_not_null()
                           & (pl.col("kind") != "crm_contacts"))
    owners = named.group_by("company_domain").agg(pl.col("account_id").unique().alias("owners"))
    sole = owners.filter(pl.col("owners").list.len() == 1).select(
        "company_domain", pl.col("owners").list.first().alias("domain_account"))
    contacts = records.filter((pl.col("kind") == "crm_contacts") & pl.col("company_domain").is_not_null()
                              & pl.col("account_ref").is_not_null())
    own = named.select("account_id", "company_domain").unique()
    hits = (contacts.join(sole, on="company_domain")
            .filter(pl.col("domain_account") != pl.col("account_id"))
            .join(own, on=["account_id", "company_domain"], how="anti"))
    places = pl.concat([named.select("account_id", pl.col(c).alias("place")).drop_nulls()
                        for c in ("postal_code", "phone")]).unique()
    same_place = (hits.select("record_key", "account_id", "domain_account").join(places, on="account_id")
                  .join(places.rename({"account_id": "domain_account"}), on=["domain_account", "place"])
                  .select("record_key").unique())
    hits = hits.join(same_place, on="record_key", how="anti")
    names = records.filter(pl.col("kind") != "ma_activities").group_by("account_id").agg(
        pl.col("company_name").drop_nulls().mode().sort().first().alias("name"))
    hits = hits.join(names.rename({"account_id": "domain_account", "name": "other_name"}), on="domain_account",
                     how="left").join(names, on="account_id", how="left")
    detail = pl.format("contact on CRM account {} ({}, account {}) has a corporate e-mail domain of account {} ({}); "
                       "move it to that company's CRM account", pl.col("account_ref"), pl.col("name").fill_null("-"),
                       pl.col("account_id"), pl.col("domain_account"), pl.col("other_name").fill_null("-"))
    return hits.select(pl.lit("contact_on_other_company").alias("finding"), "record_key", detail.alias("detail"),
                       pl.col("account_ref").alias("related_record_key"),
                       pl.lit("email_domain_of_other_account").alias("reason")).sort("record_key").cast(SCHEMA)  # type: ignore[arg-type]


def _maybe(values: list[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(values))


@st.composite
def records(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 30))
    rows = [{"record_key": f"r{i}", "kind": draw(st.sampled_from(["crm_contacts", "crm_accounts", "cards", "ma_activities"])),
             "account_id": draw(_maybe(["A1", "A2", "A3", "A4"])), "person_id": draw(_maybe(["P1", "P2"])),
             "company_domain": draw(_maybe(["a.co.jp", "b.co.jp", "c.co.jp"])), "account_ref": draw(_maybe(["c1", "c2"])),
             "postal_code": draw(_maybe(["100-0001", "530-0001"])), "phone": draw(_maybe(["0311112222", "0611112222"])),
             "company_name": draw(_maybe(["朝日工業", "旭工業", "Asahi"]))} for i in range(n)]
    return pl.DataFrame(rows, schema={c: pl.String for c in ("record_key", "kind", "account_id", "person_id",
                                                             "company_domain", "account_ref", "postal_code", "phone",
                                                             "company_name")})


@st.composite
def conflicts(draw: st.DrawFn, n_records: int) -> pl.DataFrame:
    keys = [f"r{i}" for i in range(max(n_records, 1))] + ["gone"]
    rows = draw(st.lists(st.fixed_dictionaries({
        "id_from": st.sampled_from(keys), "id_to": st.sampled_from(keys),
        "system_link": st.sampled_from(["converted_account", "ma_sync"]),
        "finding": st.sampled_from(["conversion_conflict", "sync_conflict"]),
        "reason": st.sampled_from([*REASON_TEXT, "different_account"])}), max_size=8))
    return pl.DataFrame(rows, schema=CONFLICT_SCHEMA)


@settings(max_examples=200, deadline=None)
@given(records())
def test_contacts_on_other_companies_as_whole_table(recs: pl.DataFrame) -> None:
    assert contacts_on_other_companies(recs).equals(_contacts_on_other_companies_whole(recs))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_link_conflicts_as_whole_table(data: st.DataObject) -> None:
    recs = data.draw(records())
    accounts = cast(LinkResult, SimpleNamespace(conflicts=data.draw(conflicts(recs.height))))
    persons = cast(LinkResult, SimpleNamespace(conflicts=data.draw(conflicts(recs.height))))
    assert link_conflicts(recs, accounts, persons).equals(_link_conflicts_whole(recs, accounts, persons))


def test_contact_on_other_company_found() -> None:
    """A contact on A1's CRM account with A2's domain; A1 and A2 share no address or phone."""
    recs = pl.DataFrame({
        "record_key": ["a1", "a2", "c1", "x9"], "kind": ["crm_accounts", "crm_accounts", "crm_contacts", "cards"],
        "account_id": ["A1", "A2", "A1", "A3"], "person_id": [None, None, "P1", None],
        "company_domain": ["one.co.jp", "two.co.jp", "two.co.jp", "three.co.jp"], "account_ref": [None, None, "a1", None],
        "postal_code": ["100-0001", "530-0001", None, "100-0001"], "phone": [None, None, None, None],
        "company_name": ["一工業", "二商事", None, "三物産"]})
    out = contacts_on_other_companies(recs)
    assert out.get_column("record_key").to_list() == ["c1"]
    assert out.get_column("detail").to_list() == [
        "contact on CRM account a1 (一工業, account A1) has a corporate e-mail domain of account A2 (二商事); "
        "move it to that company's CRM account"]
    assert out.equals(_contacts_on_other_companies_whole(recs))
