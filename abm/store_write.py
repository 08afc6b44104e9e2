"""Writing an incremental store's file in a thread while the run goes on, and the stores' key check.

The stores in ``.<OUT_DIR>.cache`` (the normalised rows, ``abm.normalize.rows``; the comparisons and
guard results per linkage spec, ``abm.linkage.reuse`` and ``abm.linkage.reuse_guards``) are needed
only by the next run, once this one is published; building and writing them (sorting ~1.3 M pair
keys, lz4-compressing ~300 k rows) used to run on the main thread. numpy's sort and polars' writer
release the GIL, so a thread does it beside the later stages. Each store writes a temporary file that
its ``commit`` renames after publishing; a failure in the thread is kept and said when the store
``settle``\\ s (never lost in the thread), the temporary file is removed and the previous store stays:
the next run then redoes that work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import polars as pl

log = logging.getLogger(__name__)


class Background:
    """At most one write at a time: ``start`` waits for the previous one; ``wait`` joins it."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: str | None = None

    @property
    def busy(self) -> bool:
        """A write was started and not yet waited for."""
        return self._thread is not None

    def start(self, work: Callable[[], None], name: str) -> None:
        """Run ``work()`` in a thread named ``name``."""
        self.wait()
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=False)
        self._thread.start()

    def _run(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - any failure is said at wait, not lost in the thread
            self._error = getattr(exc, "strerror", None) or type(exc).__name__

    def wait(self) -> str | None:
        """Join the running write; its failure (None: none), said once."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        return error

    def settle(self, tmp_of: Callable[[], Path | None], say: Callable[[str], None]) -> Path | None:
        """Join the running write: the temporary file it wrote (``tmp_of()``, asked once the write has
        ended: the write may be what names it), or, when it failed, None (that file removed;
        ``say(why)`` tells the log) — the previous store then stays."""
        error = self.wait()
        tmp = tmp_of()
        if error is None:
            return tmp
        say(error)
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        return None


def has_repeats(frame: pl.DataFrame, first: str) -> bool:
    """``frame.is_duplicated().any()`` for a store's keys, ``first`` being one half of a 128-bit hash
    among them: distinct values of it prove no row repeats by one single-column count (~0.01 s at
    270 k rows), where ``is_duplicated`` over every key column took ~0.08 s a store and a run."""
    return frame.get_column(first).n_unique() != frame.height and bool(frame.is_duplicated().any())
