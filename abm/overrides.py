"""Overrides: corrections a person made, kept night to night (``overrides.yaml``).

Each entry says that two records are (``must``) or are not (``cannot``) the same account or the same
person. Entries name *record keys*, never IDs, so a correction survives every change of ID. They
are applied as hard constraints in clustering (abm.linkage.cluster): a must-link joins the two
records' clusters, a cannot-link keeps them apart even through chains of strong links, cut at the
weakest links. Contradictions (must A–B, must B–C, cannot A–C) stop the run before any work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
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
        group = _must_groups(at_level)
        for o in at_level:
            if o.link == "cannot" and group(o.a) == group(o.b):
                chain = [m for m in at_level if m.link == "must" and group(m.a) == group(o.a)]
                names = ", ".join(m.describe() for m in chain)
                raise InputError(
                    str(path), f"{o.describe()} contradicts {names}: the must-links join those two records",
                    row=o.number, fix="remove one of these overrides (`abm override remove N`)")


def _must_groups(overrides: Sequence[Override]) -> Callable[[str], str]:
    """Union–find over the must-links: record key → a representative of its must-linked group."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for o in overrides:
        if o.link == "must":
            parent[find(o.a)] = find(o.b)
    return find


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


# --- what `abm override add/list/remove` needs ------------------------------------------------

ANCHOR_ORDER = ("crm_accounts", "crm_contacts", "cards", "crm_leads", "ma_leads", "crm_opportunities",
                "ma_activities")


def representative_record(out_dir: Path, subject: str, level: str) -> tuple[str, str]:
    """A record key for ``subject``: a record key as it is; an account or person ID, or a company
    or person name, → the record its ID is anchored on (CRM first, then the smallest key).
    Returns the key and a sentence saying which record was chosen."""
    match = _KEY.match(subject)
    if match and match["kind"] in KINDS:
        return subject, f"{subject} is a record key"
    records_path = out_dir / "records.parquet"
    if not records_path.is_file():
        raise InputError(str(records_path), f"{subject!r} is not a record key, and there is no run here to look "
                         "it up in", fix="give a record key (<kind>:<id>) or --out the directory of a run")
    column = "account_id" if level == "account" else "person_id"
    records = pl.read_parquet(records_path, columns=["record_key", "kind", "account_id", "person_id"])
    ids = _ids_named(out_dir, subject, level)
    if not ids:
        raise InputError(str(out_dir), f"no record key, {level} ID or {level} name matches {subject!r}",
                         fix=f"look it up with `abm explain {out_dir} NAME`")
    if len(ids) > 1:
        listed = ", ".join(f"{i} ({name})" for i, name in sorted(ids.items())[:10])
        raise InputError(str(out_dir), f"{subject!r} names {len(ids)} {level}s: {listed}",
                         fix="give one of these IDs instead of the name")
    (the_id, name), = ids.items()
    rank = {k: i for i, k in enumerate(ANCHOR_ORDER)}
    members = records.filter(pl.col(column) == the_id).with_columns(
        pl.col("kind").replace_strict(rank, default=len(rank), return_dtype=pl.Int32).alias("__rank"))
    key = members.sort("__rank", "record_key").get_column("record_key")[0]
    return key, f"{subject!r} → {level} {the_id} ({name}) → its anchor record {key}"


def _ids_named(out_dir: Path, subject: str, level: str) -> dict[str, str]:
    """IDs of ``level`` whose ID is ``subject`` or whose name matches it (exact first, then part)."""
    table = out_dir / ("accounts.parquet" if level == "account" else "persons.parquet")
    column = "account_id" if level == "account" else "person_id"
    if not table.is_file():
        return {}
    frame = pl.read_parquet(table).select(column, pl.col("name").cast(pl.Utf8))
    by_id = frame.filter(pl.col(column) == subject)
    if by_id.height:
        return dict(by_id.iter_rows())
    folded = _fold(subject)
    names = frame.with_columns(pl.col("name").map_elements(_fold, return_dtype=pl.Utf8).alias("__f"))
    exact = names.filter(pl.col("__f") == folded)
    hits = exact if exact.height else names.filter(pl.col("__f").str.contains(folded, literal=True))
    return dict(hits.select(column, "name").iter_rows())


def _fold(text: str | None) -> str:
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def override_applies(out_dir: Path | None, overrides: Sequence[Override]) -> dict[int, str]:
    """Whether each override still applies, from the last run in ``out_dir`` (its overrides table,
    else whether both records are still there)."""
    if out_dir is None or not (out_dir / "records.parquet").is_file():
        return {o.number: "unknown (no run to check against)" for o in overrides}
    last = out_dir / "overrides.parquet"
    said: dict[tuple[str, str, str, str], str] = {}
    if last.is_file():
        for row in pl.read_parquet(last).iter_rows(named=True):
            said[(row["link"], row["level"], row["a"], row["b"])] = \
                f"{row['status']}: {row['detail']}" if row["detail"] else str(row["status"])
    keys = set(pl.read_parquet(out_dir / "records.parquet", columns=["record_key"]).get_column("record_key"))
    out = {}
    for o in overrides:
        if (o.link, o.level, o.a, o.b) in said:
            out[o.number] = said[(o.link, o.level, o.a, o.b)]
        else:
            gone = [k for k in (o.a, o.b) if k not in keys]
            out[o.number] = f"stale: {' and '.join(gone)} not in the last run" if gone else "not yet run"
    return out
