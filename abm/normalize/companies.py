"""The company columns of every distinct raw company name of a run (all kinds at once: a company is
named on cards, CRM rows and MA leads alike), in two halves: the per-name work starts in worker
processes and the normalize stage does every kind's other columns meanwhile
(``abm.normalize.unique.apply_unique_later``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from abm.contract import KINDS
from abm.normalize.company import CompanyRules, display_keys
from abm.normalize.company_columns import company_names, fast_split
from abm.normalize.reading import (
    ReadingRules,
    company_gist,
    loan_readings_later,
    needs_loans,
    with_company_gist,
)
from abm.normalize.unique import apply_unique_later


def company_column(kind: str) -> str:
    return "name" if kind == "crm_accounts" else "company_name"


def _company_table_later(raws: pl.DataFrame, cr: CompanyRules, rr: ReadingRules) -> Callable[[], pl.DataFrame]:
    """Company columns of distinct raw names: legal form split by expression where provably the
    same (``abm.normalize.company_columns``), then per distinct display name its keys and, for a
    name not in Latin letters, its cross-script reading (``company_gist``); the loan-word model
    reads the Latin names' words beside them. The display names of the names split by expression
    go to worker processes at once — before the other names are split one by one here — and the
    others (fewer, mostly Latin, cheap) are read here when the returned function is called, while
    the workers run on; it then waits for them and the loan words, and reads the Latin names' gists."""
    def per_name(name: str) -> tuple[str | None, str | None, bool, str | None]:
        key, rom = display_keys(name, cr)
        latin = needs_loans(name)
        return key, rom, latin, None if latin else company_gist(name, rr, rom)

    outputs = {"company_key": pl.Utf8, "company_romaji": pl.Utf8, "_latin": pl.Boolean, "_gist": pl.Utf8}
    split = fast_split(raws, "_company_raw", cr)
    first = split.filter(pl.col("_cc_fast")).select(pl.col("_cc_name_f").alias("company_name")).unique()
    keys_first = apply_unique_later(first, ["company_name"], per_name, outputs,
                                    only=pl.col("company_name").is_not_null(), cache="company_keys_gist",
                                    background=True)   # the normalize stage does every kind's other columns meanwhile
    names = company_names(raws, "_company_raw", cr, split)
    rest = names.select("company_name").drop_nulls().unique().join(first, on="company_name", how="anti")
    keys_rest = apply_unique_later(rest, ["company_name"], per_name, outputs, cache="company_keys_gist_rest",
                                   background=True)
    loans = loan_readings_later(names, rr, background=True)

    def finish() -> pl.DataFrame:
        later = keys_rest()   # first: in this process (few), while the workers read the others
        keys = pl.concat([keys_first(), later])
        df = names.join(keys, on="company_name", how="left", nulls_equal=True, maintain_order="left")
        df = with_company_gist(df, rr, loans(), only=pl.col("_latin").fill_null(False))
        return df.with_columns(pl.coalesce("company_gist", "_gist").alias("company_gist")).drop("_latin", "_gist")
    return finish


def companies_later(tables: Mapping[str, pl.DataFrame], cr: CompanyRules,
                    rr: ReadingRules) -> Callable[[], pl.DataFrame]:
    """Company columns once per distinct raw name across the kinds (see the module doc); call the
    returned function once, to get them."""
    raws = [df.select(pl.col(company_column(kind)).cast(pl.Utf8).alias("_company_raw"))
            for kind, df in tables.items() if kind in KINDS and company_column(kind) in df.columns]
    uniques = pl.concat(raws).unique() if raws else pl.DataFrame(schema={"_company_raw": pl.Utf8})
    return _company_table_later(uniques, cr, rr)
