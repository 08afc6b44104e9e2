"""Writing an incremental store's file in a thread while the run goes on.

The comparison and guard stores (``abm.linkage.reuse``, ``abm.linkage.reuse_guards``) are needed only
by the next run, once this one is published; building and writing them (sorting ~1.3 M pair keys,
lz4-compressing the Parquet file) used to run on the main thread at the end of the run or in the middle
of the linkage. numpy's sort and polars' writer release the GIL, so a thread does it beside the
post-resolve stages and outputs. A failure in the thread is kept and said at ``wait`` (never lost in
the thread), and the store is then not replaced: the next run compares or evaluates every pair.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Background:
    """At most one write at a time: ``start`` waits for the previous one; ``wait`` joins it."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: str | None = None

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
