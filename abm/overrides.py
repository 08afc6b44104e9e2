"""Overrides: corrections a person made, kept night to night (``overrides.yaml``).

Each entry says that two records are (``must``) or are not (``cannot``) the same account or the same
person. Entries name *record keys*, never IDs, so a correction survives every change of ID. They
are applied as hard constraints in clustering (abm.linkage.cluster): a must-link joins the two
records' clusters, a cannot-link keeps them apart even through chains of strong links, cut at the
weakest links. Contradictions (must A–B, must B–C, cannot A–C) stop the run before any work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from abm.contract import KINDS
from abm.errors import InputError

OVERRIDES_FILE = "overrides.yaml"
LINKS = ("must", "cannot")
LEVELS = ("account", "person")
FIELDS = ("link", "level", "a", "b", "by", "on", "reason")
REQUIRED = ("link", "level", "a", "b")
_KEY = re.compile(r"^(?P<kind>[a-z_]+):(?P<id>.+)$")

#: the table of overrides written with every run (``overrides.parquet``): each with what it did
SCHEMA = {
    "override": pl.Int32, "link": pl.Utf8, "level": pl.Utf8, "a": pl.Utf8, "b": pl.Utf8, "by": pl.Utf8,
    "on": pl.Date, "reason": pl.Utf8, "status": pl.Utf8, "detail": pl.Utf8,
}


@dataclass(frozen=True)
class Override:
    number: int          # 1-based position in the file: what `abm override remove N` takes
    link: str            # must | cannot
    level: str           # account | person
    a: str               # record key
    b: str               # record key
    by: str | None = None
    on: date | None = None
    reason: str | None = None

    def describe(self) -> str:
        return f"override {self.number} ({self.link}-link {self.level} {self.a} ~ {self.b})"

    def to_yaml(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "number" and v is not None}
        if self.on is not None:
            out["on"] = self.on.isoformat()
        return out


def overrides_path(input_dir: Path, option: Path | None) -> Path | None:
    """``--overrides FILE`` when given, else ``INPUT_DIR/overrides.yaml`` when it exists."""
    if option is not None:
        return option
    default = input_dir / OVERRIDES_FILE
    return default if default.is_file() else None


def load_overrides(path: Path | None) -> list[Override]:
    """Read and validate an overrides file; an InputError names the file, entry and field."""
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(str(path), "the overrides file does not exist",
                         fix="create it with `abm override add` or leave out --overrides") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read the overrides file ({exc.__class__.__name__})",
                         fix="save it as UTF-8 text") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"not valid YAML ({str(exc).splitlines()[0]})") from exc
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise InputError(str(path), "it must be a YAML list of overrides (`- {link: must, level: person, a: …, b: …}`)")
    overrides = [_parse(path, i, entry) for i, entry in enumerate(doc, start=1)]
    check_contradictions(path, overrides)
    return overrides


def _parse(path: Path, number: int, entry: Any) -> Override:
    def bad(column: str, reason: str) -> InputError:
        return InputError(str(path), reason, row=number, column=column)

    if not isinstance(entry, dict):
        raise bad("<entry>", "each override is a mapping with link, level, a, b, by, on, reason")
    # YAML 1.1 reads a bare `on:` key as the boolean true
    entry = {("on" if key is True else str(key)): value for key, value in entry.items()}
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise bad(unknown[0], f"unknown field; the fields are {', '.join(FIELDS)}")
    for name in REQUIRED:
        if entry.get(name) in (None, ""):
            raise bad(name, "this field is required")
    link, level = str(entry["link"]).strip().lower(), str(entry["level"]).strip().lower()
    if link not in LINKS:
        raise bad("link", f"{link!r} is not one of {', '.join(LINKS)}")
    if level not in LEVELS:
        raise bad("level", f"{level!r} is not one of {', '.join(LEVELS)}")
    a, b = (_record_key(str(entry[k]).strip(), lambda r, k=k: bad(k, r)) for k in ("a", "b"))
    if a == b:
        raise bad("b", "a and b are the same record")
    on = entry.get("on")
    if on is not None and not isinstance(on, date):
        try:
            on = date.fromisoformat(str(on).strip())
        except ValueError as exc:
            raise bad("on", f"{on!r} is not a date (YYYY-MM-DD)") from exc
    text = {k: (str(entry[k]) if entry.get(k) not in (None, "") else None) for k in ("by", "reason")}
    return Override(number, link, level, a, b, text["by"], on, text["reason"])


def _record_key(value: str, bad: Any) -> str:
    match = _KEY.match(value)
    if not match or match["kind"] not in KINDS:
        raise bad(f"{value!r} is not a record key (<kind>:<id>, kind one of {', '.join(KINDS)})")
    return value


def check_contradictions(path: Path, overrides: Sequence[Override]) -> None:
    """Must-links are transitive: a cannot-link between two records they join is a contradiction."""
    for level in LEVELS:
        at_level = [o for o in overrides if o.level == level]
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for o in at_level:
            if o.link == "must":
                parent[find(o.a)] = find(o.b)
        for o in at_level:
            if o.link == "cannot" and find(o.a) == find(o.b):
                chain = [m for m in at_level if m.link == "must" and find(m.a) == find(o.a)]
                names = ", ".join(m.describe() for m in chain)
                raise InputError(
                    str(path), f"{o.describe()} contradicts {names}: the must-links join those two records",
                    row=o.number, fix="remove one of these overrides (`abm override remove N`)")


def as_table(overrides: Iterable[Override], status: dict[int, tuple[str, str]] | None = None) -> pl.DataFrame:
    """The overrides as a table, each with ``status``/``detail`` (what it did tonight)."""
    status = status or {}
    rows = [{**asdict(o), "override": o.number, "status": status.get(o.number, ("", ""))[0] or None,
             "detail": status.get(o.number, ("", ""))[1] or None} for o in overrides]
    return pl.DataFrame([{k: r[k] for k in SCHEMA} for r in rows], schema=SCHEMA)


def write_overrides(path: Path, overrides: Sequence[Override]) -> None:
    """Write the file back (used by `abm override add/remove`), numbered by position."""
    payload = [o.to_yaml() for o in overrides]
    header = ("# abm overrides: corrections that stick night to night (docs: README, 'Overrides').\n"
              "# link: must|cannot, level: account|person, a/b: record keys (<kind>:<id>).\n")
    body = yaml.safe_dump(payload, allow_unicode=True, sort_keys=False, default_flow_style=False) if payload else "[]\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(header + body, encoding="utf-8")
    tmp.replace(path)
