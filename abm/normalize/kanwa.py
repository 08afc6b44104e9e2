"""pykakasi's kanji dictionary (kanwa) loaded one first character at a time.

pykakasi unpickles its whole 9.7 MB kanwa table (6.8 k first characters, 269 k words, about a
million Python objects) before its first reading: ~0.5 s of CPU on every run, most of the rules
stage, though a run reads words under a few hundred first characters (≈ 360 in a 20 k-company
world). ``KanwaIndex`` holds the same table as one marshal blob per first character plus an index
of where each blob lies, and decodes a character's words on its first lookup; the answer of every
lookup is the table pykakasi itself would have used.

The blobs are written once per pykakasi dictionary file into ``dictionaries/`` of the registry
cache's root (``$ABM_CACHE_DIR``, else ``$XDG_CACHE_HOME/abm``, else ``~/.cache/abm``), named for
that file's path, size and modification time (and marshal's version), so an upgraded pykakasi gets
a new one; the run that writes it loads the table as pykakasi does. Anything unusable (no cache directory, an unreadable or
truncated file) means the stock loading — slower, never different.
"""

from __future__ import annotations

import hashlib
import marshal
import pickle
from pathlib import Path
from typing import Any

from abm.normalize.dictionaries import cache_dir, write_atomically

#: bump when the file layout below changes (old files are then ignored, not misread)
FORMAT = b"abm-kanwa-1\n"
_INDEX_LEN = 8  # bytes of the index length after FORMAT


class KanwaIndex:
    """A read-only ``{first character code: {word: [(reading, context), ...]}}`` decoded per key.

    pykakasi calls only ``get`` on its table (``Kanwa.load``); a key decoded once is kept.
    """

    def __init__(self, data: bytes) -> None:
        if not data.startswith(FORMAT):
            raise ValueError("not an abm kanwa file")
        start = len(FORMAT) + _INDEX_LEN
        size = int.from_bytes(data[len(FORMAT):start], "little")
        self._offsets: dict[int, tuple[int, int]] = marshal.loads(data[start:start + size])
        self._data = memoryview(data)[start + size:]
        if len(self._data) != sum(length for _, length in self._offsets.values()):
            raise ValueError("truncated abm kanwa file")  # a lookup must never meet half a blob
        self._decoded: dict[int, Any] = {}

    def get(self, key: int, default: Any = None) -> Any:
        if key in self._decoded:
            return self._decoded[key]
        where = self._offsets.get(key)
        if where is None:
            return default
        value = self._decoded[key] = marshal.loads(self._data[where[0]:where[0] + where[1]])
        return value

    def __len__(self) -> int:
        return len(self._offsets)


def encode(table: dict[int, Any]) -> bytes:
    """The file content for ``table``: FORMAT, the index length, the index, the blobs."""
    offsets: dict[int, tuple[int, int]] = {}
    blobs: list[bytes] = []
    at = 0
    for key, words in table.items():
        blob = marshal.dumps(words)
        offsets[key] = (at, len(blob))
        blobs.append(blob)
        at += len(blob)
    index = marshal.dumps(offsets)
    return b"".join([FORMAT, len(index).to_bytes(_INDEX_LEN, "little"), index, *blobs])


def cache_file(source: Path) -> Path:
    """Where the per-character form of ``source`` lives: a name that changes with the source file."""
    st = source.stat()
    tag = hashlib.sha1(f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{marshal.version}".encode()).hexdigest()[:16]
    return cache_dir() / f"kanwa-{tag}.bin"


def load_table(source: Path) -> Any:
    """pykakasi's kanwa table from ``source``: the per-character form when it is cached, else the
    stock unpickled dict (and the per-character form is written for the next run)."""
    try:
        target = cache_file(source)
        return KanwaIndex(target.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    with open(source, "rb") as f:
        table = pickle.load(f)
    _write(table, source)
    return table


def _write(table: dict[int, Any], source: Path) -> None:
    """Write the per-character form for the next run (``write_atomically``: failures are ignored,
    the next run loads the stock way again)."""
    try:
        target = cache_file(source)
    except OSError:
        return
    write_atomically(target, lambda f: f.write(encode(table)))


def install() -> None:
    """Make pykakasi's shared kanwa table (class ``Kanwa``, a Borg) the per-character one, before
    the first ``pykakasi.Kakasi()``; a pykakasi laid out otherwise is left as it is."""
    try:
        from pykakasi import kanji, properties

        conf: Any = properties.Configurations  # pykakasi's annotations do not fit its own calls
        state: dict[str, Any] = kanji.Kanwa._shared_state
        if state.get("_jisyo_table") is not None:
            return
        source = Path(conf.dictpath(conf.jisyo_kanwa))
        with state["_lock"]:
            if state.get("_jisyo_table") is None:
                state["_jisyo_table"] = load_table(source)
    except (ImportError, AttributeError, KeyError, OSError, pickle.UnpicklingError):
        pass
