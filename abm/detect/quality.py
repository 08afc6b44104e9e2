"""Data-quality findings about the source data: ``data_quality.parquet`` (finding, record_key, detail).

Each finding is one small function ``(resolved records) -> rows``; ``data_quality`` runs every
function in ``FINDINGS`` and stacks their rows. Add a finding by writing its function and adding it
to ``FINDINGS`` (the table's columns stay the contract's three).

Findings so far:

- ``opportunity_contact_other_account``: a CRM opportunity whose contact was resolved to another
  account than the opportunity's own. The contact's person is then not this account's person: the
  opportunity touches its account without a person (``detach_other_account_contacts``), so no
  touch or ``knows`` edge crosses accounts.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

SCHEMA = {"finding": pl.Utf8, "record_key": pl.Utf8, "detail": pl.Utf8}


def opportunity_contact_other_account(records: pl.DataFrame) -> pl.DataFrame:
    """Opportunities whose ``contact_ref`` record is in another account than the opportunity."""
    if "contact_ref" not in records.columns:
        return pl.DataFrame(schema=SCHEMA)
    contacts = records.select(pl.col("record_key").alias("contact_ref"),
                              pl.col("account_id").alias("_contact_account")).unique("contact_ref", keep="first")
    opps = records.filter((pl.col("kind") == "crm_opportunities") & pl.col("contact_ref").is_not_null())
    hits = opps.join(contacts, on="contact_ref", how="inner").filter(
        pl.col("account_id").is_not_null() & pl.col("_contact_account").is_not_null()
        & (pl.col("account_id") != pl.col("_contact_account"))
    )
    return hits.select(
        pl.lit("opportunity_contact_other_account").alias("finding"),
        "record_key",
        pl.concat_str([pl.lit("the opportunity is in account "), pl.col("account_id"),
                       pl.lit(", its contact "), pl.col("contact_ref"), pl.lit(" in account "),
                       pl.col("_contact_account"),
                       pl.lit("; the opportunity touches its account without a person")]).alias("detail"),
    )


#: every finding, in output order
FINDINGS: tuple[Callable[[pl.DataFrame], pl.DataFrame], ...] = (opportunity_contact_other_account,)


def data_quality(records: pl.DataFrame) -> pl.DataFrame:
    """All findings about ``records`` (resolved: with account_id), sorted by finding and record."""
    frames = [fn(records).cast(SCHEMA) for fn in FINDINGS]  # type: ignore[arg-type]
    return pl.concat(frames).sort("finding", "record_key") if frames else pl.DataFrame(schema=SCHEMA)


def detach_other_account_contacts(records: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """Opportunities found with another account's contact keep their account but lose that contact's
    person (person_id and contact_ref emptied), so they touch the account only."""
    keys = findings.filter(pl.col("finding") == "opportunity_contact_other_account").get_column("record_key")
    if keys.len() == 0:
        return records
    hit = pl.col("record_key").is_in(keys.to_list())
    return records.with_columns(
        pl.when(hit).then(None).otherwise(pl.col("person_id")).alias("person_id"),
        pl.when(hit).then(None).otherwise(pl.col("contact_ref")).alias("contact_ref"),
    )
