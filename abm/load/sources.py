"""``INPUT_DIR/sources.yaml``: per-file settings for files abm cannot recognise on its own.

Format (a mapping from a file-name glob to its settings; the first matching glob wins)::

    eight_*.csv:
      kind: cards                 # one of the contract kinds
      layout: eight               # optional: force a layout from rules/layouts.yaml
      columns: {card_id: 名刺番号}  # optional: canonical column -> header in the file
      date_format: "%d.%m.%Y"     # optional: strptime format tried before the built-in ones
      encoding: cp932             # optional: skip detection
      delimiter: ";"              # optional: skip sniffing
      sheet: 名刺                  # optional (.xlsx): sheet name, default the first sheet
      owner_name: 山田 太郎         # optional: fills blank owner_name (program for ma_activities: no)
      owner_department: 営業1部    # optional: fills blank owner_department / program_department

A bad entry raises InputError naming sources.yaml and the key.
"""

from __future__ import annotations

import codecs
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from abm.contract import KINDS
from abm.errors import InputError

FILE = "sources.yaml"
KEYS = (
    "kind",
    "layout",
    "columns",
    "date_format",
    "encoding",
    "delimiter",
    "sheet",
    "owner_name",
    "owner_department",
)


@dataclass(frozen=True)
class Source:
    glob: str
    kind: str | None = None
    layout: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    owner_name: str | None = None
    owner_department: str | None = None


def _bad(key: str, reason: str, fix: str) -> InputError:
    return InputError(FILE, f"key {key!r}: {reason}", fix=fix)


def _parse_entry(glob: str, body: object, layouts: set[str]) -> Source:
    if not isinstance(body, dict):
        raise _bad(
            glob, "expected a mapping of settings", "write `kind: …` and other settings under the glob"
        )
    for key in body:
        if key not in KEYS:
            raise _bad(f"{glob}.{key}", "unknown setting", f"use only {', '.join(KEYS)}")
    values: dict[str, str] = {}
    for key in KEYS:
        if key in body and key != "columns":
            v = body[key]
            if not isinstance(v, str | int) or isinstance(v, bool) or not str(v).strip():
                raise _bad(f"{glob}.{key}", "expected a non-empty text value", f"write {key}: <text>")
            values[key] = str(v)
    kind = values.get("kind")
    if kind is not None and kind not in KINDS:
        raise _bad(f"{glob}.kind", f"unknown kind {kind!r}", f"use one of {', '.join(KINDS)}")
    layout = values.get("layout")
    if layout is not None and layout not in layouts:
        raise _bad(f"{glob}.layout", f"unknown layout {layout!r}", f"use one of {', '.join(sorted(layouts))}")
    enc = values.get("encoding")
    if enc is not None:
        try:
            codecs.lookup(str(enc))
        except LookupError:
            raise _bad(f"{glob}.encoding", f"unknown encoding {enc!r}", "use e.g. utf-8, cp932") from None
    delim = values.get("delimiter")
    if delim is not None and len(str(delim).replace("\\t", "\t")) != 1:
        raise _bad(f"{glob}.delimiter", "expected one character", 'write e.g. delimiter: ";"')
    fmt = values.get("date_format")
    if fmt is not None and "%" not in str(fmt):
        raise _bad(f"{glob}.date_format", f"{fmt!r} is not a strptime format", 'write e.g. "%d/%m/%Y"')
    if fmt is not None and not any(d in fmt for d in ("%Y", "%y", "%G")):
        raise _bad(f"{glob}.date_format", f"{fmt!r} has no year (%Y or %y)", 'write e.g. "%d/%m/%Y"')
    columns = body.get("columns", {}) or {}
    if not isinstance(columns, dict):
        raise _bad(
            f"{glob}.columns",
            "expected a mapping canonical column -> header",
            "write columns: {card_id: 番号}",
        )
    for col, header in columns.items():
        if kind is not None and col not in KINDS[str(kind)]:
            raise _bad(
                f"{glob}.columns.{col}", f"not a column of {kind}", f"use {', '.join(KINDS[str(kind)])}"
            )
        if not isinstance(header, str) or not header.strip():
            raise _bad(
                f"{glob}.columns.{col}", "expected the header text of a column", f"write {col}: <header>"
            )
    if columns and kind is None:
        raise _bad(f"{glob}.columns", "a column mapping needs `kind:`", "add kind: <kind> to the entry")
    return Source(
        glob=glob,
        kind=kind,
        layout=layout,
        columns={str(k): str(v) for k, v in columns.items()},
        date_format=fmt,
        encoding=enc,
        delimiter=str(delim).replace("\\t", "\t") if delim else None,
        sheet=values.get("sheet"),
        owner_name=values.get("owner_name"),
        owner_department=values.get("owner_department"),
    )


def read_sources(input_dir: Path, layouts: set[str]) -> list[Source]:
    """Entries of ``input_dir/sources.yaml`` (``sources.yml`` too); [] when there is none."""
    for name in (FILE, "sources.yml"):
        path = input_dir / name
        if path.is_file():
            break
    else:
        return []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "<file>"
        raise InputError(
            FILE,
            f"not valid YAML at {where} ({getattr(exc, 'problem', exc)})",
            fix="correct the YAML syntax (UTF-8 text, `glob: {kind: …}` entries)",
        ) from exc
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise InputError(
            FILE,
            "expected a mapping from file-name glob to settings",
            fix="write entries like `eight_*.csv: {kind: cards}`",
        )
    return [_parse_entry(str(glob), body, layouts) for glob, body in doc.items()]


def match(sources: list[Source], file_name: str) -> Source | None:
    for src in sources:
        if fnmatch.fnmatch(file_name, src.glob) or fnmatch.fnmatch(file_name.lower(), src.glob.lower()):
            return src
    return None
