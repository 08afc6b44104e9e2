"""Incremental runs: comparison vectors of unchanged pairs come from the previous run.

A comparison vector (one level code per comparison, ``abm.linkage.compare``) is a pure function of
the two units' values in the columns the comparisons read (after the spec's derived columns) and of
the comparison levels. Each unit therefore gets a 128-bit content hash of exactly those values
(two seeded ``hash_rows``). The store keeps, per spec, the last run's distinct unit hashes (row i
is unit i) and the vector of each candidate pair under one 64-bit key, (index of the left unit's
hash << 32) | index of the right one's — left being the unit with the smaller id, as in the engine,
and only that orientation is matched. A new run blocks afresh (cheap), maps its units to the stored
indices by hash, takes the vectors of candidate pairs whose key is stored, and compares only the
others: pairs touching a new or changed unit, and pairs blocking finds for the first time. EM, scoring, clustering and everything downstream
run on all pairs as in a full run, so the outputs are those of a full run by construction.

Why clustering is not limited to the clusters the changes touch: EM re-learns m and λ from all
candidate pairs and u from a random sample drawn anew, so one changed record moves every pair's
match weight a little; a pair near the threshold anywhere may flip, and the merge order and the
cannot-link cuts follow the weights. Only re-clustering everything is guaranteed to equal a full run.

The store lives beside OUT_DIR (``.<OUT_DIR>.cache/pairs-<spec>.parquet``), never inside it. It
is written to a temporary file during the run and renamed over the previous one only after the run
is published, and holds only this run's pairs (plus one row per unit hash), so it does not grow from
night to night. Its Parquet metadata names the store format, abm's version, the rules fingerprint
and a digest of the spec's comparisons: any difference, a missing or unreadable file, or ``--full``
makes the spec compare every pair (a full run), with the reason in ``run.json``.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from abm import __version__
from abm.linkage.block import RID
from abm.linkage.compare import compare_pairs
from abm.linkage.reuse_guards import (
    STORE_COMPRESSION,
    GuardReuse,
    few_units,
    inconsistent,
    row_hashes,
    store_digest,
    unit_index,
)
from abm.linkage.spec import LinkageSpec
from abm.store_read import StoreReads
from abm.store_write import Background

log = logging.getLogger(__name__)

STORE_FORMAT = "2"
_SEEDS = (0x5EED_0001, 0x5EED_0002)   # two independent 64-bit row hashes: 128 bits per unit
HASH = ["__h0", "__h1"]               # unit rows of the store: a unit's hash (pair rows: null)
PAIR = "__pair"                       # pair rows: (left unit's index << 32) | right unit's (unit rows: null)
_ORDER = "__reuse_i"
_NONE = np.uint64(2**64 - 1)          # the key of a pair with a new or changed unit: never stored


#: fields of a Comparison or a Level that are text but name no column
_NOT_COLUMNS = frozenset({"name", "kind"})


def _columns_named(item: object) -> set[str]:
    """Every column a Comparison or Level names: each of its text fields but its name and kind, so a
    column option added to the spec later (``unless_both``, ``neutral_if_either`` …) is hashed too."""
    return {value for f in fields(item)  # type: ignore[arg-type]
            if f.name not in _NOT_COLUMNS and isinstance(value := getattr(item, f.name), str)}


def compared_columns(spec: LinkageSpec) -> list[str]:
    """Every column ``compare_pairs`` reads for ``spec`` (derived columns included)."""
    cols: set[str] = set()
    for comp in spec.comparisons:
        cols |= _columns_named(comp)
        for level in comp.levels:
            cols |= _columns_named(level)
    return sorted(cols)


def gamma_columns(spec: LinkageSpec) -> list[str]:
    return [f"gamma_{c.name}" for c in spec.comparisons]


def unit_hashes(prepared: pl.DataFrame, spec: LinkageSpec) -> pl.DataFrame:
    """One row per prepared unit (in ``__rid`` order): ``__h0``, ``__h1``, a 128-bit hash of the
    values its comparisons read."""
    return row_hashes(prepared, compared_columns(spec), _SEEDS)


def spec_digest(spec: LinkageSpec, prepared: pl.DataFrame) -> str:
    """What a stored vector depends on besides the two units' values: the comparison levels, the
    types of the compared columns and the libraries that compute and hash them."""
    return store_digest([spec.comparisons, [(c, str(prepared.schema[c])) for c in compared_columns(spec)]],
                        ("polars", "rapidfuzz", "duckdb", "numpy"))


def compare_few(prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec,
                compare: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """``compare(pairs)``, computed on the rows of ``prepared`` the pairs touch when they are few (a
    night's changed pairs): a comparison level is a function of the two units' values alone, but
    ``compare`` codes every column over all units first (``abm.linkage.compare.Columns``), which
    costs more than the few pairs. Same vectors, same rows, same order."""
    few = few_units(prepared.height, pairs)
    if few is None:
        return compare(pairs)
    rows, local = few
    vectors = compare_pairs(prepared[rows], local, spec)
    return pairs.with_columns(vectors.select(gamma_columns(spec)))


@dataclass
class SpecReuse:
    """The store of one linkage spec for one run: reads the previous vectors, records this run's."""

    name: str
    path: Path | None           # the published store file (None: store off)
    fingerprint: str
    forced: str | None          # why this run compares every pair whatever the store holds
    mode: str = "full"
    reason: str = ""
    pairs_reused: int = 0
    pairs_compared: int = 0
    units: int = 0
    units_changed: int = 0
    tmp: Path | None = None
    guards: GuardReuse | None = None    # what the sql guards said of unchanged pairs (abm.linkage.reuse_guards)
    sample_reused: int = 0              # u's random pairs (abm.linkage.usample) whose vectors were stored
    sample_compared: int = 0
    # the prepared frame this run compares (a weak reference: the store does not keep it alive), its
    # unit hashes, the digest, the previous store, and the vectors compared so far (written by ``flush``)
    _frame: weakref.ref[pl.DataFrame] | None = field(default=None, repr=False)
    _hashes: pl.DataFrame | None = field(default=None, repr=False)
    _digest: str = field(default="", repr=False)
    _stored: tuple[pl.DataFrame, pl.DataFrame] | None = field(default=None, repr=False)
    _old: np.ndarray | None = field(default=None, repr=False)
    _written: list[tuple[pl.DataFrame, np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)
    _writer: Background = field(default_factory=Background, repr=False)   # ``write_behind``'s thread
    reads: StoreReads = field(default_factory=StoreReads, repr=False)     # the store, read ahead (``PairStore.open``)

    def unit_hashes(self, prepared: pl.DataFrame, spec: LinkageSpec) -> pl.DataFrame:
        """``unit_hashes(prepared, spec)``, computed once per prepared frame (with the previous store)."""
        if self._frame is None or self._frame() is not prepared:
            self._frame = weakref.ref(prepared)
            self._hashes = unit_hashes(prepared, spec)
            self._digest = spec_digest(spec, prepared)
            self._stored = self._previous(self._digest, gamma_columns(spec))
            self._old, self._written = None, []
        assert self._hashes is not None
        return self._hashes

    def compare(self, prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec,
                compare: Callable[[pl.DataFrame], pl.DataFrame], sample: bool = False) -> pl.DataFrame:
        """``compare(pairs)`` — the vectors of pairs the store knows taken from it; same rows, same order.
        Called for the candidate pairs, then (``sample``) for u's random pairs (``abm.linkage.usample``):
        both are counted apart and stored together (a vector depends only on the two units' values)."""
        hashes = self.unit_hashes(prepared, spec)
        gammas = gamma_columns(spec)
        previous = self._stored
        left = pairs.get_column(f"{RID}_l").to_numpy()
        right = pairs.get_column(f"{RID}_r").to_numpy()
        reused = 0
        if previous is None:
            vectors = compare(pairs)
            if not sample:
                self.units_changed = prepared.height
        else:
            units, stored = previous
            if self._old is None:
                self._old = hashes.join(units.with_row_index("__old"), on=HASH, how="left", maintain_order="left") \
                    .get_column("__old").cast(pl.Int64).fill_null(-1).to_numpy()
            old = self._old
            known = old >= 0                      # this unit's values were a unit's last run
            if not sample:
                self.units_changed = int((~known).sum())
            index = np.where(known, old, 0).astype(np.uint64)
            key = np.where(known[left] & known[right], (index[left] << np.uint64(32)) | index[right], _NONE)
            stored_keys = stored.get_column(PAIR).to_numpy()        # sorted, distinct (checked on read)
            at = np.minimum(np.searchsorted(stored_keys, key), max(len(stored_keys) - 1, 0))
            found = stored_keys[at] == key if len(stored_keys) else np.zeros(len(key), dtype=bool)
            computed = compare_few(prepared, pairs.filter(pl.Series(~found)), spec, compare)
            columns = []
            for g in gammas:   # each pair's vector from the store or from tonight's comparisons, in pair order
                values = np.empty(len(key), dtype=np.int8)
                values[found] = stored.get_column(g).to_numpy()[at[found]]
                values[~found] = computed.get_column(g).to_numpy()
                columns.append(pl.Series(g, values, dtype=pl.Int8))
            vectors = pairs.with_columns(columns)
            reused = int(found.sum())
        if sample:
            self.sample_reused, self.sample_compared = reused, vectors.height - reused
        else:
            self.pairs_reused, self.pairs_compared = reused, vectors.height - reused
            self.units = prepared.height
        self._written.append((vectors.select(gammas), left, right))
        log.info("linkage %s: %s run: %d %s' comparisons reused, %d compared; %d of %d units new or changed",
                 self.name, self.mode, reused, "u sample pairs" if sample else "pairs", vectors.height - reused,
                 self.units_changed, prepared.height)
        return vectors.select(*pairs.columns, *gammas)

    def streamed(self, candidates: int, limit: int, units: int) -> None:
        """Tonight's candidate pairs exceed the in-memory limit: the engine scores them in chunks
        (``abm.linkage.stream``) and never holds every pair's vector, so nothing is reused and no
        store is written (the next run of this spec compares every pair again)."""
        self.mode, self.pairs_reused, self.pairs_compared = "full", 0, candidates
        self.units = self.units_changed = units
        self.reason = (f"{candidates:,} candidate pairs, over the in-memory limit of {limit:,} (ABM_IN_MEMORY_PAIRS): "
                       "scored in chunks; comparisons neither reused nor stored")
        log.info("linkage %s: %s", self.name, self.reason)

    def _previous(self, digest: str, gammas: list[str]) -> tuple[pl.DataFrame, pl.DataFrame] | None:
        """The previous run's store, or None with ``reason`` saying why every pair is compared."""
        self.mode = "full"
        if self.forced:
            self.reason = self.forced
            return None
        assert self.path is not None
        if not self.path.exists():
            self.reason = "no stored comparisons from a previous run"
            return None
        try:
            stored, refused = self._read(digest, gammas)
        except Exception as exc:  # noqa: BLE001 - a damaged store only costs a full run
            stored, refused = None, f"stored comparisons unreadable ({type(exc).__name__})"
        if stored is None:
            self.reason = refused or "stored comparisons unusable"
            log.warning("linkage %s: full run: %s", self.name, self.reason)
            return None
        self.mode, self.reason = "incremental", "previous run's comparisons reused"
        return stored

    def _read(self, digest: str, gammas: list[str]
              ) -> tuple[tuple[pl.DataFrame, pl.DataFrame] | None, str | None]:
        """The stored unit hashes and pair vectors, or None and why they may not be used."""
        assert self.path is not None
        found = self.reads.take(self.path)
        meta = found.meta
        if meta.get("abm_store_format") != STORE_FORMAT:
            return None, f"the stored comparisons have another format ({meta.get('abm_store_format')})"
        if meta.get("abm_version") != __version__:
            return None, f"abm version changed ({meta.get('abm_version')} -> {__version__})"
        if meta.get("rules_fingerprint") != self.fingerprint:
            return None, f"rules changed (rules fingerprint {meta.get('rules_fingerprint')} -> {self.fingerprint})"
        if meta.get("spec_digest") != digest:
            return None, f"the comparisons of linkage spec {self.name!r} or their column types changed"
        stored = found.table()
        expected = {**dict.fromkeys([*HASH, PAIR], pl.UInt64()), **dict.fromkeys(gammas, pl.Int8())}
        if dict(stored.schema) != expected:
            return None, "stored comparisons have unexpected columns"
        is_unit = pl.col(HASH[0]).is_not_null()
        units = stored.filter(is_unit).select(HASH)
        pairs = stored.filter(~is_unit).select(PAIR, *gammas)
        if inconsistent(units, pairs):
            return None, "stored comparisons are inconsistent (unsorted, duplicate, missing or dangling entries)"
        return (units, pairs), None

    def write_behind(self) -> None:
        """Start ``flush`` in a thread (``abm.store_write``): called once the run has compared
        everything; ``commit`` waits for it."""
        if self._written:
            self._writer.start(self.flush, f"abm-pairs-{self.name}")

    def wait(self) -> None:
        """The store's thread (if any) finished; a failure is said and leaves the previous store."""
        self.tmp = self._writer.settle(lambda: self.tmp, lambda why: log.warning(
            "linkage %s: comparisons not stored (%s): the next run compares every pair", self.name, why))

    def flush(self) -> None:
        """This run's store, to a temporary file (``commit`` renames it after publishing): the
        distinct unit hashes first (row i: unit index i), then one row per distinct pair key, sorted
        (the candidate pairs and u's sample pairs compared tonight)."""
        written, self._written, self._stored, self._old = self._written, [], None, None
        if self.path is None or not written or self._hashes is None:
            return
        hashes, digest = self._hashes, self._digest
        gammas = pl.concat([part[0] for part in written])
        left = np.concatenate([part[1] for part in written])
        right = np.concatenate([part[2] for part in written])
        units, index = unit_index(hashes)
        key = (index[left] << np.uint64(32)) | index[right]
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)  # same values, same vector
        pairs = gammas[order[first]].with_columns(pl.Series(PAIR, key[first], dtype=pl.UInt64))
        table = pl.concat([units, pairs], how="diagonal").select(*HASH, PAIR, *gammas.columns)
        meta = {"abm_store_format": STORE_FORMAT, "abm_version": __version__,
                "rules_fingerprint": self.fingerprint, "spec_digest": digest}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
            table.write_parquet(tmp, metadata=meta, compression=STORE_COMPRESSION)
            self.tmp = tmp
        except OSError as exc:
            log.warning("linkage %s: comparisons not stored (%s): the next run compares every pair",
                        self.name, exc.strerror or type(exc).__name__)

    def summary(self) -> dict[str, Any]:
        return {"mode": self.mode, "reason": self.reason, "pairs_reused": self.pairs_reused,
                "pairs_compared": self.pairs_compared, "units": self.units, "units_changed": self.units_changed,
                "guard_pairs_reused": self.guards.pairs_reused if self.guards else 0,
                "u_sample_pairs_reused": self.sample_reused, "u_sample_pairs_compared": self.sample_compared}


@dataclass
class PairStore:
    """The comparison store of one run, for every linkage spec (see the module doc)."""

    directory: Path | None      # None: no store (``--no-cache``)
    full: bool = False          # ``--full``: compare every pair, then store them
    fingerprint: str = ""
    specs: dict[str, SpecReuse] = field(default_factory=dict)
    reads: StoreReads = field(default_factory=StoreReads)   # every store file, read ahead from ``open``

    @classmethod
    def beside(cls, out_dir: Path, enabled: bool = True, full: bool = False) -> PairStore:
        return cls(out_dir.with_name(f".{out_dir.name}.cache") if enabled else None, full)

    def open(self, fingerprint: str) -> None:
        """Called under the OUT_DIR lock: remember the rules fingerprint, drop killed runs' temp files,
        start reading the stores (``abm.store_read``: beside the input's load, off the critical path)."""
        self.fingerprint = fingerprint
        if self.directory is not None and self.directory.is_dir():
            for stale in [*self.directory.glob("pairs-*.parquet.tmp-*"), *self.directory.glob("guards-*.parquet.tmp-*")]:
                stale.unlink(missing_ok=True)
            if not self.full:
                self.reads.start(sorted([*self.directory.glob("pairs-*.parquet"), *self.directory.glob("guards-*.parquet")]))

    def for_spec(self, spec: LinkageSpec) -> SpecReuse:
        forced = ("--no-cache: no comparisons stored or reused" if self.directory is None
                  else "--full" if self.full else None)
        path = self.directory / f"pairs-{spec.name}.parquet" if self.directory is not None else None
        guards = self.directory / f"guards-{spec.name}.parquet" if self.directory is not None else None
        self.specs[spec.name] = SpecReuse(spec.name, path, self.fingerprint, forced, reads=self.reads,
                                          guards=GuardReuse(spec.name, guards, self.fingerprint, forced, reads=self.reads))
        return self.specs[spec.name]

    def commit(self) -> None:
        """After the run is published: its stores replace the previous ones (others are removed)."""
        self.reads.drop()
        if self.directory is None:
            return
        written = set()
        for reuse in self.specs.values():
            reuse.wait()
            reuse.flush()   # when no thread wrote it (a run that did not call write_behind)
            if reuse.guards:
                reuse.guards.wait()
            for tmp, path in ((reuse.tmp, reuse.path), (reuse.guards.tmp, reuse.guards.path) if reuse.guards else (None, None)):
                if tmp is not None and path is not None:
                    try:
                        os.replace(tmp, path)
                        written.add(path.name)
                    except OSError as exc:
                        log.warning("linkage %s: comparisons not stored (%s)", reuse.name,
                                    exc.strerror or type(exc).__name__)
        for old in [*self.directory.glob("pairs-*.parquet"), *self.directory.glob("guards-*.parquet")]:
            if old.name not in written:
                old.unlink(missing_ok=True)

    def discard(self) -> None:
        """The run failed: its stores are dropped, the previous ones stay."""
        self.reads.drop()
        for reuse in self.specs.values():
            reuse._written = []
            reuse.wait()
            if reuse.guards:
                reuse.guards.wait()
            for tmp in (reuse.tmp, reuse.guards.tmp if reuse.guards else None):
                if tmp is not None:
                    tmp.unlink(missing_ok=True)

    def write_behind(self) -> None:
        """Every spec's comparison store starts being written in a thread (after the linkage)."""
        for reuse in self.specs.values():
            reuse.write_behind()

    def summary(self) -> dict[str, Any]:
        """run.json's ``incremental``: the mode (incremental only when every spec reused its store)."""
        parts = {name: r.summary() for name, r in self.specs.items()}
        full = {name: r.reason for name, r in self.specs.items() if r.mode != "incremental"}
        if len(set(full.values())) == 1 and len(full) == len(parts):   # one reason for every spec: said once
            reason = next(iter(full.values()))
        else:
            reason = "; ".join(f"{name}: {why}" for name, why in full.items()) or "unchanged pairs' comparisons reused"
        return {
            "mode": "full" if full or not parts else "incremental",
            "reason": reason,
            "pairs_reused": sum(r.pairs_reused for r in self.specs.values()),
            "pairs_compared": sum(r.pairs_compared for r in self.specs.values()),
            "units_changed": sum(r.units_changed for r in self.specs.values()),
            "guard_pairs_reused": sum(r.guards.pairs_reused for r in self.specs.values() if r.guards),
            "u_sample_pairs_reused": sum(r.sample_reused for r in self.specs.values()),
            "u_sample_pairs_compared": sum(r.sample_compared for r in self.specs.values()),
            "by_spec": parts,
        }
