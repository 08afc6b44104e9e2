"""Vendor layouts: recognise a file's header row and map its columns to a kind's canonical columns.

The layouts are data (``rules/layouts.yaml``); this module validates them (``layout_rules``, run by
``abm.rules.load_rules``), picks the layout that fits a header best (``detect``) and turns a raw grid
into canonical columns (``apply``). Every kind also has an implicit ``canonical`` layout whose aliases
are the contract's own column names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import polars as pl

from abm.contract import KINDS
from abm.errors import InputError, RulesError
from abm.rules import Rules, require, string_list

FILE = "layouts.yaml"
USERS = "_users"  # reference data (Salesforce users), not records
USER_COLUMNS = ("user_id", "name", "family_name", "given_name", "department")
#: _owner_id: Salesforce OwnerId; _crm_id / _crm_type: an MA export's one CRM id column and the type
#: saying whether it is a lead or a contact (Marketo "SFDC Id" + "SFDC Type"; abm.load.crm_links)
INTERNAL_COLUMNS = ("_owner_id", "_crm_id", "_crm_type")
_STRIP = re.compile(r"[\s_\-.・]+")


def norm_header(name: str) -> str:
    """Header comparison key: NFKC, case-folded, without spaces, '_', '-', '.', '・'."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", name).casefold())


@dataclass(frozen=True)
class Layout:
    name: str
    kind: str
    source: str
    columns: dict[str, tuple[str, ...]]  # canonical -> normalised header aliases
    signature: tuple[tuple[str, ...], ...] = ()
    absent: tuple[str, ...] = ()
    split: tuple[tuple[tuple[str, ...], tuple[str, str]], ...] = ()
    join: tuple[tuple[tuple[str, ...], str, str], ...] = ()
    id_from: str | tuple[str, ...] | None = None  # "content" or canonical columns to hash
    id_prefix: str = ""
    salesforce_ids: bool = False

    def fits(self, headers: set[str]) -> bool:
        return all(any(a in headers for a in group) for group in self.signature) and not any(
            a in headers for a in self.absent
        )

    def score(self, headers: set[str]) -> int:
        used = {a for aliases in self.columns.values() for a in aliases}
        used |= {a for src, _ in self.split for a in src} | {a for src, _, _ in self.join for a in src}
        return len(used & headers)


@dataclass(frozen=True)
class LayoutRules:
    layouts: tuple[Layout, ...]
    by_name: dict[str, Layout] = field(default_factory=dict)


def _canonical(kind: str) -> Layout:
    cols: dict[str, tuple[str, ...]] = {c: (norm_header(c),) for c in KINDS[kind]}
    return Layout(
        name="canonical",
        kind=kind,
        source="abm data contract column names",
        columns=cols,
        signature=((norm_header(KINDS[kind][0]),),),
    )


def _aliases(value: object, key: str) -> tuple[str, ...]:
    return tuple(norm_header(a) for a in string_list(value, FILE, key))


def _parse_layout(name: str, doc: object) -> Layout:
    if not isinstance(doc, dict):
        raise RulesError(FILE, f"layouts.{name}", "expected a mapping")
    key = f"layouts.{name}"
    kind = require(doc, "kind", str, FILE)
    if kind not in KINDS and kind != USERS:
        raise RulesError(FILE, f"{key}.kind", f"unknown kind {kind!r} (one of {', '.join(KINDS)}, {USERS})")
    allowed = set(USER_COLUMNS) if kind == USERS else set(KINDS[kind]) | set(INTERNAL_COLUMNS)
    raw_cols = require(doc, "columns", dict, FILE)
    columns: dict[str, tuple[str, ...]] = {}
    for col, aliases in raw_cols.items():
        if col not in allowed:
            raise RulesError(FILE, f"{key}.columns.{col}", f"not a column of {kind}")
        columns[col] = _aliases(aliases, f"{key}.columns.{col}")
    sig = doc.get("signature", [])
    if not isinstance(sig, list) or not sig:
        raise RulesError(FILE, f"{key}.signature", "expected a non-empty list of header groups")
    signature = tuple(_aliases(g, f"{key}.signature") for g in sig)
    splits = []
    for i, s in enumerate(doc.get("split", []) or []):
        into = string_list(s.get("into") if isinstance(s, dict) else None, FILE, f"{key}.split[{i}].into")
        if len(into) != 2 or not set(into) <= allowed:
            raise RulesError(FILE, f"{key}.split[{i}].into", f"expected two columns of {kind}")
        splits.append((_aliases(s.get("from"), f"{key}.split[{i}].from"), (into[0], into[1])))
    joins = []
    for i, j in enumerate(doc.get("join", []) or []):
        if not isinstance(j, dict) or j.get("into") not in allowed:
            raise RulesError(FILE, f"{key}.join[{i}].into", f"expected a column of {kind}")
        joins.append(
            (_aliases(j.get("from"), f"{key}.join[{i}].from"), str(j["into"]), str(j.get("sep", " ")))
        )
    id_from = doc.get("id_from")
    if id_from is not None and id_from != "content":
        id_from = string_list(id_from, FILE, f"{key}.id_from")
        if not set(id_from) <= allowed:
            raise RulesError(FILE, f"{key}.id_from", f"expected 'content' or columns of {kind}")
    return Layout(
        name=name,
        kind=kind,
        source=str(doc.get("source", "")),
        columns=columns,
        signature=signature,
        absent=_aliases(doc.get("absent", []) or [], f"{key}.absent"),
        split=tuple(splits),
        join=tuple(joins),
        id_from=id_from,
        id_prefix=str(doc.get("id_prefix", name)),
        salesforce_ids=bool(doc.get("salesforce_ids")),
    )


def layout_rules(rules: Rules) -> LayoutRules:
    """Validated view of ``rules/layouts.yaml`` plus one canonical layout per kind."""
    doc = rules.doc(FILE)
    try:
        layouts_doc = require(doc, "layouts", dict, FILE)
        vendor = [_parse_layout(str(name), body) for name, body in layouts_doc.items()]
    except RulesError as err:  # name the file by its full path, like the other rules views
        raise RulesError(rules.path(FILE), err.key, err.reason) from None
    layouts = tuple(vendor) + tuple(_canonical(k) for k in KINDS)
    return LayoutRules(layouts=layouts, by_name={lay.name: lay for lay in vendor})


def detect(header: list[str], rules: LayoutRules, file: str, kind: str | None = None) -> Layout | None:
    """The layout that fits ``header`` best (restricted to ``kind`` when known); None when none fits.

    Equal best scores of layouts of different kinds are an error: guessing would load rows as the
    wrong kind.
    """
    headers = {norm_header(h) for h in header if h}
    fitting = [lay for lay in rules.layouts if (kind is None or lay.kind == kind) and lay.fits(headers)]
    if not fitting:
        return None
    best = max(lay.score(headers) for lay in fitting)
    top = [lay for lay in fitting if lay.score(headers) == best]
    if len({lay.kind for lay in top}) > 1:
        names = ", ".join(f"{lay.name} ({lay.kind})" for lay in top)
        raise InputError(
            file,
            f"the header fits several layouts equally well: {names}",
            fix="start the file name with its kind (e.g. cards_….csv) or give `kind:` in sources.yaml",
        )
    return top[0]


@dataclass(frozen=True)
class Mapping:
    """How one file's positional columns become canonical columns."""

    columns: dict[str, list[int]]  # canonical -> positional indexes, in priority order
    split: list[tuple[int, tuple[str, str]]]
    join: list[tuple[list[int], str, str]]
    ignored: list[str]  # header names no column uses


def resolve(header: list[str], layout: Layout, explicit: dict[str, str], file: str) -> Mapping:
    """Positions for every canonical column; ``explicit`` (sources.yaml) canonical -> header wins."""
    index: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        if h:
            index.setdefault(norm_header(h), []).append(i)
    columns: dict[str, list[int]] = {}
    for col, aliases in layout.columns.items():
        # every column under a matching header, in alias order: duplicate headers coalesce (first non-blank)
        pos = [p for a in aliases if a in index for p in index[a]]
        if pos:
            columns[col] = pos
    for col, name in explicit.items():
        key = norm_header(name)
        if key not in index:
            raise InputError(
                file,
                f"sources.yaml maps {col} to column {name!r}, which the header does not have",
                column=name,
                fix=f"use one of the file's headers: {', '.join(h for h in header if h)}",
            )
        columns[col] = [index[key][0]]
    split = []
    for src, into in layout.split:
        if into[0] not in columns:
            pos = [index[a][0] for a in src if a in index]
            if pos:
                split.append((pos[0], into))
    join: list[tuple[list[int], str, str]] = []
    for jsrc, jinto, sep in layout.join:
        if jinto not in columns:
            jpos = [index[a][0] for a in jsrc if a in index]
            if jpos:
                join.append((jpos, jinto, sep))
    used = (
        {p for ps in columns.values() for p in ps}
        | {p for p, _ in split}
        | {p for ps, _, _ in join for p in ps}
    )
    ignored = [h or f"column_{i + 1}" for i, h in enumerate(header) if i not in used]
    return Mapping(columns, split, join, ignored)


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    e = e.str.strip_chars()
    return pl.when(e != "").then(e)  # (= len_chars() > 0, without counting characters)


def apply(frame: pl.DataFrame, mapping: Mapping, targets: tuple[str, ...]) -> pl.DataFrame:
    """Canonical columns (stripped, blank -> null) for ``targets``; columns the file lacks are null."""
    exprs: dict[str, pl.Expr] = {}
    for col, pos in mapping.columns.items():
        if col in targets:
            exprs[col] = pl.coalesce([_blank_to_null(pl.col(f"c{p}")) for p in pos])
    for pos_, (first, second) in mapping.split:
        full = _blank_to_null(pl.col(f"c{pos_}")).str.replace_all(r"\s+", " ")
        parts = full.str.split_exact(" ", 1)
        exprs[first] = parts.struct.field("field_0")
        exprs.setdefault(second, _blank_to_null(parts.struct.field("field_1")))
    for pos, into, sep in mapping.join:
        joined = pl.concat_str(
            [_blank_to_null(pl.col(f"c{p}")) for p in pos], separator=sep, ignore_nulls=True
        )
        exprs[into] = pl.when(joined != "").then(joined)
    return frame.select(
        *[exprs.get(c, pl.lit(None, dtype=pl.Utf8)).cast(pl.Utf8).alias(c) for c in targets],
        pl.col("row_number"),
    )
