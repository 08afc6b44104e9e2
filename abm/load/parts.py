"""How one read file becomes parts with layouts: its kind (sources.yaml, file-name prefix, header),
the layout of each part (a sheet, a header segment), and the row-level checks that need the layout
(xlsx formula ids without a value, unreadable opportunity amounts and is_closed values).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import polars as pl

from abm.contract import KINDS
from abm.errors import InputError
from abm.load import read
from abm.load.layouts import USERS, Layout, detect, layout_rules, resolve
from abm.load.sources import Source
from abm.rules import Rules

log = logging.getLogger(__name__)


def kind_from_stem(stem: str) -> str | None:
    """``cards``, ``cards_2025-10``, ``crm-contacts`` -> the kind whose name starts the stem."""
    s = re.sub(r"[\s\-]+", "_", stem.lower())
    for kind in KINDS:
        if re.match(rf"{kind}(?![a-z])", s):
            return kind
    return None


def layout_for(raw: read.RawTable, src: Source | None, name: str, rules: Rules) -> Layout | None:
    lrules = rules.view(layout_rules)
    hint = (src.kind if src else None) or kind_from_stem(Path(name).stem)
    if src and src.layout:
        forced = lrules.by_name[src.layout]
        if hint and forced.kind != hint:
            raise InputError(
                "sources.yaml",
                f"key '{src.glob}.layout': layout {src.layout} is for {forced.kind}, not {hint}",
                fix="make kind and layout agree",
            )
        return forced
    found = detect(raw.header, lrules, name, hint)
    if found is None and hint:
        if not (src and src.kind):  # the name says one kind: does the header clearly say another?
            try:
                other = detect(raw.header, lrules, name, None)
            except InputError:
                other = None
            if other is not None and other.kind != hint:
                raise InputError(
                    name,
                    f"the file name says {hint}, but its header fits the {other.name} layout of "
                    f"{other.kind} and no layout of {hint}",
                    fix=f"rename the file (e.g. {other.kind}_….csv) or give `kind:` in sources.yaml",
                )
        return next(lay for lay in lrules.layouts if lay.name == "canonical" and lay.kind == hint)
    return found


def unknown_layout(raw: read.RawTable, name: str, sheets_hint: str = "") -> InputError:
    return InputError(
        name,
        f"unknown layout: the header ({', '.join(raw.header[:8])}"
        f"{', …' if len(raw.header) > 8 else ''}) fits no vendor layout and the file name "
        f"starts with no kind{sheets_hint}",
        fix=f"name the file <kind>_….csv (kinds: {', '.join(KINDS)}), "
        "or describe it in sources.yaml (kind, columns" + (", sheet)" if sheets_hint else ")"),
    )


def parts_with_layouts(
    raw: read.RawTable, src: Source | None, name: str, rules: Rules, stats: dict[str, Any]
) -> list[tuple[read.RawTable, Layout]]:
    """Each part of the file (one, or several sheets / header segments) with its layout. Parts whose
    header fits no layout (a cover sheet) are named in the notes and not read, when another part fits;
    parts of different kinds stop the run (name the sheet in sources.yaml)."""
    if not raw.segments:
        layout = layout_for(raw, src, name, rules)
        if layout is None:
            raise unknown_layout(raw, name)
        return [(raw, layout)]
    lrules = rules.view(layout_rules)
    hint = (src.kind if src else None) or kind_from_stem(Path(name).stem)
    fitting: list[tuple[read.RawTable, Layout]] = []
    unfit: list[read.RawTable] = []
    for part in raw.segments:
        found = lrules.by_name[src.layout] if src and src.layout else detect(part.header, lrules, name, hint)
        (fitting.append((part, found)) if found is not None else unfit.append(part))
    if not fitting:
        layout = layout_for(raw.segments[0], src, name, rules)
        if layout is None:
            labels = ", ".join(repr(p.label) for p in raw.segments)
            raise unknown_layout(raw.segments[0], name, f" (parts: {labels}; name one with `sheet:`)")
        fitting, unfit = [(raw.segments[0], layout)], raw.segments[1:]
        if any(read._header_key(p.header) != read._header_key(raw.segments[0].header) for p in unfit):
            raise InputError(name, f"its sheets have different headers and none fits a layout "
                             f"({', '.join(repr(p.label) for p in raw.segments)})",
                             fix="name the data sheet in sources.yaml (sheet: …)")
        fitting += [(p, layout) for p in unfit]
        unfit = []
    kinds = {lay.kind for _, lay in fitting}
    if len(kinds) > 1:
        detail = ", ".join(f"{p.label!r} ({lay.kind})" for p, lay in fitting)
        raise InputError(name, f"its parts hold different kinds: {detail}",
                         fix="split the file, or name the sheet to read in sources.yaml (sheet: …)")
    for part in unfit:
        note = (f"{part.label!r} not read: its header ({', '.join(part.header[:5])}) fits no layout "
                f"({part.rows_read} rows)")
        stats["notes"].append(note)
        stats["rows_read"] -= part.rows_read
        log.warning("%s: %s", name, note)
    raw.segments = [p for p, _ in fitting]
    return fitting


def quarantine_formula_ids(
    part: read.RawTable, layout: Layout, src: Source | None, name: str, stats: dict[str, Any]
) -> None:
    """xlsx rows whose id cell is a formula saved without a value: quarantined with that reason
    (not ``missing_id``); other such cells are counted (``formula_without_value``)."""
    if not part.formula_cells or layout.kind == USERS:
        return
    mapping = resolve(part.header, layout, src.columns if src else {}, name)
    id_pos = set(mapping.columns.get(KINDS[layout.kind][0], []))
    hit = [n for n, cols in part.formula_cells.items() if id_pos & set(cols)]
    other = sum(len(c) for n, c in part.formula_cells.items() if n not in hit)
    if other:
        issues = stats["field_issues"]
        issues["formula_without_value"] = issues.get("formula_without_value", 0) + other
    if not hit:
        return
    texts = raw_rows(part, hit)
    col = part.header[min(id_pos)]
    part.bad = part.bad + [
        read.BadRow(n, f"formula_without_value: the id cell ({col}) holds a formula saved without its value; "
                    "open the workbook in Excel and save it, or export CSV", texts.get(n, "{}"))
        for n in sorted(hit)
    ]
    part.frame = part.frame.filter(~pl.col("row_number").is_in(hit))


def count_unreadable_values(frame: pl.DataFrame, kind: str, rules: Rules, stats: dict[str, Any]) -> None:
    """Opportunity amounts and is_closed values the normalize stage cannot read are counted per file
    (``bad_amount``, ``bad_is_closed``): the value becomes empty, the row is kept."""
    if kind != "crm_opportunities":
        return
    from abm.normalize.records import parse_amount, parse_bool, records_rules

    rr = rules.view(records_rules)
    for col, ok in (("amount", lambda v: parse_amount(v) is not None),
                    ("is_closed", lambda v: parse_bool(v, rr) is not None)):
        if col not in frame.columns:
            continue
        values = frame.get_column(col).drop_nulls()
        bad = {v for v in values.unique().to_list() if not ok(v)}
        n = int(values.is_in(list(bad)).sum()) if bad else 0
        if n:
            stats["field_issues"][f"bad_{col}"] = n


def raw_rows(raw: read.RawTable, numbers: list[int]) -> dict[int, str]:
    rows = raw.frame.filter(pl.col("row_number").is_in(numbers))
    cols = [f"c{i}" for i in range(len(raw.header))]
    return {r[-1]: read.raw_json(raw.header, r[:-1]) for r in rows.select(*cols, "row_number").iter_rows()}
