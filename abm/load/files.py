"""Which top-level entries of INPUT_DIR are read, and reading one into a raw grid.

An entry is skipped (and listed in run.json with the reason) when it is hidden, documentation, a
sub-directory or of an unsupported type; it stops the run (InputError) when it cannot be read at
all: a broken symlink, an unreadable file, a name that is not UTF-8, an .xls/.ods/.numbers workbook.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

from abm.errors import InputError
from abm.load import archives, read, sheets
from abm.load.sources import Source

__all__ = ["DATA_SUFFIXES", "display_name", "read_entry", "skip_reason"]

DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xlsm"}
UNREADABLE_SPREADSHEETS = {".xls", ".ods", ".numbers"}


def display_name(path: Path) -> str:
    """The file name as text; raises InputError when it is not UTF-8 (e.g. CP932 bytes from a
    Windows zip unpacked on Linux), which cannot be written to the outputs."""
    name = path.name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(name)
        try:
            guess = f" (in CP932 it reads {raw.decode('cp932')!r})"
        except UnicodeDecodeError:
            guess = ""
        shown = raw.decode("utf-8", errors="replace")
        raise InputError(
            shown, f"the file name is not UTF-8 text{guess}",
            fix="rename the file with a UTF-8 name (unzip Windows archives with `unzip -O cp932`)",
        ) from None
    return name


def skip_reason(path: Path) -> str | None:
    """Why a top-level entry is not read (None: read it). Hidden files and sources.yaml: ''."""
    name = display_name(path)
    if name.startswith((".", "~$")) or name in ("sources.yaml", "sources.yml", "overrides.yaml", "overrides.yml"):
        return ""
    if path.is_symlink() and not path.exists():
        try:
            os.stat(path)
            what = "a symlink that cannot be followed"
        except OSError as exc:
            what = "a symlink loop" if exc.errno == errno.ELOOP else f"a broken symlink (to {os.readlink(path)})"
        raise InputError(name, f"it is {what}", fix="point the link at the export file or remove it")
    if path.is_dir():
        return (
            "ground truth directory, not input"
            if name == "truth"
            else "sub-directory: only top-level files are read"
        )
    if name.lower().startswith("readme"):
        return "documentation"
    suffix = path.suffix.lower()
    if suffix in UNREADABLE_SPREADSHEETS:
        raise InputError(
            name, f"{suffix} workbooks cannot be read", fix="save the sheet as .xlsx or CSV (UTF-8)"
        )
    if suffix not in DATA_SUFFIXES and not archives.is_archive(path):
        return f"unsupported file type {suffix or '(none)'}; abm reads {', '.join(sorted(DATA_SUFFIXES))}, .zip, .csv.gz"
    if not path.is_file():  # a FIFO or device named *.csv would block the run forever
        return "not a regular file (a pipe or device): not read"
    if not os.access(path, os.R_OK):
        raise InputError(name, "the file cannot be read (permission denied)", fix="make the file readable")
    return None


def read_entry(path: Path, src: Source | None, data: bytes | None, name: str) -> read.RawTable:
    try:
        return _read_file(path, src, data, name)
    except OSError as exc:  # unreadable, vanished, an I/O error: name the file, never a traceback
        raise InputError(path.name, f"the file cannot be read ({exc.strerror or exc})",
                         fix="check the file and its permissions") from exc


def _read_file(path: Path, src: Source | None, data: bytes | None, name: str) -> read.RawTable:
    suffix = path.suffix.lower()
    source: Path | io.BytesIO = path if data is None else io.BytesIO(data)
    if suffix == ".parquet":
        return sheets.read_parquet(source, name)
    if suffix in (".xlsx", ".xlsm"):
        return sheets.read_xlsx(source, name, src.sheet if src else None)
    return read.read_delimited(path, name, src.encoding if src else None, src.delimiter if src else None, data)
