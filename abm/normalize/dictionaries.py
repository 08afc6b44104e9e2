"""Loading the big reading dictionaries (pykakasi's kanwa table, the name-readings table, e2k,
namedivider) without paying Python's cyclic garbage collector for them, and keeping a faster form
of a dictionary in abm's cache directory.

Such a load builds hundreds of thousands of small containers, none of them garbage, and every
few hundred allocations the collector walks them all again: ``pickle.load`` of pykakasi's 9.7 MB
table takes ~2.1 s with the collector on and ~1.3 s with it paused (measured on the 2-core dev
machine under load). ``quiet_gc`` pauses the collector while a dictionary is built and then moves
everything alive into the permanent generation (``gc.freeze``), so later collections — and the
copy-on-write pages of forked workers — leave the dictionaries alone. Results are unchanged: the
collector only frees unreachable cycles.

A dictionary shipped compressed or pickled is kept, once parsed, in ``dictionaries/`` of abm's cache
root (``abm.settings.cache_home``) under a name that changes with its source (``write_atomically``
writes it; a reader never sees half a file). A cache that cannot be written only costs speed.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from abm.settings import cache_home


@contextmanager
def quiet_gc() -> Iterator[None]:
    """The cyclic collector paused within the block; what is alive afterwards is frozen."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()


def cache_dir() -> Path:
    """``dictionaries/`` in abm's cache root (``abm.settings.cache_home``, the registry's too)."""
    return cache_home() / "dictionaries"


def write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> bool:
    """``write(file)`` into a temporary file beside ``target``, then renamed onto it: a concurrent run
    reads the old file or the whole new one. Returns whether it was written; a failure (no cache
    directory, a full disk, a value the writer refuses) leaves nothing behind — the next run parses
    the source again."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, target)
        return True
    except (OSError, ValueError):
        os.unlink(tmp)
        return False
    except BaseException:
        os.unlink(tmp)
        raise
