"""Compressed exports (common from SaaS downloads): ``*.csv.gz`` / ``*.tsv.gz`` / ``*.txt.gz`` and
``*.zip`` archives are read as the data files they hold, without unpacking them to disk.

A zip member is named ``archive.zip/member.csv`` in run.json, quarantine and lineage. Members in
sub-folders are read like top-level files; hidden members, folders and non-data members are skipped
(listed). A member name in CP932 (a zip made on Japanese Windows) is decoded as CP932.
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from abm.errors import InputError

GZ_SUFFIXES = (".csv.gz", ".tsv.gz", ".txt.gz")
#: largest uncompressed member read (a zip bomb stops the run instead of filling memory)
MAX_MEMBER_BYTES = 8 * 2**30


@dataclass(frozen=True)
class Unit:
    """One data file to read: its display name, a path whose suffix says its format, its bytes
    (None: read ``path`` from disk), or why it is skipped."""

    name: str
    path: Path
    data: bytes | None = None
    skipped: str | None = None


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(GZ_SUFFIXES) or name.endswith(".zip")


def units(path: Path, data_suffixes: set[str]) -> Iterator[Unit]:
    """The data files inside ``path`` (itself when it is not an archive)."""
    name = path.name
    if name.lower().endswith(GZ_SUFFIXES):
        try:
            with gzip.open(path, "rb") as fh:
                data = fh.read(MAX_MEMBER_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise InputError(name, f"not a readable gzip file ({exc})", fix="download the export again") from exc
        _check_size(name, len(data))
        yield Unit(name, Path(name[:-3]), data)
        return
    if not name.lower().endswith(".zip"):
        yield Unit(name, path)
        return
    try:
        with zipfile.ZipFile(path) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                member = _member_name(info)
                inner = PurePosixPath(member)
                shown = f"{name}/{member}"
                if info.is_dir() or any(p.startswith((".", "__MACOSX")) for p in inner.parts):
                    continue
                if inner.suffix.lower() not in data_suffixes and not member.lower().endswith(GZ_SUFFIXES):
                    yield Unit(shown, Path(inner.name), skipped=f"unsupported file type {inner.suffix or '(none)'}")
                    continue
                _check_size(shown, info.file_size)
                data = zf.read(info)
                if member.lower().endswith(GZ_SUFFIXES):
                    data = gzip.decompress(data)
                    inner = inner.with_suffix("")
                yield Unit(shown, Path(inner.name), data)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise InputError(name, f"not a readable zip archive ({exc})",
                         fix="download the export again, or unpack it into INPUT_DIR") from exc


def _member_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:  # the name is flagged UTF-8
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp932")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _check_size(name: str, size: int) -> None:
    if size > MAX_MEMBER_BYTES:
        raise InputError(name, f"it unpacks to more than {MAX_MEMBER_BYTES // 2**30} GiB",
                         fix="unpack it into INPUT_DIR and check its content")
