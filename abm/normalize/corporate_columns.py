"""法人番号 columns at table speed: ``normalize_corporate_number`` of a column.

A value that is already 13 ASCII digits without a leading zero (the usual CRM cell) is checked by
polars expressions: ``normalize_corporate_number`` leaves such a value as it is (NFKC, ``strip`` and
its three substitutions do not touch ASCII digits), so only the check digit decides. Anything else
(full-width digits, hyphens, spaces, the ``T`` of an invoice number, an Excel ``.0`` tail, junk) goes
through ``normalize_corporate_number`` once per distinct value. ``tests/test_normalize_corporate_columns.py``
checks both paths against the function value by value.
"""

from __future__ import annotations

import polars as pl

from abm.normalize.contact import normalize_corporate_number
from abm.normalize.unique import apply_unique

#: what ``normalize_corporate_number`` returns unchanged when its check digit holds
PLAIN_CORPORATE = r"^[1-9][0-9]{12}$"


def check_digit(value: pl.Expr) -> pl.Expr:
    """``corporate_number_check_digit(value[1:])`` of a 13-digit string: 9 − (Σ digit × weight) mod 9,
    the weight 1 at the even string positions 2, 4 … 12 and 2 at the odd ones 1, 3 … 11."""
    total = pl.sum_horizontal(
        value.str.slice(k, 1).cast(pl.Int32) * (1 if k % 2 == 0 else 2) for k in range(1, 13)
    )
    return 9 - total % 9


def corporate_number_columns(df: pl.DataFrame, col: str, number: str, invalid: str) -> pl.DataFrame:
    """``df`` + ``number``, ``invalid`` = ``normalize_corporate_number(col)``, once per distinct value."""
    values = df.select(pl.col(col).unique())
    raw = pl.col(col)
    values = values.with_columns(raw.str.contains(PLAIN_CORPORATE).fill_null(False).alias("_cn_plain"))
    plain = pl.col("_cn_plain")
    valid = raw.str.slice(0, 1).cast(pl.Int32) == check_digit(raw)
    values = values.with_columns(pl.when(plain).then(valid).alias("_cn_valid"))
    values = apply_unique(values, [col], normalize_corporate_number, {"_cn_n": pl.Utf8, "_cn_bad": pl.Boolean},
                          only=~plain)
    ok = pl.col("_cn_valid")
    values = values.select(
        col,
        pl.when(plain).then(pl.when(ok).then(raw)).otherwise(pl.col("_cn_n")).alias(number),
        pl.when(plain).then(~ok).otherwise(pl.col("_cn_bad")).alias(invalid),
    )
    return df.join(values, on=col, how="left", nulls_equal=True, maintain_order="left")
