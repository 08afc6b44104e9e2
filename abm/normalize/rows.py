"""Incremental normalisation: the rows the previous run normalised are taken from it, not redone.

A row's normalised record is a pure function of its kind, the rules and the row's values as
``normalize_records`` reads them (the kind's contract columns and ``makes_touch``, after
``abm.normalize.records._prepare``), except ``source_file`` and ``row_number``, which it copies from
the input as they are. So each input row gets a 128-bit hash of exactly those values (two seeded
``hash_rows``, per kind); the store keeps, per (kind, hash), the record the last run made. A new
run hashes its rows, takes the records of the rows whose hash is stored (one join; ``source_file``
and ``row_number`` from tonight's input) and normalises only the others — new and changed rows —
with ``normalize_records`` itself, then puts every kind's rows back in input order. The result is
the table a full normalisation makes, row for row and in the same order (checked by a hypothesis
property in ``tests/test_normalize_rows.py``).

The store is ``.<OUT_DIR>.cache/rows.parquet`` beside OUT_DIR. Its Parquet metadata names the store
format, abm's version, the rules fingerprint and a digest of the input and output schemas: any
difference, a missing, unreadable or inconsistent file, or ``--full`` normalises every row (a
full run, with the reason in ``run.json``). It is written to a temporary file during the run and
renamed over the previous one only after the run is published, and holds only the last run's
rows (about 60 bytes a row on disk).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from abm import __version__
from abm.contract import KINDS
from abm.normalize.records import NORMALIZED_DTYPES, _prepare, empty_normalized, normalize_records
from abm.rules import Rules
from abm.store_read import StoreReads
from abm.store_write import Background, has_repeats

log = logging.getLogger(__name__)

STORE_FORMAT = "1"
FILE = "rows.parquet"
_SEEDS = (0x0505_0001, 0x0505_0002)   # two independent 64-bit row hashes: 128 bits per row
HASH = ["__h0", "__h1"]
#: copied from the input row as it is: where the row is, not what it says
POSITION = ("source_file", "row_number")
_CONTENT = [c for c in NORMALIZED_DTYPES if c not in POSITION]
_INDEX = "__row_i"


def row_hashes(prepared: pl.DataFrame) -> pl.DataFrame:
    """``__h0``, ``__h1`` per row of a ``_prepare``d table: a hash of every value but its position."""
    content = prepared.drop(POSITION)
    return pl.DataFrame({HASH[0]: content.hash_rows(seed=_SEEDS[0]), HASH[1]: content.hash_rows(seed=_SEEDS[1])})


def schema_digest() -> str:
    """What a stored record depends on besides the row's values: the columns and types of every
    kind's prepared rows (whatever its file held), and of the normalised table."""
    digest = hashlib.sha256(STORE_FORMAT.encode())
    for kind in KINDS:
        digest.update(f"{kind}:{[(c, str(t)) for c, t in _prepare(kind, pl.DataFrame()).schema.items()]};".encode())
    digest.update(repr([(c, str(t)) for c, t in NORMALIZED_DTYPES.items()]).encode())
    return digest.hexdigest()[:16]


def _repeats(table: pl.DataFrame) -> bool:
    """Whether a (kind, row hash) repeats in ``table`` (``abm.store_write.has_repeats``)."""
    return has_repeats(table.select("kind", *HASH), HASH[0])


@dataclass
class RowStore:
    """The normalised rows of the previous run, for this run (see the module doc)."""

    path: Path | None            # None: no store (``--no-cache``)
    read: bool = True            # False (``--full``): normalise every row, then store them
    fingerprint: str = ""
    tmp: Path | None = None
    mode: str = "full"
    reason: str = ""
    rows_reused: int = 0
    rows_normalized: int = 0
    _writer: Background = field(default_factory=Background, repr=False)   # writing the store's temporary file
    reads: StoreReads = field(default_factory=StoreReads, repr=False)   # the store, read ahead from ``open``

    @classmethod
    def beside(cls, out_dir: Path, enabled: bool = True, full: bool = False) -> RowStore:
        return cls(out_dir.with_name(f".{out_dir.name}.cache") / FILE if enabled else None, not full)

    def open(self, fingerprint: str) -> None:
        """Called under the OUT_DIR lock: remember the rules fingerprint, drop killed runs' temp files,
        start reading the store (``abm.store_read``: beside the input's load, off the critical path)."""
        self.fingerprint = fingerprint
        if self.path is not None and self.path.parent.is_dir():
            for stale in self.path.parent.glob(f"{FILE}.tmp-*"):
                stale.unlink(missing_ok=True)
            if self.read:
                self.reads.start([self.path])

    def normalize(self, tables: Mapping[str, pl.DataFrame], rules: Rules) -> pl.DataFrame:
        """``normalize_records(tables, rules)``, normalising only the rows the store does not hold."""
        digest = schema_digest()
        stored = self._previous(digest)
        if self.path is None:   # --no-cache: nothing to reuse or store, no row to hash
            out = normalize_records(tables, rules)
            self.rows_normalized = out.height
            log.info("normalize: %s run: every row normalised", self.mode)
            return out
        kinds = [k for k in KINDS if k in tables]
        prepared = {k: _prepare(k, tables[k]) for k in kinds}
        hashes = {k: row_hashes(prepared[k]) for k in kinds}
        reused = self._reuse(tables, rules, prepared, hashes, stored) if stored is not None else None
        if reused is not None:
            out = reused
        else:
            out = normalize_records(tables, rules)
            self.rows_normalized = out.height
        self._write(out, hashes, kinds, digest)
        log.info("normalize: %s run: %d rows reused, %d normalised", self.mode, self.rows_reused, self.rows_normalized)
        return out

    def _reuse(self, tables: Mapping[str, pl.DataFrame], rules: Rules, prepared: Mapping[str, pl.DataFrame],
               hashes: Mapping[str, pl.DataFrame], stored: pl.DataFrame) -> pl.DataFrame | None:
        """Stored records of known rows, ``normalize_records`` of the others, in input order per kind
        (None: the store turned out inconsistent). Only the keys are joined; the wide records are
        copied once, by one gather from the stored and the fresh ones (splitting, joining, sorting
        and concatenating them per kind cost ~0.6 s a night at 270 k rows)."""
        slots: dict[str, pl.Series] = {}   # per kind and row: its stored record's row, null for a miss
        misses: dict[str, pl.DataFrame] = {k: v for k, v in tables.items() if k not in KINDS}  # warned about there
        ids = stored.select("kind", *HASH).with_row_index(_INDEX)
        by_kind = {key[0]: part.drop("kind") for key, part in ids.partition_by("kind", as_dict=True).items()}
        for kind, keys in hashes.items():
            joined = keys.join(by_kind.get(kind, ids.drop("kind").clear()), on=HASH, how="left", maintain_order="left")
            if joined.height != keys.height:   # a hash stored twice: the store cannot be trusted
                log.warning("normalize: every row: stored rows are inconsistent (a key stored twice)")
                self.reason = "stored rows are inconsistent (duplicate keys)"
                self.mode = "full"
                return None
            slots[kind] = joined.get_column(_INDEX)
            if slots[kind].null_count():
                misses[kind] = tables[kind].filter(slots[kind].is_null())
        fresh = normalize_records(misses, rules) if misses else empty_normalized()
        return self._gather(stored, fresh, slots, prepared)

    def _gather(self, stored: pl.DataFrame, fresh: pl.DataFrame, slots: Mapping[str, pl.Series],
                prepared: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
        """Every kind's rows in input order: a hit's stored record, a miss's fresh one (``fresh`` holds
        the misses kind by kind in input order, as ``normalize_records`` returns them); the position
        columns from tonight's input."""
        if not slots:
            return empty_normalized()
        fresh_kinds = fresh.get_column("kind")
        offset = stored.height
        picks = []
        for kind, slot in slots.items():
            first = int((fresh_kinds == kind).arg_true()[0]) if slot.null_count() else 0
            misses = slot.is_null()
            # the n-th miss of the kind is the n-th fresh row of the kind
            fresh_row = (misses.cast(pl.UInt32).cum_sum() - 1 + offset + first).cast(slot.dtype)
            picks.append(pl.select(pl.when(misses).then(fresh_row).otherwise(slot)).to_series())
            self.rows_reused += slot.len() - slot.null_count()
            self.rows_normalized += slot.null_count()
        rows = pl.concat(picks)
        records = pl.concat([stored.select(_CONTENT), fresh.select(_CONTENT)], how="vertical")
        position = pl.concat([prepared[kind].select(POSITION) for kind in slots])
        return records[rows].hstack(position).select(list(NORMALIZED_DTYPES))

    def _previous(self, digest: str) -> pl.DataFrame | None:
        """The previous run's records with their row hashes, or None with ``reason`` saying why not."""
        self.mode = "full"
        if self.path is None:
            self.reason = "--no-cache: no normalised rows stored or reused"
            return None
        if not self.read:
            self.reason = "--full"
            return None
        if not self.path.exists():
            self.reason = "no normalised rows from a previous run"
            return None
        try:
            stored, refused = self._read(digest)
        except Exception as exc:  # noqa: BLE001 - a damaged store only costs a full normalisation
            stored, refused = None, f"stored rows unreadable ({type(exc).__name__})"
        if stored is None:
            self.reason = refused or "stored rows unusable"
            log.warning("normalize: every row: %s", self.reason)
            return None
        self.mode, self.reason = "incremental", "previous run's normalised rows reused"
        return stored

    def _read(self, digest: str) -> tuple[pl.DataFrame | None, str | None]:
        assert self.path is not None
        found = self.reads.take(self.path)
        meta = found.meta
        if meta.get("abm_store_format") != STORE_FORMAT:
            return None, f"the stored rows have another format ({meta.get('abm_store_format')})"
        if meta.get("abm_version") != __version__:
            return None, f"abm version changed ({meta.get('abm_version')} -> {__version__})"
        if meta.get("rules_fingerprint") != self.fingerprint:
            return None, f"rules changed (rules fingerprint {meta.get('rules_fingerprint')} -> {self.fingerprint})"
        if meta.get("schema_digest") != digest:
            return None, "the input or normalised columns changed"
        stored = found.table()
        expected = {**dict.fromkeys(HASH, pl.UInt64()), **{c: NORMALIZED_DTYPES[c] for c in _CONTENT}}
        if dict(stored.schema) != expected:
            return None, "stored rows have unexpected columns"
        if stored.select(pl.any_horizontal(pl.col(c).is_null() for c in ("kind", *HASH)).any()).item():
            return None, "stored rows are inconsistent (missing keys)"   # duplicates: see _reuse
        return stored, None

    def _write(self, out: pl.DataFrame, hashes: Mapping[str, pl.DataFrame], kinds: list[str], digest: str) -> None:
        """Tonight's records (one per distinct kind and hash) to a temporary file; ``commit`` renames it."""
        if self.path is None:
            return
        self._wait()   # a previous write of this store (normalize called twice) ends first
        keys = pl.concat([hashes[k] for k in kinds]) if kinds else pl.DataFrame(schema=dict.fromkeys(HASH, pl.UInt64))
        if keys.height != out.height:   # a kind normalize_records does not know: nothing stored
            return
        table = pl.concat([keys, out.select(_CONTENT)], how="horizontal").select(*HASH, *_CONTENT)
        if _repeats(table):   # identical rows (one id twice): stored once
            table = table.unique(["kind", *HASH], keep="first", maintain_order=True)
        meta = {"abm_store_format": STORE_FORMAT, "abm_version": __version__,
                "rules_fingerprint": self.fingerprint, "schema_digest": digest}
        self.tmp = tmp = self.path.with_name(f"{FILE}.tmp-{os.getpid()}")
        # written by a thread while the run goes on (polars writes without the GIL): the file is only
        # needed when the run is published, and writing ~300 k records took ~0.7 s of a night's normalize
        self._writer.start(lambda: _write_file(table, tmp, meta), "abm-rows-store")

    def _wait(self) -> None:
        """The writer thread finished; a file it could not write is dropped, and said."""
        self.tmp = self._writer.settle(lambda: self.tmp, lambda why: log.warning(
            "normalize: rows not stored (%s): the next run normalises every row", why))

    def commit(self) -> None:
        """After the run is published: its rows replace the previous ones."""
        self._wait()
        if self.tmp is None or self.path is None:
            return
        try:
            os.replace(self.tmp, self.path)
        except OSError as exc:
            log.warning("normalize: rows not stored (%s)", exc.strerror or type(exc).__name__)
        self.tmp = None

    def discard(self) -> None:
        """The run failed: its rows are dropped, the previous ones stay."""
        self._wait()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None

    def summary(self) -> dict[str, Any]:
        return {"mode": self.mode, "reason": self.reason, "rows_reused": self.rows_reused,
                "rows_normalized": self.rows_normalized}


def _write_file(table: pl.DataFrame, tmp: Path, meta: dict[str, str]) -> None:
    """The store's temporary file (in the writer thread: a failure is said at ``RowStore._wait``)."""
    tmp.parent.mkdir(parents=True, exist_ok=True)
    table.write_parquet(tmp, metadata=meta, compression="lz4")   # read and written every night: fast
