"""Incremental runs: what a spec's ``sql`` guards said of unchanged pairs comes from the previous run.

A ``sql`` guard (``abm.linkage.spec.Guard``) is a DuckDB boolean over the two units' rows, and a
candidate pair's cannot-link is the first guard of the spec that holds. So it is a pure function
of the two rows' values in the columns the guards read (``l.<column>`` / ``r.<column>``: a guard
can only read a row through these), the guards (their SQL and parameters) and DuckDB. Each unit
gets a 128-bit hash of exactly those values (every column when a guard's SQL names ``l.*``, an
unknown column or a row number); the store
keeps the last run's distinct unit hashes and, for every candidate pair, the index of the guard
that held (-1: none) under the key (left unit's index << 32) | right unit's — the layout of the
comparison store (``abm.linkage.reuse``), in ``.<OUT_DIR>.cache/guards-<spec>.parquet``. A new
run evaluates the guards only on pairs the store does not know, and the store is refused (every
pair evaluated) on any change of abm's version, the rules fingerprint, the guards, the columns'
types or DuckDB's version, and when it is missing, damaged or ``--full`` / ``--no-cache`` is given.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from abm import __version__, memory_db
from abm.linkage.block import RID
from abm.linkage.guards import cannot_links
from abm.linkage.spec import LinkageSpec
from abm.store_read import StoreReads
from abm.store_write import Background, has_repeats

log = logging.getLogger(__name__)

STORE_FORMAT = "2"
#: the stores are written every run and read back the next: lz4 writes them in about half zstd's CPU
#: (accounts at 20 k: comparisons 0.46 -> 0.24 s, guards 0.20 -> 0.08 s) for about 1.6x the bytes
STORE_COMPRESSION: Final = "lz4"
_SEEDS = (0x6A7D_0001, 0x6A7D_0002)
HASH = ["__h0", "__h1"]
PAIR = "__pair"
GUARD = "__guard"                     # index of the first sql guard that held; -1: none
_NONE = np.uint64(2**64 - 1)
_PAIR_SCHEMA = pl.Schema({f"{RID}_l": pl.UInt32(), f"{RID}_r": pl.UInt32(), "cannot_link": pl.String()})


_READS = re.compile(r'\b[lr]\.(?:"([^"]+)"|(\w+|\*))')


def guard_columns(spec: LinkageSpec, prepared: pl.DataFrame) -> list[str]:
    """The columns of ``prepared`` the spec's sql guards read (all of them when that is unclear)."""
    every = [c for c in prepared.columns if c != RID]
    by_lower = {c.lower(): c for c in every}
    named: set[str] = set()
    for guard in spec.guards:
        if guard.kind != "sql" or not guard.sql:
            continue
        if RID in guard.sql:
            return every
        for quoted, bare in _READS.findall(guard.sql):
            column = quoted or (by_lower.get(bare.lower()) if bare != "*" else None)
            if column not in every:   # l.*, or a name DuckDB would resolve otherwise
                return every
            named.add(column)
    return sorted(named)


def row_hashes(prepared: pl.DataFrame, columns: list[str], seeds: tuple[int, int] = _SEEDS) -> pl.DataFrame:
    """``__h0``, ``__h1``: a 128-bit hash of each prepared unit's values in ``columns`` (in ``__rid``
    order). Categoricals are hashed as text: their codes vary between runs."""
    if not columns:
        zeros = pl.zeros(prepared.height, pl.UInt64, eager=True)
        return pl.DataFrame({HASH[0]: zeros, HASH[1]: zeros})
    frame = prepared.select(
        pl.col(c).cast(pl.Utf8) if isinstance(prepared.schema[c], pl.Categorical | pl.Enum) else pl.col(c)
        for c in columns)
    return pl.DataFrame({HASH[0]: frame.hash_rows(seed=seeds[0]), HASH[1]: frame.hash_rows(seed=seeds[1])})


def store_digest(parts: list[object], libraries: tuple[str, ...]) -> str:
    """A store's fingerprint: its format, ``parts`` (what else its contents depend on) and the
    versions of the libraries that computed them."""
    digest = hashlib.sha256(STORE_FORMAT.encode())
    for part in parts:
        digest.update(repr(part).encode())
    for name in libraries:
        digest.update(f"{name}={_version(name)};".encode())
    return digest.hexdigest()[:16]


@functools.cache
def _version(name: str) -> str:
    """An installed library's version (``?`` when missing), looked up once per process: each lookup
    scans the installed distributions, and every store asks for several per spec."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def guards_digest(spec: LinkageSpec, prepared: pl.DataFrame, columns: list[str]) -> str:
    return store_digest([[g for g in spec.guards if g.kind == "sql"],
                         [(c, str(prepared.schema[c])) for c in columns]], ("polars", "duckdb"))


def unit_index(hashes: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """The distinct unit hashes (first occurrences, in order) and each unit's index among them, as
    ``hashes.unique(maintain_order=True)`` and a join give them. Units are nearly always distinct,
    and distinct first halves prove it by one count of a single column (~0.005 s, where the
    two-column ``unique`` took ~0.05 s per store and per run)."""
    if hashes.get_column(HASH[0]).n_unique() == hashes.height:
        return hashes, np.arange(hashes.height, dtype=np.uint64)
    units = hashes.unique(maintain_order=True)
    if units.height == hashes.height:
        return hashes, np.arange(hashes.height, dtype=np.uint64)
    # two identical rows (a pinned duplicate): one unit hash
    index = hashes.join(units.with_row_index("__u"), on=HASH, how="left",
                        maintain_order="left").get_column("__u").to_numpy().astype(np.uint64)
    return units, index


def inconsistent(units: pl.DataFrame, pairs: pl.DataFrame) -> bool:
    """A stored table of unit hashes and pair rows (comparisons or guard results) that must not be
    used: a unit hash twice, pair keys unsorted or repeated, a missing value, or a pair naming a unit
    the store does not hold."""
    keys, n = pairs.get_column(PAIR).to_numpy(), np.uint64(units.height)
    return (has_repeats(units, HASH[0]) or not bool((keys[1:] > keys[:-1]).all())
            or bool(pairs.null_count().sum_horizontal().item())
            or bool(((keys >> np.uint64(32)) >= n).any() or ((keys & np.uint64(0xFFFFFFFF)) >= n).any()))


#: a night's pairs are compared / guarded on just the units they touch when those are fewer than
#: this share of all units (``few_units``)
FEW_UNITS = 0.5


def touched_rows(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The sorted distinct row numbers (each below ``n``) of ``left`` and ``right``, as
    ``np.unique(np.concatenate([left, right]))`` gives them, by a mask: linear in the rows, where
    sorting both columns of a first run's 1.2 M pairs cost ~0.25 s per spec and per use."""
    seen = np.zeros(n, dtype=bool)
    seen[left] = True
    seen[right] = True
    return np.flatnonzero(seen).astype(np.result_type(left, right), copy=False)


def few_units(n: int, pairs: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame] | None:
    """When ``pairs`` touch fewer than ``FEW_UNITS`` of the ``n`` units (a night's changed pairs):
    the rows they touch (sorted) and the pairs renumbered onto those rows (same order); else None —
    work on every unit then, it costs no more."""
    if pairs.height == 0:
        return None
    left = pairs.get_column(f"{RID}_l").to_numpy()
    right = pairs.get_column(f"{RID}_r").to_numpy()
    rows = touched_rows(n, left, right)
    if len(rows) >= FEW_UNITS * n:
        return None
    return rows, pl.DataFrame({f"{RID}_l": pl.Series(np.searchsorted(rows, left), dtype=pl.UInt32),
                               f"{RID}_r": pl.Series(np.searchsorted(rows, right), dtype=pl.UInt32)})


def evaluate_few(prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec,
                 evaluate: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """``evaluate(pairs)``, computed on the rows of ``prepared`` the pairs touch when they are few (a
    night's changed pairs): a guard reads only the two rows, but ``evaluate`` ranks the guard's
    columns over all units first. Row numbers are renumbered in the same order, so a guard that
    reads ``__rid`` itself is evaluated over every unit. Same pairs, same guards."""
    few = None if any(RID in (g.sql or "") for g in spec.guards if g.kind == "sql") else few_units(prepared.height, pairs)
    if few is None:
        return evaluate(pairs)
    rows, local = few
    sub = prepared[rows].with_columns(pl.Series(RID, np.arange(len(rows)), dtype=prepared.schema[RID]))
    with memory_db.connect() as con:
        found = cannot_links(con, sub, local, spec)
    return found.with_columns(
        pl.Series(f"{RID}_l", rows[found.get_column(f"{RID}_l").to_numpy()], dtype=pl.UInt32),
        pl.Series(f"{RID}_r", rows[found.get_column(f"{RID}_r").to_numpy()], dtype=pl.UInt32)).cast(_PAIR_SCHEMA)


@dataclass
class GuardReuse:
    """The guard store of one linkage spec for one run."""

    name: str
    path: Path | None            # None: store off
    fingerprint: str
    forced: str | None           # why every pair is evaluated whatever the store holds
    tmp: Path | None = None
    pairs_reused: int = 0
    pairs_checked: int = 0
    _writer: Background = field(default_factory=Background, repr=False)   # builds and writes the file
    reads: StoreReads = field(default_factory=StoreReads, repr=False)     # the store, read ahead (``PairStore.open``)

    def cannot_links(self, prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec,
                     evaluate: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
        """``evaluate(pairs)`` — (__rid_l, __rid_r, cannot_link) of the pairs a guard forbids — with
        the pairs the store knows taken from it; sorted by pair."""
        names = [g.name for g in spec.guards if g.kind == "sql"]
        if not names or pairs.height == 0:
            return evaluate(pairs)
        if self.path is None:   # the store is off (--no-cache): nothing to look up, no unit to hash
            self.pairs_reused, self.pairs_checked = 0, pairs.height
            return evaluate(pairs.select(f"{RID}_l", f"{RID}_r")).sort(f"{RID}_l", f"{RID}_r").cast(_PAIR_SCHEMA)
        columns = guard_columns(spec, prepared)
        hashes = row_hashes(prepared, columns)
        digest = guards_digest(spec, prepared, columns)
        left = pairs.get_column(f"{RID}_l").to_numpy()
        right = pairs.get_column(f"{RID}_r").to_numpy()
        previous = self._previous(digest)
        found = np.zeros(pairs.height, dtype=bool)
        codes = np.full(pairs.height, -1, dtype=np.int8)
        if previous is not None:
            units, stored = previous
            old = hashes.join(units.with_row_index("__old"), on=HASH, how="left", maintain_order="left") \
                .get_column("__old").cast(pl.Int64).fill_null(-1).to_numpy()
            known = old >= 0
            index = np.where(known, old, 0).astype(np.uint64)
            key = np.where(known[left] & known[right], (index[left] << np.uint64(32)) | index[right], _NONE)
            stored_keys = stored.get_column(PAIR).to_numpy()
            if len(stored_keys):
                at = np.minimum(np.searchsorted(stored_keys, key), len(stored_keys) - 1)
                found = stored_keys[at] == key
                codes[found] = stored.get_column(GUARD).to_numpy()[at[found]]
        pair_cols = pairs.select(f"{RID}_l", f"{RID}_r")
        evaluated = evaluate_few(prepared, pair_cols.filter(pl.Series(~found)), spec, evaluate) if not found.all() \
            else pl.DataFrame(schema=_PAIR_SCHEMA)
        self.pairs_reused, self.pairs_checked = int(found.sum()), int((~found).sum())
        fresh = pair_cols.filter(pl.Series(~found)).join(evaluated, on=[f"{RID}_l", f"{RID}_r"], how="left",
                                                          maintain_order="left").get_column("cannot_link")
        codes[~found] = fresh.replace_strict(names, list(range(len(names))), default=-1,
                                             return_dtype=pl.Int8).to_numpy()
        self._write(codes, hashes, left, right, digest)
        held = codes >= 0
        out = pair_cols.filter(pl.Series(held)).with_columns(
            pl.Series("cannot_link", np.array(names, dtype=object)[codes[held]], dtype=pl.String))
        return out.sort(f"{RID}_l", f"{RID}_r").cast(_PAIR_SCHEMA)   # type: ignore[arg-type]

    def _previous(self, digest: str) -> tuple[pl.DataFrame, pl.DataFrame] | None:
        if self.forced or self.path is None or not self.path.exists():
            return None
        try:
            found = self.reads.take(self.path)
            meta = found.meta
            if (meta.get("abm_store_format"), meta.get("abm_version"), meta.get("rules_fingerprint"),
                    meta.get("guards_digest")) != (STORE_FORMAT, __version__, self.fingerprint, digest):
                return None
            stored = found.table()
        except Exception as exc:  # noqa: BLE001 - a damaged store only costs evaluating every pair
            log.warning("linkage %s: stored guard results unreadable (%s)", self.name, type(exc).__name__)
            return None
        if dict(stored.schema) != {**dict.fromkeys([*HASH, PAIR], pl.UInt64()), GUARD: pl.Int8()}:
            return None
        is_unit = pl.col(HASH[0]).is_not_null()
        units, pairs = stored.filter(is_unit).select(HASH), stored.filter(~is_unit).select(PAIR, GUARD)
        if inconsistent(units, pairs):
            log.warning("linkage %s: stored guard results inconsistent: every pair evaluated", self.name)
            return None
        return units, pairs

    def wait(self) -> None:
        """The store's thread finished; a failure is said and leaves the previous store."""
        self.tmp = self._writer.settle(
            lambda: self.tmp, lambda why: log.warning("linkage %s: guard results not stored (%s)", self.name, why))

    def _write(self, codes: np.ndarray, hashes: pl.DataFrame, left: np.ndarray, right: np.ndarray,
               digest: str) -> None:
        """The store's file, built and written in a thread (``abm.store_write``): only the
        next run reads it; ``PairStore.commit`` waits for it."""
        if self.path is not None:
            self._writer.start(lambda: self._write_now(codes, hashes, left, right, digest), f"abm-guards-{self.name}")

    def _write_now(self, codes: np.ndarray, hashes: pl.DataFrame, left: np.ndarray, right: np.ndarray,
                   digest: str) -> None:
        assert self.path is not None
        units, index = unit_index(hashes)
        key = (index[left] << np.uint64(32)) | index[right]
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
        pairs = pl.DataFrame({PAIR: pl.Series(key[first], dtype=pl.UInt64),
                              GUARD: pl.Series(codes[order[first]], dtype=pl.Int8)})
        table = pl.concat([units, pairs], how="diagonal").select(*HASH, PAIR, GUARD)
        meta = {"abm_store_format": STORE_FORMAT, "abm_version": __version__,
                "rules_fingerprint": self.fingerprint, "guards_digest": digest}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
            table.write_parquet(tmp, metadata=meta, compression=STORE_COMPRESSION)
            self.tmp = tmp
        except OSError as exc:
            log.warning("linkage %s: guard results not stored (%s)", self.name, exc.strerror or type(exc).__name__)
