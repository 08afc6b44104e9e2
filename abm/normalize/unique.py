"""Per-distinct-value evaluation: the one helper for Python work that has no vectorised form.

Normalisation of a name, a department or a date string is pure Python (rules, readings, regular
expressions); tables repeat the same values many times. Every such function is therefore applied
once per distinct input (tuple), and the result is joined back. Above ``PARALLEL_MIN`` distinct
values the work is split in chunks over worker processes (``ABM_WORKERS``, default: the machine's
cores, at most 4; ``ABM_WORKERS=1`` turns it off). Workers are forked, so the function — usually a
closure over the loaded rules — needs no pickling; results come back in order, so the output is
the same whatever the number of workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

log = logging.getLogger(__name__)

#: distinct values below which one process does the work (forking costs more than it saves)
PARALLEL_MIN = 20_000
CHUNK = 4_000

_FN: Callable[..., Any] | None = None   # the function the forked workers call (set before forking)


def workers() -> int:
    """Worker processes for per-value work: ``ABM_WORKERS`` or the cores (at most 4)."""
    raw = os.environ.get("ABM_WORKERS", "")
    if raw.strip().isdigit():
        return max(1, int(raw))
    return max(1, min(4, os.cpu_count() or 1))


def _run_chunk(rows: list[tuple[Any, ...]]) -> list[Any]:
    assert _FN is not None
    return [_FN(*row) for row in rows]


def map_values(fn: Callable[..., Any], rows: Sequence[tuple[Any, ...]], min_rows: int | None = None,
               chunk: int | None = None) -> list[Any]:
    """``[fn(*row) for row in rows]``, over worker processes when there are at least ``min_rows``
    rows (default ``PARALLEL_MIN``; lower it for work that is heavy per row, like graph files)."""
    n = workers()
    if n == 1 or len(rows) < (PARALLEL_MIN if min_rows is None else min_rows) \
            or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(*row) for row in rows]
    global _FN
    _FN = fn
    try:
        size = chunk or CHUNK
        chunks = [list(rows[o:o + size]) for o in range(0, len(rows), size)]
        with multiprocessing.get_context("fork").Pool(n) as pool:
            parts = pool.map(_run_chunk, chunks, chunksize=1)
    except (OSError, RuntimeError) as exc:  # no fork here (sandbox, limits): same result, one process
        log.warning("per-value work in one process: %s", exc)
        return [fn(*row) for row in rows]
    finally:
        _FN = None
    return [value for part in parts for value in part]


def apply_unique(df: pl.DataFrame, inputs: Sequence[str], fn: Callable[..., Sequence[Any]],
                 outputs: Mapping[str, Any], only: pl.Expr | None = None) -> pl.DataFrame:
    """Append ``outputs`` columns: ``fn(*row)`` evaluated once per distinct tuple of ``inputs``
    (of the rows where ``only`` holds; the other rows get nulls)."""
    keys = (df if only is None else df.filter(only)).select(inputs).unique()
    if keys.height == 0:  # e.g. every row took the vectorised fast path
        return df.with_columns(pl.lit(None, t).alias(c) for c, t in outputs.items())
    rows = [tuple(r) for r in map_values(fn, list(keys.iter_rows()))]
    values = pl.DataFrame(rows, schema=dict(outputs), orient="row") if rows else pl.DataFrame(schema=dict(outputs))
    mapped = pl.concat([keys, values], how="horizontal")
    return df.join(mapped, on=list(inputs), how="left", nulls_equal=True, maintain_order="left")


def map_unique(values: pl.Series, fn: Callable[[Any], Any], dtype: Any, default: Any = None) -> pl.Series:
    """``fn`` over a Series, evaluated once per distinct non-null value (nulls get ``default``)."""
    uniques = values.drop_nulls().unique().to_list()
    results = map_values(fn, [(v,) for v in uniques])
    return values.replace_strict(uniques, results, default=default, return_dtype=dtype).alias(values.name)
