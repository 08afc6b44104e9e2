"""The incremental stores, read ahead in threads while the run loads its input.

A night reads its stores (``.<OUT_DIR>.cache``: the normalised rows, ``abm.normalize.rows``; the
comparisons and guard results per linkage spec, ``abm.linkage.reuse``) only at normalize and resolve,
on the main thread, though they are known as soon as the run holds the OUT_DIR lock: reading them
(~20 MB of lz4 Parquet at 20 k companies) cost ~0.5 s of a night's wall time in the critical path.
``StoreReads.start`` reads each store's metadata and table in a thread (polars reads without the GIL)
while the input is loaded; ``take`` hands over what the thread read. Stores change only when a run
commits (under the same lock), so what was read ahead is what a read at ``take`` would give. A failed
read is raised again at ``take``, where the table would have been read (metadata first, as before:
a store refused by its metadata is refused for that reason, even when its table is unreadable).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import polars as pl


@dataclass(frozen=True)
class Stored:
    """A store file's Parquet metadata, and its table or why it could not be read."""

    meta: dict[str, str]
    _table: pl.DataFrame | None
    _error: BaseException | None

    def table(self) -> pl.DataFrame:
        """The stored table (raises what reading it raised)."""
        if self._error is not None:
            raise self._error
        assert self._table is not None
        return self._table


def read_store(path: Path) -> Stored:
    """``path``'s metadata (raises when unreadable) and table (an error kept for ``Stored.table``)."""
    meta = pl.read_parquet_metadata(path)
    try:
        return Stored(meta, pl.read_parquet(path), None)
    except Exception as exc:  # noqa: BLE001 - said where the table is used, after the metadata's checks
        return Stored(meta, None, exc)


class _Read(threading.Thread):
    """One store read in a thread; the result or the metadata's error kept for ``take``."""

    def __init__(self, path: Path) -> None:
        super().__init__(name=f"abm-read-{path.name}", daemon=True)
        self.path = path
        self.result: Stored | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = read_store(self.path)
        except BaseException as exc:  # noqa: BLE001 - raised again at take, on the main thread
            self.error = exc


class StoreReads:
    """Store files read ahead (``start``), each handed over once (``take``)."""

    def __init__(self) -> None:
        self._reads: dict[Path, _Read] = {}

    def start(self, paths: list[Path]) -> None:
        """Read each existing file of ``paths`` in a thread."""
        for path in paths:
            if path not in self._reads and path.is_file():
                self._reads[path] = read = _Read(path)
                read.start()

    def take(self, path: Path) -> Stored:
        """What was read ahead of ``path`` (read now when it was not started)."""
        read = self._reads.pop(path, None)
        if read is None:
            return read_store(path)
        read.join()
        if read.error is not None:
            raise read.error
        assert read.result is not None
        return read.result

    def drop(self) -> None:
        """Forget reads never taken (a spec that reads no store tonight); their threads end alone."""
        self._reads.clear()
