"""Findings about the source data (``data_quality.parquet``) from the links the systems record.

- ``conversion_conflict`` / ``sync_conflict``: a converted lead (an MA lead synced to the CRM) names
  a CRM record that the evidence says is another company or person (two 法人番号; another corporate
  domain and another name; the net evidence between the two). The link was not followed: each
  record stays where its own evidence puts it. One row per link, on the record stating it.
- ``contact_on_other_company``: a CRM contact whose own corporate e-mail domain belongs to another
  resolved account, and to none of the records of the account it is attached to (a subsidiary's
  person on the parent's account). It stays on its CRM account; sales ops should move it.

Each row: finding, record_key, detail (readable, no personal data), related_record_key, reason.
"""

from __future__ import annotations

import polars as pl

from abm.linkage.engine import LinkResult

SCHEMA = {"finding": pl.Utf8, "record_key": pl.Utf8, "detail": pl.Utf8, "related_record_key": pl.Utf8,
          "reason": pl.Utf8}
#: person-level link conflicts whose cause is already reported at account level
ACCOUNT_LEVEL_REASONS = ("different_account",)
REASON_TEXT = {
    "different_corporate_number": "the two carry different 法人番号",
    "different_domain_and_name": "different corporate domains and different company names",
    "different_name": "clearly different person names",
    "net_evidence_against": "the evidence between the two sides says they differ",
    "evidence_against": "the evidence between the two sides says they differ",
}


def link_conflicts(records: pl.DataFrame, accounts: LinkResult, persons: LinkResult) -> pl.DataFrame:
    """One finding per system link left apart (account level, then person level)."""
    conflicts = pl.concat([
        accounts.conflicts.with_columns(pl.lit("account").alias("level")),
        persons.conflicts.filter(~pl.col("reason").is_in(ACCOUNT_LEVEL_REASONS))
        .with_columns(pl.lit("person").alias("level")),
    ])
    if conflicts.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    # the records the links name, not every record: each left join below looks up a few hundred keys
    named = pl.concat([conflicts.get_column("id_from"), conflicts.get_column("id_to")]).unique()
    where = records.select("record_key", "account_id", "person_id").filter(pl.col("record_key").is_in(named.implode()))
    out = (conflicts.unique(["id_from", "id_to", "level"], keep="first", maintain_order=True)
           .join(where.rename({"record_key": "id_from", "account_id": "a_from", "person_id": "p_from"}), on="id_from",
                 how="left", maintain_order="left")
           .join(where.rename({"record_key": "id_to", "account_id": "a_to", "person_id": "p_to"}), on="id_to", how="left",
                 maintain_order="left"))
    reason = pl.col("reason").replace_strict(REASON_TEXT, default=pl.col("reason"))
    detail = pl.format("{} link to {} not followed ({} level): {}; this record stays in account {}, the linked "
                       "record is in account {}", pl.col("system_link"), pl.col("id_to"), pl.col("level"), reason,
                       pl.col("a_from").fill_null("-"), pl.col("a_to").fill_null("-"))
    return (out.select(pl.col("finding"), pl.col("id_from").alias("record_key"), detail.alias("detail"),
                       pl.col("id_to").alias("related_record_key"), pl.col("reason"))
            .unique(["finding", "record_key", "related_record_key"], keep="first", maintain_order=True)
            .sort("finding", "record_key"))


_OTHER_COMPANY_INPUTS = frozenset({"record_key", "kind", "account_id", "company_domain", "account_ref", "postal_code",
                                   "phone", "company_name"})


def contacts_on_other_companies(records: pl.DataFrame) -> pl.DataFrame:
    """CRM contacts whose corporate e-mail domain is another account's and not their own account's."""
    records = records.select(c for c in records.columns if c in _OTHER_COMPANY_INPUTS)   # a wide table: filter less
    named = records.filter(pl.col("company_domain").is_not_null() & pl.col("account_id").is_not_null()
                           & (pl.col("kind") != "crm_contacts"))
    owners = named.group_by("company_domain").agg(pl.col("account_id").unique().alias("owners"))
    sole = owners.filter(pl.col("owners").list.len() == 1).select(
        "company_domain", pl.col("owners").list.first().alias("domain_account"))
    contacts = records.filter((pl.col("kind") == "crm_contacts") & pl.col("company_domain").is_not_null()
                              & pl.col("account_ref").is_not_null())
    hits = contacts.join(sole, on="company_domain").filter(pl.col("domain_account") != pl.col("account_id"))
    # the tables below are read for the accounts of these few contacts only (their own and the domain's):
    # each is per account, so the other accounts' rows changed nothing but the time (≈ 0.1 s CPU at 20 k)
    involved = pl.concat([hits.get_column("account_id"), hits.get_column("domain_account")]).unique()
    named = named.filter(pl.col("account_id").is_in(involved.implode()))
    own = named.select("account_id", "company_domain").unique()
    hits = hits.join(own, on=["account_id", "company_domain"], how="anti")
    # two accounts at one address or one phone line are more likely one company abm kept apart (a
    # rename) than a person on the wrong company's account: no finding
    places = pl.concat([named.select("account_id", pl.col(c).alias("place")).drop_nulls()
                        for c in ("postal_code", "phone")]).unique()
    same_place = (hits.select("record_key", "account_id", "domain_account").join(places, on="account_id")
                  .join(places.rename({"account_id": "domain_account"}), on=["domain_account", "place"])
                  .select("record_key").unique())
    hits = hits.join(same_place, on="record_key", how="anti")
    names = (records.filter((pl.col("kind") != "ma_activities") & pl.col("account_id").is_in(involved.implode()))
             .group_by("account_id").agg(pl.col("company_name").drop_nulls().mode().sort().first().alias("name")))
    hits = hits.join(names.rename({"account_id": "domain_account", "name": "other_name"}), on="domain_account",
                     how="left").join(names, on="account_id", how="left")
    detail = pl.format("contact on CRM account {} ({}, account {}) has a corporate e-mail domain of account {} ({}); "
                       "move it to that company's CRM account", pl.col("account_ref"), pl.col("name").fill_null("-"),
                       pl.col("account_id"), pl.col("domain_account"), pl.col("other_name").fill_null("-"))
    return hits.select(pl.lit("contact_on_other_company").alias("finding"), "record_key", detail.alias("detail"),
                       pl.col("account_ref").alias("related_record_key"),
                       pl.lit("email_domain_of_other_account").alias("reason")).sort("record_key").cast(SCHEMA)  # type: ignore[arg-type]


def data_quality_table(*parts: pl.DataFrame) -> pl.DataFrame:
    """Every finding, one table (other detectors' findings concatenate here)."""
    frames = [p.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in SCHEMA.items() if c not in p.columns)
              .select(list(SCHEMA)).cast(SCHEMA) for p in parts if p.height]  # type: ignore[arg-type]
    return pl.concat(frames).sort("finding", "record_key") if frames else pl.DataFrame(schema=SCHEMA)
