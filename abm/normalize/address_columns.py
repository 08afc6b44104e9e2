"""Prefecture and postal code written in an address, at table speed.

An address that starts with a prefecture's full name (``神奈川県横浜市…``, the usual case) has that
prefecture and no postal code in front: ``prefecture`` and ``postal_code_from_address`` give exactly
that (cleaning does not touch the leading kanji, and no postal code starts with a kanji), so those
rows are answered by one expression; the others go through the two functions once per distinct
address (``tests/test_normalize_address_columns.py`` checks that both ways agree).
"""

from __future__ import annotations

import re

import polars as pl

from abm.normalize.contact import ContactRules, postal_code_from_address, prefecture
from abm.normalize.unique import apply_unique


def address_columns(df: pl.DataFrame, col: str, cr: ContactRules) -> pl.DataFrame:
    """``df`` with ``_postal_a`` (a postal code written at the start of ``col``) and ``_pref_a``
    (the prefecture named by the address)."""
    head = "^(" + "|".join(re.escape(p) for p in cr.prefectures) + ")"
    df = df.with_columns(pl.col(col).str.extract(head, 1).alias("_pref_fast"))
    df = apply_unique(df, [col], lambda a: (postal_code_from_address(a), prefecture(a, cr)),
                      {"_postal_slow": pl.Utf8, "_pref_slow": pl.Utf8}, only=pl.col("_pref_fast").is_null())
    fast = pl.col("_pref_fast").is_not_null()
    return df.with_columns(
        pl.when(fast).then(pl.lit(None, pl.Utf8)).otherwise(pl.col("_postal_slow")).alias("_postal_a"),
        pl.when(fast).then(pl.col("_pref_fast")).otherwise(pl.col("_pref_slow")).alias("_pref_a"),
    ).drop("_pref_fast", "_postal_slow", "_pref_slow")
