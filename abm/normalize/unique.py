"""Per-distinct-value evaluation: the one helper for Python work that has no vectorised form.

Normalisation of a name, a department or a date string is pure Python (rules, readings, regular
expressions); tables repeat the same values many times. Every such function is therefore applied
once per distinct input (tuple), and the result is joined back. Above ``PARALLEL_MIN`` distinct
values the work is split in chunks over worker processes (``ABM_WORKERS``, default: the machine's
cores, at most 4; ``ABM_WORKERS=1`` turns it off). Workers are forked, so the function — usually a
closure over the loaded rules — needs no pickling; results come back in order, so the output is
the same whatever the number of workers. ``apply_unique_later`` starts the workers and returns: the
caller works meanwhile (the normalize stage normalises every kind's other columns while workers read
the company names), then joins the results.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

log = logging.getLogger(__name__)

#: distinct values below which one process does the work (forking costs more than it saves)
PARALLEL_MIN = 20_000
CHUNK = 4_000

_FN: Callable[..., Any] | None = None   # the function a forked worker calls (set by ``_install``)


def workers() -> int:
    """Worker processes for per-value work: ``ABM_WORKERS`` or the cores (at most 4)."""
    raw = os.environ.get("ABM_WORKERS", "")
    if raw.strip().isdigit():
        return max(1, int(raw))
    return max(1, min(4, os.cpu_count() or 1))


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread within the block. Per-value work (the e2k loan-word model) makes
    thousands of tiny matrix products; BLAS threads only add hand-offs to them (measured: ~7x
    slower per word with the default threads on a loaded 2-core machine). Same results."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency; without it, only slower
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _run_chunk(rows: list[tuple[Any, ...]]) -> list[Any]:
    assert _FN is not None
    return [_FN(*row) for row in rows]


#: niceness added to workers whose caller works meanwhile (``background``). The caller is the stage's
#: critical path: with equal priority, the main process and its workers share the cores evenly, the
#: main process ends last and a core idles at the end. Linux CFS gives a nice-10 process ~1/10 of a
#: contended core, so the caller keeps one; an idle core still runs the workers at full speed.
BACKGROUND_NICE = 10


def _install(fn: Callable[..., Any], nice: int = 0) -> None:
    """Pool initializer: the function a forked worker calls (fork: ``fn`` is inherited, not pickled),
    and the niceness the worker adds to its own."""
    global _FN
    _FN = fn
    if nice:
        try:
            os.nice(nice)
        except OSError:  # pragma: no cover - raising one's own niceness is always allowed on Linux
            pass


#: worker pools started by ``map_values_later`` whose results nobody has collected yet
_LIVE: set[Any] = set()


def stop_workers() -> None:
    """End every pool whose results were not collected: the caller failed between starting the
    per-value work and waiting for it (otherwise the workers would run on until garbage-collected)."""
    while _LIVE:
        pool = _LIVE.pop()
        pool.terminate()
        pool.join()


def map_values(fn: Callable[..., Any], rows: Sequence[tuple[Any, ...]], min_rows: int | None = None,
               chunk: int | None = None) -> list[Any]:
    """``[fn(*row) for row in rows]``, over worker processes when there are at least ``min_rows``
    rows (default ``PARALLEL_MIN``; lower it for work that is heavy per row, like graph files)."""
    return map_values_later(fn, rows, min_rows, chunk)()


@dataclass(frozen=True)
class Batched:
    """A per-value function vectorised over values (the loan-word model reads a batch of words in the
    numpy calls of one): ``many(rows)`` gives every row's result in order. ``map_values_later`` calls
    it once, in this process — in a thread when the caller works meanwhile (numpy leaves the GIL
    in its products) — instead of row by row over worker processes."""
    many: Callable[[list[tuple[Any, ...]]], list[Any]]

    def __call__(self, *row: Any) -> Any:
        return self.many([row])[0]


def _batch_later(fn: Batched, rows: list[tuple[Any, ...]], background: bool) -> Callable[[], list[Any]]:
    if not rows:   # every value cached
        return list
    if not background:
        return lambda: fn.many(rows)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="abm-batch")
    pending = pool.submit(fn.many, rows)
    pool.shutdown(wait=False)   # the one task runs on; its thread ends with it
    return pending.result


def map_values_later(fn: Callable[..., Any], rows: Sequence[tuple[Any, ...]], min_rows: int | None = None,
                     chunk: int | None = None, background: bool = False) -> Callable[[], list[Any]]:
    """``map_values`` in two halves: the worker processes start now and the returned function waits
    for their results, so the caller can do other work meanwhile (both cores busy). Without workers
    (few rows, ``ABM_WORKERS=1``, no fork) the work is done when the function is called. Call it
    exactly once (it also stops the workers). ``background``: the caller does work meanwhile, so the
    workers run at a lower CPU priority (``BACKGROUND_NICE``); same results."""
    if isinstance(fn, Batched):
        return _batch_later(fn, list(rows), background)
    n = workers()
    if n == 1 or len(rows) < (PARALLEL_MIN if min_rows is None else min_rows) \
            or "fork" not in multiprocessing.get_all_start_methods():
        return lambda: [fn(*row) for row in rows]
    size = chunk or min(CHUNK, -(-len(rows) // n))  # every worker gets a share of a short list
    chunks = [list(rows[o:o + size]) for o in range(0, len(rows), size)]
    try:
        pool = multiprocessing.get_context("fork").Pool(n, initializer=_install,
                                                        initargs=(fn, BACKGROUND_NICE if background else 0))
        _LIVE.add(pool)
        pending = pool.map_async(_run_chunk, chunks, chunksize=1)
    except (OSError, RuntimeError) as exc:  # no fork here (sandbox, limits): same result, one process
        log.warning("per-value work in one process: %s", exc)
        return lambda: [fn(*row) for row in rows]

    def wait() -> list[Any]:
        try:
            parts = pending.get()
        finally:
            _LIVE.discard(pool)
            pool.terminate()
            pool.join()
        return [value for part in parts for value in part]
    return wait


def apply_unique(df: pl.DataFrame, inputs: Sequence[str], fn: Callable[..., Sequence[Any]],
                 outputs: Mapping[str, Any], only: pl.Expr | None = None, cache: str | None = None,
                 min_rows: int | None = None) -> pl.DataFrame:
    """Append ``outputs`` columns: ``fn(*row)`` evaluated once per distinct tuple of ``inputs``
    (of the rows where ``only`` holds; the other rows get nulls). ``cache``: a name under which the
    results are kept across runs (only for a pure function of its inputs and the rules).
    ``min_rows``: distinct values from which workers share the work (``map_values``; lower it for
    work that is heavy per value)."""
    return apply_unique_later(df, inputs, fn, outputs, only, cache, min_rows)()


def apply_unique_later(df: pl.DataFrame, inputs: Sequence[str], fn: Callable[..., Sequence[Any]],
                       outputs: Mapping[str, Any], only: pl.Expr | None = None, cache: str | None = None,
                       min_rows: int | None = None, background: bool = False) -> Callable[[], pl.DataFrame]:
    """``apply_unique`` in two halves (``map_values_later``): the per-value work starts now, the
    returned function waits for it and joins the results onto ``df``. Call it once, within the same
    ``value_cache`` block. ``background``: as ``map_values_later``'s (the caller works meanwhile)."""
    keys = (df if only is None else df.filter(only)).select(inputs).unique()
    if keys.height == 0:  # e.g. every row took the vectorised fast path
        return lambda: df.with_columns(pl.lit(None, t).alias(c) for c, t in outputs.items())
    if cache and _CACHE is not None:
        mapped = _cached_map_later(cache, keys, fn, outputs, min_rows, background)
    else:
        mapped = _map_later(keys, fn, outputs, min_rows, background)
    return lambda: df.join(mapped(), on=list(inputs), how="left", nulls_equal=True, maintain_order="left")


def _map_later(keys: pl.DataFrame, fn: Callable[..., Sequence[Any]], outputs: Mapping[str, Any],
               min_rows: int | None, background: bool = False) -> Callable[[], pl.DataFrame]:
    pending = map_values_later(fn, list(keys.iter_rows()), min_rows, background=background)
    return lambda: pl.concat([keys, _values(pending(), outputs)], how="horizontal")


def _values(results: list[Any], outputs: Mapping[str, Any]) -> pl.DataFrame:
    """The results (one tuple per value) as a frame of ``outputs``' columns and dtypes."""
    rows = [tuple(r) for r in results]
    if not rows:
        return pl.DataFrame(schema=dict(outputs))
    lists = [i for i, t in enumerate(outputs.values()) if t == pl.List(pl.Utf8)]
    if not lists or any(len(r) != len(outputs) for r in rows):
        return pl.DataFrame(rows, schema=dict(outputs), orient="row")
    # polars builds a list column from Python sequences at ~30 µs a row: by string split instead
    names = list(outputs)
    columns = list(zip(*rows, strict=True))
    scalar = [i for i in range(len(names)) if i not in lists]
    out = pl.DataFrame([tuple(r[i] for i in scalar) for r in rows], schema={names[i]: outputs[names[i]] for i in scalar},
                       orient="row") if scalar else pl.DataFrame()
    out = out.with_columns(_str_lists(names[i], columns[i]) for i in lists)
    return out.select(names)


_SEP = "\x1f"


def _str_lists(name: str, values: Sequence[Any]) -> pl.Series:
    """``pl.Series(name, values, dtype=pl.List(pl.Utf8))`` of sequences of strings (or None) — the
    same column, built by joining each sequence on a separator none of its strings holds and
    splitting it again in polars (anything else: polars' own conversion)."""
    if not all(v is None or (isinstance(v, (tuple, list)) and all(isinstance(t, str) and _SEP not in t for t in v))
               for v in values):
        return pl.Series(name, values, dtype=pl.List(pl.Utf8))
    frame = pl.DataFrame({"j": [None if v is None else _SEP.join(v) for v in values],
                          "e": [v is not None and not v for v in values]}, schema={"j": pl.Utf8, "e": pl.Boolean})
    return frame.select(pl.col("j").str.split(_SEP).list.slice(0, pl.when(pl.col("e")).then(0).otherwise(None))
                        .alias(name)).to_series()


def map_unique(values: pl.Series, fn: Callable[[Any], Any], dtype: Any, default: Any = None) -> pl.Series:
    """``fn`` over a Series, evaluated once per distinct non-null value (nulls get ``default``)."""
    uniques = values.drop_nulls().unique().to_list()
    results = map_values(fn, [(v,) for v in uniques])
    return values.replace_strict(uniques, results, default=default, return_dtype=dtype).alias(values.name)


# --- cross-run cache --------------------------------------------------------------------------
# Expensive per-value results (readings, romaji, person name parts) are the same from one night
# to the next. A call site that opts in (``cache="name"``) keeps them in
# ``.<OUT_DIR>.cache/<name>-<fingerprint>.parquet``, beside OUT_DIR and never inside it (OUT_DIR
# is replaced whole on publish). The fingerprint covers abm's version, the library versions and
# every rules file, so a change to any of them starts a new cache. A missing, unreadable or
# foreign file is ignored and rewritten; the output is the same with or without the cache.
# ``abm run --full`` writes the cache without reading it (a night at a first run's cost).

#: directory, fingerprint, whether to read what a previous run left, the files this run wrote
_CACHE: tuple[Path, str, bool, set[Path]] | None = None


def fingerprint(rules_root: Path) -> str:
    """abm + library versions + the bytes of every rules file."""
    from importlib import metadata

    digest = hashlib.sha256()
    for name in ("abm", "pykakasi", "jntajis-python", "neologdn", "polars", "e2k", "namedivider-python",
                 "namedivider-core"):
        try:
            digest.update(f"{name}={metadata.version(name)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=?;".encode())
    for path in sorted(p for p in Path(rules_root).rglob("*") if p.is_file()):
        digest.update(path.relative_to(rules_root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def value_cache(directory: Path | None, key: str, read: bool = True) -> Iterator[None]:
    """Within the block, call sites with ``cache=`` read and extend ``directory`` (None: off).
    ``read=False`` (``--full``): every value is computed, and the cache is rewritten with them."""
    global _CACHE
    old, _CACHE = _CACHE, ((Path(directory), key, read, set()) if directory is not None else None)
    try:
        yield
    finally:
        _CACHE = old


def _cache_path(name: str) -> tuple[Path, bool] | None:
    """The file of value cache ``name`` in this run, and whether this run may read it (``--full``:
    only what it wrote itself); None with the cache off."""
    if _CACHE is None:
        return None
    directory, key, read, written = _CACHE
    path = directory / f"{name}-{key}.parquet"
    return path, read or path in written


def cache_readable(name: str) -> bool:
    """Whether a call site with ``cache=name`` will find stored values to read in this run."""
    found = _cache_path(name)
    return found is not None and found[1] and found[0].exists()


def _cached_map_later(name: str, keys: pl.DataFrame, fn: Callable[..., Sequence[Any]],
                      outputs: Mapping[str, Any], min_rows: int | None = None,
                      background: bool = False) -> Callable[[], pl.DataFrame]:
    """The results for ``keys``: cached ones, and the misses computed (started now, awaited by the
    returned function, which also extends the cache)."""
    found = _cache_path(name)
    assert found is not None and _CACHE is not None
    path, written = found[0], _CACHE[3]
    inputs = keys.columns
    known = None
    if cache_readable(name):   # --full: only what this run wrote
        try:
            known = pl.read_parquet(path)
            if known.columns != [*inputs, *outputs] or known.schema != {**keys.schema, **dict(outputs)}:
                known = None
        except Exception as exc:  # noqa: BLE001 - a broken cache is only a slower run
            log.warning("value cache %s unreadable (%s): rebuilt", path.name, type(exc).__name__)
            known = None
    hits = keys.join(known, on=inputs, how="inner", nulls_equal=True) if known is not None else None
    misses = keys.join(known.select(inputs), on=inputs, how="anti", nulls_equal=True) if known is not None else keys
    pending = map_values_later(fn, list(misses.iter_rows()), min_rows, background=background)
    return lambda: _cache_results(name, path, written, known, hits, misses, _values(pending(), outputs))


def _cache_results(name: str, path: Path, written: set[Path], known: pl.DataFrame | None,
                   hits: pl.DataFrame | None, misses: pl.DataFrame, values: pl.DataFrame) -> pl.DataFrame:
    directory = path.parent
    computed = pl.concat([misses, values], how="horizontal")
    if computed.height:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            (pl.concat([known, computed]) if known is not None else computed).write_parquet(tmp)
            os.replace(tmp, path)
            written.add(path)
        except OSError as exc:
            log.warning("value cache %s not written (%s)", path.name, type(exc).__name__)
    log.debug("value cache %s: %d hits, %d computed", name, 0 if hits is None else hits.height, computed.height)
    return computed if hits is None else pl.concat([hits, computed])
