"""Output tables built from resolved records: records, accounts (persons come from detect.current)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def sort_rows(df: pl.DataFrame, by: Sequence[str], descending: bool | Sequence[bool] = False,
              nulls_last: bool = False) -> pl.DataFrame:
    """``df.sort(by, descending=descending, nulls_last=nulls_last)`` for keys that tell every two rows
    apart (or rows equal in every column): the same rows in the same order, at about half the cost.
    polars (2.1) compares several columns one after another, and ``nulls_last`` takes a slower path
    still; here a column that holds a null gets a key before it that puts its nulls first or last, and
    keys of one direction are sorted as one struct (one row encoding, one comparison per pair). At 20 k
    companies: touches 140 → 75 ms CPU, committee_edges 215 → 115 ms, a person's latest record 85 → 45 ms.
    Unstable, as ``df.sort`` is: rows equal on every key may come in any order."""
    order = [descending] * len(by) if isinstance(descending, bool) else list(descending)
    keys: list[pl.Expr] = []
    directions: list[bool] = []
    for i, (column, desc) in enumerate(zip(by, order, strict=True)):
        if df.get_column(column).null_count():
            # where its nulls go, said by a key of their own (False sorts before True): the column's
            # nulls then tie, and neither the struct nor a descending direction moves them
            null = pl.col(column).is_null() if nulls_last != desc else pl.col(column).is_not_null()
            keys.append(null.alias(f"__null_{i}"))
            directions.append(desc)
        keys.append(pl.col(column))
        directions.append(desc)
    if len(set(directions)) == 1:
        return df.sort(pl.struct(keys), descending=directions[0])
    return df.sort(keys, descending=directions)


def strictly_increasing(values: pl.Series) -> bool:
    """No null, and each value greater than the one before (strings by their bytes, as a sort orders
    them): one comparison of neighbours, where a sort would gather every row or a ``n_unique`` hash
    every value. Integer and string series only (False for the others)."""
    if not (values.dtype == pl.Utf8 or values.dtype.is_integer()) or values.null_count():
        return False
    return values.len() < 2 or bool((values.slice(1) > values.slice(0, values.len() - 1)).all())


RECORD_COLUMNS = ("record_key", "kind", "account_id", "person_id", "account_score", "person_score",
                  "source_file", "row_number")


def records_table(resolved: pl.DataFrame) -> pl.DataFrame:
    """One row per input record: where it went and the score of its strongest link (null: linked to none)."""
    return resolved.select(
        *[pl.col(c) for c in RECORD_COLUMNS],
        pl.col("company_name"), pl.col("person_name"), pl.col("department"), pl.col("title"), pl.col("rank"),
        pl.col("internal_department"), pl.col("record_date"),
    ).with_columns(pl.col("account_score").fill_nan(None), pl.col("person_score").fill_nan(None)).sort("record_key")


#: a name written in Japanese script (kanji, hiragana or katakana) — the name Japanese users know
JAPANESE_SCRIPT = r"[\p{Han}\p{Hiragana}\p{Katakana}]"


#: the record columns accounts_table reads
_ACCOUNT_INPUTS = frozenset({"account_id", "company_name", "kind", "postal_code", "phone", "company_domain", "legal_form",
                             "corporate_number", "prefecture", "person_id", "account_score", "is_free_mail"})


def accounts_table(resolved: pl.DataFrame) -> pl.DataFrame:
    """One row per account. The name is the spelling Japanese users know: among the names written
    in Japanese script (when there is one), the one most records use (a CRM account record counts
    one and a half, so it wins ties); an English CRM name is used only when no record spells the
    company in Japanese. ``names`` lists every spelling, most used first; ``postal_codes`` and
    ``phones`` tell apart same-named companies beside prefecture, domains and corporate_number."""
    # the columns read here, before filtering: the resolved table is wide (≈ 60 columns)
    named = resolved.select(c for c in resolved.columns if c in _ACCOUNT_INPUTS).filter(pl.col("account_id").is_not_null())
    spellings = (
        named.filter(pl.col("company_name").is_not_null())
        .with_columns(pl.when(pl.col("kind") == "crm_accounts").then(1.5).otherwise(1.0).alias("__vote"))
        .group_by("account_id", "company_name").agg(pl.col("__vote").sum())
        .with_columns(pl.col("company_name").str.contains(JAPANESE_SCRIPT).alias("__japanese"))
        .sort(["account_id", "__japanese", "__vote", "company_name"], descending=[False, True, True, False])
    )
    votes = spellings.group_by("account_id", maintain_order=True).agg(
        pl.col("company_name").first().alias("__voted_name"))
    names = (spellings.sort(["account_id", "__vote", "company_name"], descending=[False, True, False])
             .group_by("account_id", maintain_order=True).agg(pl.col("company_name").alias("names")))
    contacts = named.group_by("account_id").agg(
        pl.col("postal_code").drop_nulls().unique().sort().alias("postal_codes"),
        pl.col("phone").filter(pl.col("kind") == "crm_accounts").drop_nulls().unique().sort().alias("phones"),
    )
    domains = (
        named.filter(pl.col("company_domain").is_not_null())
        .group_by("account_id", "company_domain").len()
        .sort(["account_id", "len", "company_domain"], descending=[False, True, False])
        .group_by("account_id", maintain_order=True).agg(pl.col("company_domain").alias("domains"))
    )
    base = named.group_by("account_id").agg(
        pl.col("legal_form").drop_nulls().mode().sort().first().alias("legal_form"),
        pl.col("corporate_number").min().alias("corporate_number"),   # the smallest one (nulls aside)
        pl.col("prefecture").drop_nulls().mode().sort().first().alias("prefecture"),
        pl.len().alias("n_records"),
        pl.col("person_id").drop_nulls().n_unique().alias("n_persons"),
        pl.col("kind").unique().sort().alias("kinds"),
        pl.col("account_score").fill_nan(None).max().alias("max_link_score"),
        # the records that name the company themselves (an MA activity only follows its lead)
        (pl.col("kind") != "ma_activities").sum().alias("__naming"),
        (pl.col("is_free_mail").fill_null(False) & (pl.col("kind") == "ma_leads"))
        .filter(pl.col("kind") != "ma_activities").all().alias("__webmail_only"),
    )
    out = (
        base.join(votes, on="account_id", how="left").join(domains, on="account_id", how="left")
        .join(names, on="account_id", how="left").join(contacts, on="account_id", how="left")
        .with_columns(
            pl.col("__voted_name").alias("name"),
            *[pl.col(c).fill_null(pl.lit([], dtype=pl.List(pl.Utf8))) for c in ("domains", "names")],
            # low: nothing but a web form with a webmail address, linked to no other record
            pl.when(pl.col("__webmail_only") & pl.col("max_link_score").is_null()).then(pl.lit("low"))
            .when(pl.col("__naming") == 1).then(pl.lit("single_record"))
            .otherwise(pl.lit("linked")).alias("confidence"),
        )
    )
    return out.select(
        "account_id", "name", "corporate_number", "domains", "n_records", "n_persons", "legal_form", "prefecture",
        "kinds", "confidence", "names", "postal_codes", "phones",
    ).sort("account_id")
