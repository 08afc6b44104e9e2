"""CRM records sales ops can merge: several CRM accounts resolved to one company, several CRM
contacts resolved to one person (``crm_duplicates.parquet``).

Survivor rule (the record the others merge into), first difference wins; ``survivor_rule`` names
the rule that decided against each duplicate:
1. ``has_corporate_number`` — accounts only: the record with a valid 法人番号;
2. ``most_activity`` — the most records pointing at it (accounts: contacts and opportunities;
   contacts: opportunities), then the most touches (contacts with a last activity date count one more);
3. ``oldest`` — the earliest date (accounts: the earliest dated record pointing at it; contacts:
   created_on);
4. ``smallest_id`` — the smallest CRM id, so the answer never depends on row order.

Salesforce merges at most three records at once: a group of more than three is listed as several
merges (``merge_group``) of at most two duplicates each, all into the same survivor.
``shared`` lists the fields a duplicate has in common with its survivor (the full evidence of the
merge: ``abm explain <account_id>``).
"""

from __future__ import annotations

from typing import Any

import polars as pl

SCHEMA: dict[str, Any] = {"kind": pl.Utf8, "crm_id": pl.Utf8, "duplicate_of": pl.Utf8, "account_id": pl.Utf8, "person_id": pl.Utf8,
          "evidence": pl.List(pl.Utf8), "survivor_rule": pl.Utf8, "merge_group": pl.Utf8, "shared": pl.List(pl.Utf8)}
MERGE_SIZE = 3  # records per merge, survivor included (Salesforce's merge tool)
#: per kind: the entity column, the survivor criteria (column, descending?) and the fields compared for `shared`
KINDS = {
    "crm_accounts": ("account_id", [("has_corporate_number", True), ("most_activity", True), ("oldest", False)],
                     ("corporate_number", "company_key", "company_domain", "phone", "postal_code")),
    "crm_contacts": ("person_id", [("most_activity", True), ("oldest", False)],
                     ("email", "person_name_key", "mobile", "phone", "name_kana")),
}


def _activity(records: pl.DataFrame) -> pl.DataFrame:
    """Per record key: records pointing at it (account_ref / contact_ref) and their earliest date."""
    refs = pl.concat([
        records.select(pl.col("account_ref").alias("record_key"), "record_date"),
        records.select(pl.col("contact_ref").alias("record_key"), "record_date"),
    ]).cast({"record_key": pl.Utf8}).drop_nulls("record_key")
    return refs.group_by("record_key").agg(pl.len().alias("n_pointing"), pl.col("record_date").min().alias("first_ref"))


def crm_duplicates(records: pl.DataFrame) -> pl.DataFrame:
    """One row per CRM account / contact that should merge into another record of its kind."""
    activity = _activity(records)
    out = []
    for kind, (entity, criteria, fields) in KINDS.items():
        # the columns read below, before filtering: the records table is wide (≈ 60 columns)
        read = {"record_key", "kind", "source_id", "account_id", "person_id", "corporate_number", "last_activity_on",
                "record_date", entity, *fields}
        crm = records.select(c for c in records.columns if c in read).filter((pl.col("kind") == kind) & pl.col(entity).is_not_null()).join(
            activity, on="record_key", how="left")
        crm = crm.with_columns(
            pl.col("corporate_number").is_not_null().alias("has_corporate_number"),
            (pl.col("n_pointing").fill_null(0) + pl.col("last_activity_on").is_not_null().cast(pl.UInt32))
            .alias("most_activity"),
            (pl.col("first_ref") if kind == "crm_accounts" else pl.col("record_date")).alias("oldest"),
            pl.len().over(entity).alias("__n"),
        ).filter(pl.col("__n") > 1)
        if crm.height == 0:
            continue
        names = [c for c, _ in criteria]
        ranked = crm.sort([entity, *names, "source_id"], descending=[False, *[d for _, d in criteria], False],
                          nulls_last=True).with_columns(pl.int_range(pl.len()).over(entity).alias("__pos"))
        survivor = ranked.filter(pl.col("__pos") == 0).select(
            entity, pl.col("source_id").alias("duplicate_of"), pl.col("record_key").alias("__skey"),
            *[pl.col(c).alias(f"__s_{c}") for c in (*names, *fields)])
        dups = ranked.filter(pl.col("__pos") > 0).join(survivor, on=entity)
        decided = pl.coalesce(*[pl.when(_differs(pl.col(c), pl.col(f"__s_{c}"))).then(pl.lit(c)) for c in names],
                              pl.lit("smallest_id"))
        shared = pl.concat_list([pl.when(pl.col(f) == pl.col(f"__s_{f}")).then(pl.lit(f)) for f in fields]) \
            .list.drop_nulls()
        out.append(dups.select(
            pl.lit(kind).alias("kind"), pl.col("source_id").alias("crm_id"), "duplicate_of", "account_id",
            pl.col("person_id") if kind == "crm_contacts" else pl.lit(None, pl.Utf8).alias("person_id"),
            pl.concat_list("record_key", "__skey").alias("evidence"), decided.alias("survivor_rule"),
            pl.format("{}-{}", pl.col("duplicate_of"), ((pl.col("__pos") - 1) // (MERGE_SIZE - 1) + 1))
            .alias("merge_group"),
            shared.alias("shared"),
        ))
    if not out:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat(out).cast(SCHEMA).sort("kind", "duplicate_of", "crm_id")  # type: ignore[arg-type]


def _differs(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (a != b).fill_null(a.is_null() != b.is_null())
