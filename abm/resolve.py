"""Resolution: every record to an account, every record about a person to a person.

Two runs of the generic engine (``abm.linkage``): accounts over the records that name a company
by themselves, then persons within each resolved account. Records that only *point* at another
record inherit through that pointer: contacts and opportunities follow their CRM account,
opportunities their contact, MA activities their MA lead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from abm import memory_db
from abm.constraints import Constraints, constraints_for, override_status
from abm.contract import ACCOUNT_UNIT_KINDS, ID_ANCHOR_ORDER
from abm.db import literal, query
from abm.linkage.engine import LinkResult, link
from abm.linkage.reuse import PairStore
from abm.linkage.spec import LinkageSpecs
from abm.normalize.name_readings import warm_table, with_name_readings
from abm.overrides import Override, as_table

log = logging.getLogger(__name__)

# ACCOUNT_UNIT_KINDS (kinds whose own fields name a company: account linkage units) and ID_ANCHOR_ORDER
# (records of earlier kinds anchor a cluster's ID: CRM ids outlive a card) come from abm.contract.KIND_TABLE.


@dataclass(frozen=True)
class Resolution:
    records: pl.DataFrame            # normalised records + account_id, person_id, account_score, person_score
    accounts: LinkResult
    persons: LinkResult
    counts: dict[str, int]
    overrides: pl.DataFrame          # every override with what it did tonight (abm.overrides.SCHEMA)
    #: web forms placed after linkage: record_key, moved_to, evidence_key, matched_on
    moves: pl.DataFrame = field(default_factory=pl.DataFrame)


def stable_ids(prefix: str, keys: pl.Series) -> pl.Series:
    """A deterministic ID per anchor record key (null stays null): the same anchor gives the same ID
    every night. SHA-1 (of the key's UTF-8 bytes, the first 12 hex digits) rather than polars' hash,
    whose values may change between polars versions; computed by DuckDB's ``sha1`` over the batch
    (≈ 0.06 → 0.02 s CPU for 100 k anchors against ``hashlib`` one key at a time; the same digits,
    tests/test_resolve.py), in the keys' order (ORDER BY their row index)."""
    if keys.len() == 0:
        return pl.Series(keys.name, [], dtype=pl.Utf8)
    with memory_db.connect() as con:
        # the rows' order said by ORDER BY, not left to preserve_insertion_order (a database-wide setting)
        con.register("__anchors", pl.DataFrame({"k": keys.cast(pl.Utf8)}).with_row_index("i").to_arrow())
        ids = query(con, f"SELECT {literal(prefix)} || left(sha1(k), 12) AS k FROM __anchors ORDER BY i").to_series()
    return ids.cast(pl.Utf8).rename(keys.name)


def stable_id(prefix: str, anchor: pl.Expr) -> pl.Expr:
    """``stable_ids`` as an expression."""
    return anchor.map_batches(lambda keys: stable_ids(prefix, keys), return_dtype=pl.Utf8)


def _anchor_rank() -> pl.Expr:
    order = {kind: i for i, kind in enumerate(ID_ANCHOR_ORDER)}
    return pl.col("kind").replace_strict(order, default=len(order), return_dtype=pl.Int32)


def _ids_for_clusters(clustered: pl.DataFrame, prefix: str, column: str) -> pl.DataFrame:
    """record_key -> ID, the ID derived from each cluster's anchor (best kind, then smallest key)."""
    clustered = clustered.select("record_key", "kind", "cluster", "link_score")   # not the wide units
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
                     overrides: Sequence[Override] = (), store: PairStore | None = None,
                     to: dict[str, pl.Series] | None = None,
                     ) -> tuple[pl.DataFrame, LinkResult, dict[str, int], pl.DataFrame, dict[int, tuple[str, str]]]:
    """``records`` + account_id, account_score; the web forms moved after linkage (with the evidence
    ``abm explain`` shows); and what each account-level override did.
    ``must_link``: (id_l, id_r) record keys linked whatever their score (records anchored to one
    registry corporation); ``overrides``: a person's must- and cannot-links (abm.overrides); ``store``:
    the previous run's comparisons (abm.linkage.reuse); ``to``: ``pointers`` of ``records`` through
    account_ref and contact_ref, when the caller has them."""
    records = _account_refs_from_contacts(records)   # other columns than account_ref, contact_ref: ``to`` holds
    to = to if to is not None else pointers(records, "account_ref", "contact_ref")
    units = _account_units(records)
    constraints = constraints_for(overrides, "account", records, units.get_column("record_key"))
    forced = constraints.must if must_link is None else pl.concat(
        [must_link.select("id_l", "id_r", pl.lit("registry").alias("override")), constraints.must])
    result = link(units, specs.accounts, must_link=forced, cannot_link=constraints.cannot,
                  reuse=store.for_spec(specs.accounts) if store is not None else None)
    assigned = _ids_for_clusters(result.units, "A", "account_id").rename({"link_score": "account_score"})
    out = _with_accounts(records, assigned, to)
    moves = _respecting(_place_lone_web_forms(out), constraints, out)
    if moves.height:
        assigned = assigned.join(moves.select("record_key", "moved_to"), on="record_key", how="left").with_columns(
            pl.coalesce("moved_to", "account_id").alias("account_id")).drop("moved_to")
        out = _with_accounts(records, assigned, to)
    # an opportunity pointing at nothing we know is its own (unresolved) account, never dropped
    orphan = (pl.col("account_id").is_null() & (pl.col("kind") == "crm_opportunities"))
    at = out.select(orphan.arg_true()).to_series()     # only those rows' keys are hashed
    n_orphan_opportunities = len(at)
    if n_orphan_opportunities:
        out = out.with_columns(out.get_column("account_id").clone().scatter(
            at, stable_ids("A", out.get_column("record_key").gather(at))))
    counts = {
        "account_units": units.height,
        "orphan_contacts_resolved_by_own_evidence": int(
            units.filter(pl.col("kind") == "crm_contacts").height),
        "orphan_opportunities": n_orphan_opportunities,
        "web_forms_placed_by_person": moves.height,
        "activities_without_lead": int(out.filter((pl.col("kind") == "ma_activities")
                                                  & pl.col("account_id").is_null()).height),
    }
    status = override_status(overrides, constraints, _unit_clusters(out, constraints, "account_id"), result.refused)
    return out, result, counts, moves, status


def _unit_clusters(out: pl.DataFrame, constraints: Constraints, column: str) -> pl.DataFrame:
    """id -> final ID of the units the overrides constrain (after every move)."""
    ids = [u for pair in constraints.units_of.values() for u in pair]
    return out.filter(pl.col("record_key").is_in(ids)).select(pl.col("record_key").alias("id"),
                                                               pl.col(column).alias("cluster"))


def _respecting(moves: pl.DataFrame, constraints: Constraints, out: pl.DataFrame) -> pl.DataFrame:
    """Drop the moves that would put a record beside one it cannot link to."""
    if constraints.cannot.height == 0 or moves.height == 0:
        return moves
    partners = pl.concat([
        constraints.cannot.select(pl.col("id_l").alias("record_key"), pl.col("id_r").alias("partner")),
        constraints.cannot.select(pl.col("id_r").alias("record_key"), pl.col("id_l").alias("partner")),
    ]).join(out.select(pl.col("record_key").alias("partner"), pl.col("account_id").alias("partner_account")),
            on="partner")
    clash = moves.join(partners, on="record_key").filter(pl.col("moved_to") == pl.col("partner_account"))
    return moves.join(clash.select("record_key").unique(), on="record_key", how="anti")


def _account_refs_from_contacts(records: pl.DataFrame) -> pl.DataFrame:
    """A lead converted into a contact, or an MA lead synced to one, names that contact's CRM account
    when the link itself names none (a contact is not an account unit: its account is)."""
    if "converted_account_ref" not in records.columns:
        return records
    contacts = records.filter(pl.col("kind") == "crm_contacts").select("record_key", "account_ref")
    out = records
    for account, contact in (("converted_account_ref", "converted_contact_ref"), ("crm_account_ref", "crm_contact_ref")):
        via = out.select(contact).join(contacts.rename({"record_key": contact, "account_ref": "__via"}), on=contact,
                                       how="left", maintain_order="left").get_column("__via")
        out = out.with_columns(pl.coalesce(pl.col(account), via).alias(account))
    return out


def _with_accounts(records: pl.DataFrame, assigned: pl.DataFrame, to: dict[str, pl.Series]) -> pl.DataFrame:
    out = records.join(assigned, on="record_key", how="left", maintain_order="left")   # rows stay where ``to`` says
    ids = out.get_column("account_id")
    ids = _inherit(ids, to["account_ref"])          # contacts, opportunities -> CRM account
    ids = _inherit(ids, to["contact_ref"])          # opportunity with a missing account -> its contact's
    return out.with_columns(_inherit(ids, to["account_ref"]))   # MA activities -> their lead's account


PLACING_COLUMNS = ("record_key", "kind", "account_id", "is_free_mail", "has_person", "company_key", "company_romaji",
                   "person_name_key", "name_romaji")


def _place_lone_web_forms(out: pl.DataFrame) -> pl.DataFrame:
    """A web form with a webmail address that names a company two accounts share (two 東洋興業 in
    two prefectures) stays alone after linkage. When the person who filled it in is known, by the
    same full name or reading, in exactly one of those accounts, it belongs there.
    Returns record_key -> moved_to, with the record of that person it matched (``evidence_key``) and
    on what (``matched_on``: person_name_key or name_romaji), kept as evidence for ``abm explain``."""
    # only the columns read below: every filter and join then copies 9 columns, not the wide records
    named = out.select(PLACING_COLUMNS).filter(pl.col("kind") != "ma_activities")
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


def pointers(records: pl.DataFrame, *refs: str) -> dict[str, pl.Series]:
    """Per reference column, the row of ``records`` whose record_key it names (null: none). Record
    keys are unique, so one join per column serves every ``_inherit`` through it: the account IDs
    are inherited three times per placement and the person IDs twice, each then a gather, not a
    join on string keys."""
    rows = records.select("record_key", pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row"))
    return {ref: records.select(ref).join(rows.rename({"record_key": ref}), on=ref, how="left",
                                          maintain_order="left").get_column("__row") for ref in refs}


def _inherit(values: pl.Series, pointer: pl.Series) -> pl.Series:
    """Fill ``values`` from the row ``pointer`` names (``pointers``), where still null."""
    return values.zip_with(values.is_not_null(), values.gather(pointer))


def resolve_persons(records: pl.DataFrame, specs: LinkageSpecs, overrides: Sequence[Override] = (),
                    folds: tuple = (), store: PairStore | None = None, to: dict[str, pl.Series] | None = None,
                    ) -> tuple[pl.DataFrame, LinkResult, dict[int, tuple[str, str]]]:
    """``records`` (with account_id) + person_id, person_score; and what each person-level override did.
    Units carry every common reading of their name (``abm.normalize.name_readings``; ``folds``: the
    romaji folds of ``romaji.yaml``; ``to``: ``pointers`` of ``records`` through contact_ref and
    account_ref, when the caller has them)."""
    units = with_name_readings(records.filter(pl.col("has_person") & pl.col("account_id").is_not_null()), folds)
    units = with_switchboard(units, records)
    constraints = _same_account(constraints_for(overrides, "person", records, units.get_column("record_key")), units)
    result = link(units, specs.persons, must_link=constraints.must, cannot_link=constraints.cannot,
                  reuse=store.for_spec(specs.persons) if store is not None else None)
    assigned = _ids_for_clusters(result.units, "P", "person_id").rename({"link_score": "person_score"})
    to = to if to is not None else pointers(records, "account_ref", "contact_ref")
    out = records.join(assigned, on="record_key", how="left", maintain_order="left")   # rows stay where ``to`` says
    ids = _inherit(out.get_column("person_id"), to["contact_ref"])   # opportunity -> its contact's person
    # activity -> its lead's person (account_ref points at the MA lead)
    lead = out.select(pl.when(pl.col("kind") == "ma_activities").then(to["account_ref"])).to_series()
    out = out.with_columns(_inherit(ids, lead))
    status = override_status(overrides, constraints, _unit_clusters(out, constraints, "person_id"), result.refused)
    return out, result, status


def _same_account(constraints: Constraints, units: pl.DataFrame) -> Constraints:
    """A person lives in one account: a person must-link across two accounts cannot apply (an
    account-level must-link has to join the companies first)."""
    constrained = [u for pair in constraints.units_of.values() for u in pair]
    # only the constrained units' accounts (most nights none): not a dict of every person unit
    account = dict(units.filter(pl.col("record_key").is_in(constrained)).select("record_key", "account_id")
                   .iter_rows()) if constrained else {}
    musts = set(constraints.must.get_column("override").to_list())
    apart = {n for n, (a, b) in constraints.units_of.items()
             if f"override {n}" in musts and account.get(a) != account.get(b)}
    if not apart:
        return constraints
    why = "the two records are in different accounts tonight (add an account-level must-link first)"
    return Constraints(
        must=constraints.must.filter(~pl.col("override").is_in([f"override {n}" for n in apart])),
        cannot=constraints.cannot,
        stale=constraints.stale,
        refused=constraints.refused | dict.fromkeys(apart, why),
        units_of={n: pair for n, pair in constraints.units_of.items() if n not in apart},
    )


def with_switchboard(units: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Person units + ``phone_shared``: their phone is their account's switchboard — the phone of
    one of its company records, or one that two or more names give. Such a number against a
    person's direct line says nothing (rules/linkage_persons.yaml, ``neutral_if_either``)."""
    main = (records.filter(~pl.col("has_person").fill_null(False) & pl.col("phone").is_not_null()
                           & pl.col("account_id").is_not_null())
            .select("account_id", "phone", pl.lit(True).alias("__main")).unique())
    names = pl.col("person_name_key").drop_nulls().n_unique().over("account_id", "phone")
    return (units.join(main, on=["account_id", "phone"], how="left", maintain_order="left")
            .with_columns((pl.col("phone").is_not_null() & (pl.col("__main").fill_null(False) | (names > 1)))
                          .alias("phone_shared"))
            .drop("__main"))


def resolve(records: pl.DataFrame, specs: LinkageSpecs, must_link: pl.DataFrame | None = None,
            overrides: Sequence[Override] = (), folds: tuple = (), store: PairStore | None = None) -> Resolution:
    # a night's records arrive in pieces (stored rows + tonight's): every join, filter and drop_nulls
    # over them below is up to 3x slower across chunks than one contiguous copy costs once
    records = records.rechunk()
    with ThreadPoolExecutor(max_workers=1) as pool:   # the readings table is read beside account linkage
        ahead = pool.submit(warm_table, records)
        # the rows stay in this order until the end (every join below keeps the left order, as ``to``
        # says): the final order by record_key (unique) is this order's argsort, sorted beside linkage
        order = pool.submit(records.get_column("record_key").arg_sort)
        to = pointers(records, "account_ref", "contact_ref")
        with_accounts, account_result, counts, moves, account_status = resolve_accounts(records, specs, must_link,
                                                                                        overrides, store, to)
        ahead.result()
        by_key = order.result()
    resolved, person_result, person_status = resolve_persons(with_accounts, specs, overrides, folds, store, to)
    resolved = resolved[by_key]   # = resolved.sort("record_key"), without sorting the keys again
    log.info("resolved %d records into %d accounts and %d persons", resolved.height,
             resolved.get_column("account_id").n_unique(), resolved.get_column("person_id").drop_nulls().n_unique())
    table = as_table(overrides, account_status | person_status)
    counts["overrides"] = len(overrides)
    counts["overrides_stale"] = int((table.get_column("status") == "stale").sum())
    return Resolution(resolved, account_result, person_result, counts, table, moves)
