"""One in-memory DuckDB database per process; every user gets a connection of its own to it.

``duckdb.connect()`` creates a whole database instance each time (its catalog of built-in functions,
its buffer manager, its thread pool): ~20 ms of CPU and 25–90 ms of wall time on the 2-core dev
machine, and a run made five of them (account and person linkage, flag ids twice, the guard store),
whatever its size. A cursor of one shared instance costs ~0.6 ms. Every user here only registers
frames and queries them: registered frames live in the connection that registered them (another
connection does not see them, and closing it releases them), so users stay as separate as with
databases of their own. The one database-wide setting any of them changes, ``disabled_optimizers``
(``abm.db.filters_kept_above_joins``), chooses a plan, never a result.

After a fork (the normalize stage's worker processes) the child makes its own instance: a DuckDB
instance's threads do not survive a fork.
"""

from __future__ import annotations

import os
import threading

import duckdb

_lock = threading.Lock()
_root: tuple[int, duckdb.DuckDBPyConnection] | None = None   # (the process that made it, its connection)


def connect() -> duckdb.DuckDBPyConnection:
    """A new connection to the process's in-memory database (made on first use): close it, or let
    it go, as a ``duckdb.connect()`` one."""
    global _root
    with _lock:
        if _root is None or _root[0] != os.getpid():
            _root = (os.getpid(), duckdb.connect())
        return _root[1].cursor()
