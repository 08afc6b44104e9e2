"""The company columns of a table (``company_name``, ``company_key``, ``company_romaji``,
``legal_form``) at table speed.

Two steps, each with the same results as ``split_legal_form`` and ``display_keys`` value by value
(``tests/test_normalize_company_columns.py`` checks it on random and hostile strings):

1. **Legal form**, per row. The usual spellings — ``株式会社山田運輸``, ``山田運輸 株式会社``,
   ``（株）山田運輸``, ``㈱山田運輸``, ``山田運輸`` — are split by polars expressions: a name made only
   of kanji and kana (which cleaning leaves as it is) with at most one legal form at either end,
   found by the same regular expressions as ``company_rules`` (polars' regex engine has the same
   leftmost-first semantics; the patterns use no look-around). Anything else — Latin names,
   half-width kana, punctuation, a legal form in the middle or twice — goes through
   ``split_legal_form`` once per distinct value.
2. **Keys**, per distinct *display name*: variants of one company (``㈱X``, ``X株式会社``, ``X (株)``)
   share their display name, so the romaji reading (pykakasi, the expensive part) is computed once
   for all of them, cached across runs (``abm.normalize.unique``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

import polars as pl

from abm.normalize.company import (
    CompanyRules,
    _ocr_canonical_spelling,
    company_kana,
    display_keys,
    split_legal_form,
)
from abm.normalize.unique import apply_unique

#: characters that NFKC, neologdn and the katakana fixes of ``clean`` leave alone, one at a time:
#: hiragana, full-width katakana, CJK unified ideographs (not the compatibility block), ー
SAFE = "\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff"
#: ... and in sequence, except these: ー runs are shortened, 一 between katakana is a long vowel
_UNSAFE_RUNS = "ーー|[\u30a1-\u30fa\u30fc]一[\u30a1-\u30fa]"
#: around a legal form: spaces and the full-width brackets (NFKC: ASCII) and the enclosed ㈱ ㈲ …
_NFKC_CHARS = {"\u3000": " ", "（": "(", "）": ")"} | {
    c: unicodedata.normalize("NFKC", c) for c in map(chr, range(0x3200, 0x3244))
    if unicodedata.normalize("NFKC", c).startswith("(")}
_CANDIDATE = f"^[{SAFE} ()\u3000（）{''.join(c for c in _NFKC_CHARS if ord(c) >= 0x3200)}]+$"

OUTPUTS: Mapping[str, Any] = {"company_name": pl.Utf8, "company_key": pl.Utf8, "company_romaji": pl.Utf8,
                              "legal_form": pl.Utf8}


def fast_split(df: pl.DataFrame, col: str, cr: CompanyRules) -> pl.DataFrame:
    """``df`` with ``_cc_fast`` (False where the value must go through ``split_legal_form``), and
    where it is True the display name ``_cc_name_f`` and what was found (``_cc_abbr``: a bracketed
    abbreviation, ``_cc_jp``: a written-out form), by expressions (each step materialised once)."""
    anywhere, kana_start, kana_end = cr.anywhere.pattern, cr.kana_start.pattern, cr.kana_end.pattern
    raw = pl.col(col)
    df = df.with_columns(pl.when(raw.str.contains(_CANDIDATE))
                         .then(raw.str.replace_many(list(_NFKC_CHARS), list(_NFKC_CHARS.values()))).alias("_cc_t"))
    t = pl.col("_cc_t")
    df = df.with_columns(t.str.find(anywhere).alias("_cc_pos"), t.str.extract_groups(anywhere).alias("_cc_g"),
                         t.str.extract(anywhere, 0).alias("_cc_m0"))
    pos, m0 = pl.col("_cc_pos"), pl.col("_cc_m0")
    df = df.with_columns(
        pl.when(pos.is_null()).then(t)
        .when(pos == 0).then(t.str.slice(m0.str.len_chars()).str.strip_chars_start(" "))
        .when(pos + m0.str.len_bytes() == t.str.len_bytes())
        .then(t.str.slice(0, t.str.len_chars() - m0.str.len_chars()).str.strip_chars_end(" "))
        .alias("_cc_name_f"))
    name = pl.col("_cc_name_f")
    handled = (name.str.contains(f"^[{SAFE}]+$") & ~name.str.contains(_UNSAFE_RUNS) & ~name.str.contains(anywhere)
               & ~name.str.contains(kana_start) & ~name.str.contains(kana_end)).fill_null(False)
    df = df.with_columns(handled.alias("_cc_fast"))
    fast = pl.when(pl.col("_cc_fast"))
    return df.with_columns(fast.then(name).alias("_cc_name_f"),
                           fast.then(pl.col("_cc_g").struct.field("abbr")).alias("_cc_abbr"),
                           fast.then(pl.col("_cc_g").struct.field("jp")).alias("_cc_jp"),
                           ).drop("_cc_t", "_cc_pos", "_cc_g", "_cc_m0")


def _form_of(abbr: pl.Series, jp: pl.Series, cr: CompanyRules) -> pl.Series:
    """Canonical legal form of what was found (few distinct values), as ``_strip_once`` does."""
    pairs = pl.DataFrame({"a": abbr, "j": jp})
    keys = pairs.unique().rows()
    forms = [cr.canonical.get(a) if a else cr.canonical.get(_ocr_canonical_spelling(j)) if j else None
             for a, j in keys]
    table = pl.DataFrame(keys, schema={"a": pl.Utf8, "j": pl.Utf8}, orient="row").with_columns(
        pl.Series("form", forms, dtype=pl.Utf8))
    return pairs.join(table, on=["a", "j"], how="left", nulls_equal=True, maintain_order="left").get_column("form")


def company_columns(df: pl.DataFrame, col: str, cr: CompanyRules) -> pl.DataFrame:
    """``df`` with OUTPUTS' columns from the raw company name column ``col``, in one pass (the
    normalize stage starts the keys in workers and does other work meanwhile: ``abm.normalize.companies``)."""
    return apply_unique(company_names(df, col, cr), ["company_name"], lambda name: display_keys(name, cr),
                        {"company_key": pl.Utf8, "company_romaji": pl.Utf8}, only=pl.col("company_name").is_not_null())


def company_names(df: pl.DataFrame, col: str, cr: CompanyRules, split: pl.DataFrame | None = None) -> pl.DataFrame:
    """``df`` with ``company_name`` (the display name) and ``legal_form`` of the raw name ``col``
    (``split``: ``fast_split(df, col, cr)`` when the caller has it already)."""
    df = fast_split(df, col, cr) if split is None else split
    df = df.with_columns(_form_of(df.get_column("_cc_abbr"), df.get_column("_cc_jp"), cr).alias("_cc_form_f"))
    df = apply_unique(df, [col], lambda raw: split_legal_form(raw, cr), {"_cc_name_s": pl.Utf8, "_cc_form_s": pl.Utf8},
                      only=~pl.col("_cc_fast"), cache="company_split")
    fast = pl.col("_cc_fast")
    return df.with_columns(
        pl.when(fast).then(pl.col("_cc_name_f")).otherwise(pl.col("_cc_name_s")).alias("company_name"),
        pl.when(fast).then(pl.col("_cc_form_f")).otherwise(pl.col("_cc_form_s")).alias("legal_form"),
    ).drop("_cc_fast", "_cc_name_f", "_cc_abbr", "_cc_jp", "_cc_form_f", "_cc_name_s", "_cc_form_s")


#: a name_kana value of full-width katakana words: ``company_kana`` only drops the spaces
_KATAKANA_WORDS = "^[\u30a1-\u30fa\u30fc]+(?:[ \u3000][\u30a1-\u30fa\u30fc]+)*$"


def company_kana_column(df: pl.DataFrame, col: str, out: str, cr: CompanyRules) -> pl.DataFrame:
    """``df`` with ``out`` = ``company_kana(col)``: by expression for katakana words without a kana
    legal form at either end (the usual name_kana), else once per distinct value (cached)."""
    raw = pl.col(col)
    fast = (raw.str.contains(_KATAKANA_WORDS) & ~raw.str.contains("ーー") & ~raw.str.contains(cr.kana_start.pattern)
            & ~raw.str.contains(cr.kana_end.pattern) & ~raw.str.contains(cr.anywhere.pattern)).fill_null(False)
    df = df.with_columns(fast.alias("_ck_fast"))
    df = apply_unique(df, [col], lambda v: (company_kana(v, cr),), {"_ck_slow": pl.Utf8},
                      only=~pl.col("_ck_fast"), cache="company_kana")
    return df.with_columns(
        pl.when(pl.col("_ck_fast")).then(raw.str.replace_all("[ \u3000]", "")).otherwise(pl.col("_ck_slow")).alias(out)
    ).drop("_ck_fast", "_ck_slow")
