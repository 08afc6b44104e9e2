"""Anchor a record without a place (a web form) to the one corporation of its name this run knows.

A record with no prefecture and no postal code cannot be anchored by name against the registry:
the registry holds thousands of same-named corporations (``abm.registry.match``: ``no_place``).
But a run knows more than the registry: which of those corporations its *other* records are
anchored to. A place-less record is anchored (method ``in_run``; the note names how its name
matched: ``name``, ``former_name``, ``furigana``, ``english_name``) when all of these hold:

1. of the corporations its name matches (current, former, furigana or English name; legal form
   not disagreeing), exactly one is anchored by some record of this run (by 法人番号 or by name
   and place);
2. that corporation is not *contested*: no record of this run that has a place and matched it
   by name was left unanchored (``ambiguous`` / ``elsewhere``: a same-named company, or a branch
   office, that the registry could not place) — such a record may be the web form's company —
   unless that record shares an office phone or a corporate domain with the corporation's anchored
   records (then it is one of its own, e.g. its CRM account written in Latin letters);
3. the record's corporate e-mail domain (not free mail) is not carried by records anchored to
   another corporation, nor by a record anchored nowhere whose name matched other corporations
   but not this one (another name, or the legal form disagrees); and when records anchored to it
   under a name of the same era (current, or former) carry a corporate domain, the record's domain
   is one of the corporation's (a renamed company changes its domain with its name);
4. its landline, when it has one, is in an office (area code + exchange, the first six digits) of
   a record anchored to that corporation — when those records have any landline: a web form
   naming 桜運輸 with a Fukuoka number is not the Tokyo 桜運輸 the run knows;
5. a Latin name met the corporation's furigana literally (Tokyo Kogyo = トウキョウコウギョウ), not
   through a translated word ("Tokyo Industries" may be 東京興業 or 東京産業) — unless its landline is
   in an office of the corporation's records.

This is what links a renamed company's web forms written with the new name (or the registry's
English name) to its records printed before the rename, and the same-named sister it must not
meet stays apart: a sister anchored in the run makes rule 1 fail, a sister left unanchored at its
place makes rule 2 fail. A same-named company that has no record with a place in this run is not
seen — the same limit as ``attach_unique`` without a registry.
"""

from __future__ import annotations

import polars as pl

IN_RUN = "in_run"


def anchor_in_run(decided: pl.DataFrame, candidates: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """``decided`` (the anchors, one row per record) with place-less records anchored where rules 1–3
    hold. ``candidates``: record_key, corporate_number, method, value, has_place — every corporation
    each record's name matched, before the place was checked."""
    if decided.height == 0 or candidates.height == 0:
        return decided
    anchored = decided.filter(pl.col("registry_number").is_not_null())
    in_run = anchored.select(pl.col("registry_number").alias("corporate_number")).unique()
    unplaced = decided.filter(pl.col("registry_number").is_null() & pl.col("anchor_note").is_in(
        ["ambiguous", "elsewhere"])).select("record_key")
    contesting = candidates.filter(pl.col("has_place")).join(unplaced, on="record_key").select(
        "record_key", "corporate_number").unique()
    # a record the registry could not place that shares an office phone or a corporate domain with
    # the corporation's anchored records is one of its own (its CRM account written in Latin letters)
    contested = contesting.join(_own(contesting, anchored, records), on=["record_key", "corporate_number"],
                                how="anti").select("corporate_number").unique()
    free = candidates.filter(~pl.col("has_place")).join(in_run, on="corporate_number")
    per_record = free.group_by("record_key").agg(pl.col("corporate_number").n_unique().alias("n"))
    pick = (free.join(per_record.filter(pl.col("n") == 1), on="record_key")
            .join(contested, on="corporate_number", how="anti")
            .group_by("record_key", "corporate_number", "method").agg(pl.col("value").first(),
                                                                      pl.col("literal").any()))
    in_office = _own(pick.select("record_key", "corporate_number").unique(), anchored,
                     records.select([c for c in ("record_key", "phone") if c in records.columns]))
    pick = pick.join(in_office.with_columns(pl.lit(True).alias("_office")), on=["record_key", "corporate_number"],
                     how="left").filter(pl.col("literal") | pl.col("_office").fill_null(False)).drop("_office")
    pick = _phone_agrees(_domain_agrees(pick, anchored, records), anchored, records)
    pick = _no_stranger_on_domain(pick, anchored, candidates, records)
    pick = _current_domain_agrees(pick, anchored, records)
    if pick.height == 0:
        return decided
    order = {m: i for i, m in enumerate(("name", "former_name", "furigana", "english_name"))}
    new = (pick.with_columns(pl.col("method").replace_strict(order, default=len(order), return_dtype=pl.Int32)
                             .alias("_rank"))
           .sort("record_key", "_rank").group_by("record_key", maintain_order=True).first()
           .select("record_key", pl.col("corporate_number").alias("registry_number"),
                   pl.lit(IN_RUN).alias("anchor_method"), pl.col("value").alias("anchor_name"),
                   pl.lit(1, pl.UInt32).alias("candidates"), pl.col("method").alias("anchor_note")))
    return pl.concat([decided.join(new.select("record_key"), on="record_key", how="anti"),
                      new.cast(decided.schema)])  # type: ignore[arg-type]


def _contacts(records: pl.DataFrame) -> pl.DataFrame:
    """record_key -> contact: its corporate e-mail domain and its landline's office (first six digits)."""
    parts = []
    if "email_domain" in records.columns:
        corporate = pl.col("email_domain").is_not_null()
        if "is_free_mail" in records.columns:
            corporate = corporate & ~pl.col("is_free_mail").fill_null(False)
        parts.append(records.filter(corporate).select("record_key", ("@" + pl.col("email_domain")).alias("contact")))
    if "phone" in records.columns:
        parts.append(records.filter(pl.col("phone").str.len_chars() >= 10).select(
            "record_key", pl.col("phone").str.head(_OFFICE_DIGITS).alias("contact")))
    return pl.concat(parts) if parts else pl.DataFrame(schema={"record_key": pl.Utf8, "contact": pl.Utf8})


def _own(pairs: pl.DataFrame, anchored: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """The (record_key, corporate_number) pairs whose record shares a domain or an office with
    records anchored to that corporation."""
    contacts = _contacts(records)
    known = (anchored.select("record_key", pl.col("registry_number").alias("corporate_number"))
             .join(contacts, on="record_key").select("corporate_number", "contact").unique())
    return (pairs.join(contacts, on="record_key").join(known, on=["corporate_number", "contact"], how="semi")
            .select("record_key", "corporate_number").unique())


def _domain_agrees(pick: pl.DataFrame, anchored: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Rule 3: drop picks whose corporate domain belongs to records anchored to another corporation."""
    if "email_domain" not in records.columns or pick.height == 0:
        return pick
    corporate = pl.col("email_domain").is_not_null()
    if "is_free_mail" in records.columns:
        corporate = corporate & ~pl.col("is_free_mail").fill_null(False)
    domains = records.filter(corporate).select("record_key", "email_domain")
    owners = (anchored.select("record_key", "registry_number").join(domains, on="record_key")
              .select("email_domain", pl.col("registry_number").alias("owner")).unique())
    clash = (pick.select("record_key", "corporate_number").join(domains, on="record_key")
             .join(owners, on="email_domain")
             .group_by("record_key", "corporate_number")
             .agg((pl.col("owner") == pl.col("corporate_number")).any().alias("own"),
                  (pl.col("owner") != pl.col("corporate_number")).any().alias("other"))
             .filter(pl.col("other") & ~pl.col("own")))
    return pick.join(clash.select("record_key"), on="record_key", how="anti")


def _no_stranger_on_domain(pick: pl.DataFrame, anchored: pl.DataFrame, candidates: pl.DataFrame,
                           records: pl.DataFrame) -> pl.DataFrame:
    """Rule 3 (b): drop picks whose corporate domain is on another record that is anchored nowhere
    and whose name matched other corporations but not this one (有限会社石田製作所's lead shares the
    domain of a web form "Ishida Seisakusho": the form is that 有限会社's, not the 株式会社 the run
    knows). A record whose name matched nothing (a typo, 口一タス印刷) says nothing."""
    if "email_domain" not in records.columns or "company_name" not in records.columns or pick.height == 0:
        return pick
    corporate = pl.col("email_domain").is_not_null() & pl.col("company_name").is_not_null()
    if "is_free_mail" in records.columns:
        corporate = corporate & ~pl.col("is_free_mail").fill_null(False)
    domains = records.filter(corporate).select("record_key", "email_domain")
    fits = candidates.select(pl.col("record_key").alias("other"), "corporate_number").unique()
    named = fits.select("other").unique().join(anchored.select(pl.col("record_key").alias("other")), on="other",
                                               how="anti")
    others = (pick.select("record_key", "corporate_number").join(domains, on="record_key")
              .join(domains.rename({"record_key": "other"}), on="email_domain")
              .filter(pl.col("other") != pl.col("record_key"))
              .join(named, on="other", how="semi"))
    strangers = others.join(fits, on=["other", "corporate_number"], how="anti")
    return pick.join(strangers.select("record_key").unique(), on="record_key", how="anti")


def _current_domain_agrees(pick: pl.DataFrame, anchored: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Rule 3 (c): drop picks with a corporate domain that none of the corporation's anchored records
    carries, when records anchored under a name of the same era carry one ("Ueda Electric"
    @ueda-denki.com is not the 上田電機 whose cards say @ueda-denki.co.jp). A renamed company changes
    its domain with its name: a form written with the new name is checked against the records
    anchored by a current name, one written with the former name against those anchored by it."""
    contacts = _contacts(records.select([c for c in ("record_key", "email_domain", "is_free_mail")
                                         if c in records.columns]))
    if contacts.height == 0 or pick.height == 0:
        return pick
    era = (pl.col("anchor_method") == "former_name").alias("former")
    known = (anchored.select("record_key", pl.col("registry_number").alias("corporate_number"), era)
             .join(contacts, on="record_key"))
    own = (pick.select("record_key", "corporate_number", (pl.col("method") == "former_name").alias("former"))
           .join(contacts, on="record_key"))
    checked = own.join(known.select("corporate_number", "former").unique(), on=["corporate_number", "former"],
                       how="semi")
    agree = checked.join(known.select("corporate_number", "contact").unique(), on=["corporate_number", "contact"],
                         how="semi")
    refuse = checked.join(agree.select("record_key"), on="record_key", how="anti")
    return pick.join(refuse.select("record_key").unique(), on="record_key", how="anti")


#: a landline's office: area code + exchange (03-5995-xxxx), as ``phone_office`` in linkage_accounts.yaml
_OFFICE_DIGITS = 6


def _phone_agrees(pick: pl.DataFrame, anchored: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Rule 4: drop picks whose landline is in no office of the corporation's anchored records
    (when those records have a landline at all)."""
    if "phone" not in records.columns or pick.height == 0:
        return pick
    office = pl.col("phone").str.head(_OFFICE_DIGITS)
    phones = records.filter(pl.col("phone").str.len_chars() >= 10).select("record_key", office.alias("office"))
    known = (anchored.select("record_key", pl.col("registry_number").alias("corporate_number"))
             .join(phones, on="record_key").select("corporate_number", "office").unique())
    own = pick.select("record_key", "corporate_number").join(phones, on="record_key")
    has_known = own.join(known.select("corporate_number").unique(), on="corporate_number", how="semi")
    agree = has_known.join(known, on=["corporate_number", "office"], how="semi")
    refuse = has_known.join(agree.select("record_key"), on="record_key", how="anti")
    return pick.join(refuse.select("record_key"), on="record_key", how="anti")
