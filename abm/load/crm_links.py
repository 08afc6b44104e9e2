"""An MA export's single CRM id column, routed to the CRM lead or contact it names.

Marketo exports the Salesforce record a lead is synced to as one "SFDC Id" column with an "SFDC Type"
column (``Lead`` / ``Contact``). The layout maps them to the internal columns ``_crm_id`` and
``_crm_type``; this module fills ``crm_lead_id`` / ``crm_contact_id`` from them (an explicit
sfdcLeadId / sfdcContactId column wins). Without a type, the Salesforce key prefix decides: ``00Q``
is a Lead, ``003`` a Contact (Salesforce's fixed object key prefixes); an id of neither kind stays
unrouted and is reported in the file's notes by the caller's field issues.
"""

from __future__ import annotations

import polars as pl

LEAD_TYPES = ("lead", "リード", "見込み客")
CONTACT_TYPES = ("contact", "取引先責任者", "連絡先")


def route_crm_id(frame: pl.DataFrame) -> pl.DataFrame:
    """``crm_lead_id`` / ``crm_contact_id`` filled from ``_crm_id`` (+ ``_crm_type``); both internal
    columns dropped."""
    kind = pl.col("_crm_type").str.strip_chars().str.to_lowercase() if "_crm_type" in frame.columns \
        else pl.lit(None, dtype=pl.Utf8)
    crm_id = pl.col("_crm_id")
    is_lead = kind.is_in(LEAD_TYPES) | (kind.is_null() & crm_id.str.starts_with("00Q"))
    is_contact = kind.is_in(CONTACT_TYPES) | (kind.is_null() & crm_id.str.starts_with("003"))
    out = frame
    for column in ("crm_lead_id", "crm_contact_id"):
        if column not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Utf8).alias(column))
    out = out.with_columns(
        pl.coalesce("crm_lead_id", pl.when(is_lead).then(crm_id)).alias("crm_lead_id"),
        pl.coalesce("crm_contact_id", pl.when(is_contact).then(crm_id)).alias("crm_contact_id"),
    )
    return out.drop([c for c in ("_crm_id", "_crm_type") if c in out.columns])
