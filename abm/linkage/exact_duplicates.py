"""Exact duplicates: units identical in every column a spec reads share one representative.

``pl.col(id).min().over(signature)`` says this directly, but a window over 16-18 string columns
groups every row by all of them (≈ 0.5 s for 150 k account units, 1 s for 170 k person units).
Most units have no twin, so the work is narrowed twice: one 64-bit hash per row finds the rows
whose hash repeats (only they can have a twin), and only those are grouped. A hash can collide,
so the grouping by hash is used only when it is proven exact (as many distinct hashes as
distinct rows among those rows); otherwise they are grouped by the columns themselves.
"""

from __future__ import annotations

import polars as pl


def representatives(units: pl.DataFrame, id_column: str, signature: list[str]) -> pl.Series:
    """Per row of ``units``: the smallest ``id_column`` among the rows equal to it in every
    ``signature`` column (nulls equal to nulls) — ``pl.col(id_column).min().over(signature)``."""
    ids = units.get_column(id_column)
    if not signature or units.height == 0:
        return ids.clone()
    hashes = _row_hashes(units, signature)
    maybe = hashes.is_duplicated()          # a row whose hash is unique has no twin
    if not maybe.any():
        return ids.clone()
    twins = units.filter(maybe).select(id_column, *signature)
    twin_hashes = hashes.filter(maybe)
    exact = twins.select(pl.struct(signature).n_unique()).item() == twin_hashes.n_unique()
    by: pl.Series | list[str] = twin_hashes if exact else signature   # a collision: group by the values
    reps = twins.select(pl.col(id_column).min().over(by)).to_series()
    return ids.clone().scatter(maybe.arg_true(), reps)


def _row_hashes(units: pl.DataFrame, signature: list[str]) -> pl.Series:
    """One 64-bit hash per row over ``signature`` (equal rows, equal hashes; unequal ones may collide).
    ``hash_rows`` combines the columns' hashes without building a struct of them first: 0.042 →
    0.017 s CPU for 150 k account units over 16 columns."""
    return units.select(signature).hash_rows()
