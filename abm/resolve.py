"""Resolution: every record to an account, every record about a person to a person.

Two runs of the generic engine (``abm.linkage``): accounts over the records that name a company
by themselves, then persons within each resolved account. Records that only *point* at another
record inherit through that pointer: contacts and opportunities follow their CRM account,
opportunities their contact, MA activities their MA lead.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import polars as pl

from abm.linkage.engine import LinkResult, link
from abm.linkage.spec import LinkageSpecs
from abm.normalize.name_readings import with_name_readings

log = logging.getLogger(__name__)

#: Kinds whose own fields name a company (they are account linkage units).
ACCOUNT_UNIT_KINDS = ("crm_accounts", "cards", "crm_leads", "ma_leads")
#: When a cluster's ID is chosen, records of earlier kinds anchor it (CRM ids outlive a card).
ID_ANCHOR_ORDER = ("crm_accounts", "crm_contacts", "cards", "crm_leads", "ma_leads", "crm_opportunities",
                   "ma_activities")


@dataclass(frozen=True)
class Resolution:
    records: pl.DataFrame            # normalised records + account_id, person_id, account_score, person_score
    accounts: LinkResult
    persons: LinkResult
    counts: dict[str, int]
    #: web forms placed after linkage: record_key, moved_to, evidence_key, matched_on
    moves: pl.DataFrame = field(default_factory=pl.DataFrame)


def stable_id(prefix: str, anchor: pl.Expr) -> pl.Expr:
    """A deterministic ID from the anchor record key: the same anchor gives the same ID every night.
    SHA-1 rather than polars' hash, whose values may change between polars versions."""
    return anchor.map_elements(
        lambda key: f"{prefix}{hashlib.sha1(key.encode('utf-8')).hexdigest()[:12]}", return_dtype=pl.Utf8,
    )


def _anchor_rank() -> pl.Expr:
    order = {kind: i for i, kind in enumerate(ID_ANCHOR_ORDER)}
    return pl.col("kind").replace_strict(order, default=len(order), return_dtype=pl.Int32)


def _ids_for_clusters(clustered: pl.DataFrame, prefix: str, column: str) -> pl.DataFrame:
    """record_key -> ID, the ID derived from each cluster's anchor (best kind, then smallest key)."""
    anchors = (
        clustered.with_columns(_anchor_rank().alias("__anchor_rank"))
        .sort("__anchor_rank", "record_key")
        .group_by("cluster", maintain_order=True)
        .agg(pl.col("record_key").first().alias("__anchor"))
    )
    ids = anchors.with_columns(stable_id(prefix, pl.col("__anchor")).alias(column)).select("cluster", column)
    return clustered.join(ids, on="cluster", how="left").select("record_key", column, "link_score")


def _account_units(records: pl.DataFrame) -> pl.DataFrame:
    """Units of account linkage: the records that name a company by themselves, and contacts whose
    CRM account is missing (they still name their company through their own evidence)."""
    crm_keys = records.filter(pl.col("kind") == "crm_accounts").select(pl.col("record_key").alias("account_ref"))
    orphan_contacts = records.filter(pl.col("kind") == "crm_contacts").join(crm_keys, on="account_ref", how="anti")
    return pl.concat([records.filter(pl.col("kind").is_in(ACCOUNT_UNIT_KINDS)), orphan_contacts], how="vertical")


def resolve_accounts(records: pl.DataFrame, specs: LinkageSpecs, must_link: pl.DataFrame | None = None,
                     ) -> tuple[pl.DataFrame, LinkResult, dict[str, int], pl.DataFrame]:
    """``records`` + account_id, account_score; and the web forms moved after linkage (with evidence).
    ``must_link``: (id_l, id_r) record keys linked whatever their score (records anchored to one
    registry corporation)."""
    units = _account_units(records)
    result = link(units, specs.accounts, must_link)
    assigned = _ids_for_clusters(result.units, "A", "account_id").rename({"link_score": "account_score"})
    out = _with_accounts(records, assigned)
    moves = _place_lone_web_forms(out)
    if moves.height:
        assigned = assigned.join(moves.select("record_key", "moved_to"), on="record_key", how="left").with_columns(
            pl.coalesce("moved_to", "account_id").alias("account_id")).drop("moved_to")
        out = _with_accounts(records, assigned)
    # an opportunity pointing at nothing we know is its own (unresolved) account, never dropped
    orphan = (pl.col("account_id").is_null() & (pl.col("kind") == "crm_opportunities"))
    n_orphan_opportunities = out.filter(orphan).height
    out = out.with_columns(
        pl.when(orphan).then(stable_id("A", pl.col("record_key"))).otherwise(pl.col("account_id")).alias("account_id")
    )
    counts = {
        "account_units": units.height,
        "orphan_contacts_resolved_by_own_evidence": int(
            units.filter(pl.col("kind") == "crm_contacts").height),
        "orphan_opportunities": n_orphan_opportunities,
        "web_forms_placed_by_person": moves.height,
        "activities_without_lead": int(out.filter((pl.col("kind") == "ma_activities")
                                                  & pl.col("account_id").is_null()).height),
    }
    return out, result, counts, moves


def _with_accounts(records: pl.DataFrame, assigned: pl.DataFrame) -> pl.DataFrame:
    out = records.join(assigned, on="record_key", how="left")
    out = _inherit(out, "account_ref", "account_id")          # contacts, opportunities -> CRM account
    out = _inherit(out, "contact_ref", "account_id")          # opportunity with a missing account -> its contact's
    return _inherit(out, "account_ref", "account_id")         # MA activities -> their lead's account


def _place_lone_web_forms(out: pl.DataFrame) -> pl.DataFrame:
    """A web form with a webmail address that names a company two accounts share (two 東洋興業 in
    two prefectures) stays alone after linkage. When the person who filled it in is known, by the
    same full name or reading, in exactly one of those accounts, it belongs there.
    Returns record_key -> moved_to, with the record of that person it matched (``evidence_key``) and
    on what (``matched_on``: person_name_key or name_romaji), kept as evidence for ``abm explain``."""
    named = out.filter(pl.col("kind") != "ma_activities")
    lone = (named.group_by("account_id")
            .agg(((pl.col("kind") == "ma_leads") & pl.col("is_free_mail").fill_null(False)).all().alias("web"))
            .filter(pl.col("web")).select("account_id"))
    leads = named.join(lone, on="account_id")
    others = named.join(lone, on="account_id", how="anti")
    candidates = pl.concat([
        leads.select("record_key", key).join(
            others.select(pl.col("account_id").alias("candidate"), key).drop_nulls().unique(), on=key)
        .select("record_key", "candidate")
        for key in ("company_key", "company_romaji")
    ]).unique()
    people = others.filter(pl.col("has_person"))
    hits = pl.concat([
        candidates.join(leads.select("record_key", key).drop_nulls(), on="record_key")
        .join(people.select(pl.col("account_id").alias("candidate"), key, pl.col("record_key").alias("evidence_key"))
              .drop_nulls(), on=["candidate", key])
        .select("record_key", "candidate", "evidence_key", pl.lit(key).alias("matched_on"))
        for key in ("person_name_key", "name_romaji")
    ])
    unique = (hits.group_by("record_key").agg(pl.col("candidate").n_unique().alias("k"))
              .filter(pl.col("k") == 1).select("record_key"))
    # the evidence: the first (smallest key) record of the person in the account it moves to
    return (hits.join(unique, on="record_key").sort("record_key", "matched_on", "evidence_key")
            .unique("record_key", keep="first", maintain_order=True)
            .select("record_key", pl.col("candidate").alias("moved_to"), "evidence_key", "matched_on"))


def _inherit(records: pl.DataFrame, ref: str, column: str) -> pl.DataFrame:
    """Fill ``column`` from the record that ``ref`` points at, where still null."""
    source = records.select(pl.col("record_key").alias(ref), pl.col(column).alias("__inherited")).drop_nulls(
        "__inherited")
    return (
        records.join(source, on=ref, how="left")
        .with_columns(pl.coalesce(column, "__inherited").alias(column))
        .drop("__inherited")
    )


def resolve_persons(records: pl.DataFrame, specs: LinkageSpecs, folds: tuple = ()) -> tuple[pl.DataFrame, LinkResult]:
    """``records`` (with account_id) + person_id, person_score. Units carry every common reading of
    their name (``abm.normalize.name_readings``; ``folds``: the romaji folds of ``romaji.yaml``)."""
    units = with_name_readings(records.filter(pl.col("has_person") & pl.col("account_id").is_not_null()), folds)
    result = link(units, specs.persons)
    assigned = _ids_for_clusters(result.units, "P", "person_id").rename({"link_score": "person_score"})
    out = records.join(assigned, on="record_key", how="left")
    out = _inherit(out, "contact_ref", "person_id")   # opportunity -> its contact's person
    out = out.with_columns(  # activity -> its lead's person (account_ref points at the MA lead)
        pl.when(pl.col("kind") == "ma_activities").then(pl.col("account_ref")).alias("__lead_ref"))
    out = _inherit(out, "__lead_ref", "person_id").drop("__lead_ref")
    return out, result


def resolve(records: pl.DataFrame, specs: LinkageSpecs, must_link: pl.DataFrame | None = None,
            folds: tuple = ()) -> Resolution:
    with_accounts, account_result, counts, moves = resolve_accounts(records, specs, must_link)
    resolved, person_result = resolve_persons(with_accounts, specs, folds)
    resolved = resolved.sort("record_key")
    log.info("resolved %d records into %d accounts and %d persons", resolved.height,
             resolved.get_column("account_id").n_unique(), resolved.get_column("person_id").drop_nulls().n_unique())
    return Resolution(resolved, account_result, person_result, counts, moves)
