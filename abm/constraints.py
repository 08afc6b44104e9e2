"""Overrides as constraints of one linkage: record keys → linkage units, and what each did.

An override names any two records; the linkage at its level works on *units* (accounts: records
that name a company by themselves; persons: records about one person). A record that is not a unit
stands for the unit it follows (an opportunity for its contact or account, an MA activity for its
lead), the same pointers resolution uses to hand out IDs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from abm.overrides import Override

#: pointers a record follows to the unit it stands for, in order
POINTERS = ("contact_ref", "account_ref")
CONSTRAINT_SCHEMA = {"id_l": pl.Utf8, "id_r": pl.Utf8, "override": pl.Utf8}


@dataclass(frozen=True)
class Constraints:
    must: pl.DataFrame              # id_l, id_r, override ("override N")
    cannot: pl.DataFrame            # id_l, id_r, override
    stale: dict[int, str]           # override number -> why it cannot apply tonight (a record is gone)
    units_of: dict[int, tuple[str, str]]   # override number -> the two unit ids it constrains
    refused: dict[int, str] = field(default_factory=dict)   # override number -> why it was not applied


def _unit_of(key: str, units: set[str], pointers: dict[str, dict[str, str | None]], level: str) -> str | None:
    seen = {key}
    current: str | None = key
    order = ("contact_ref", "account_ref") if level == "person" else ("account_ref", "contact_ref")
    while current is not None and current not in units:
        refs = pointers.get(current, {})
        nxt = next((r for c in order if (r := refs.get(c)) is not None and r in pointers), None)
        if nxt is None or nxt in seen:
            return None
        seen.add(nxt)
        current = nxt
    return current


def constraints_for(overrides: Sequence[Override], level: str, records: pl.DataFrame,
                    unit_ids: pl.Series) -> Constraints:
    """The must- and cannot-link unit pairs of ``level``'s overrides over tonight's ``records``."""
    mine = [o for o in overrides if o.level == level]
    keys = {k for o in mine for k in (o.a, o.b)}
    present = set(records.get_column("record_key").to_list()) if mine else set()
    units = set(unit_ids.to_list()) if mine else set()
    cols = [c for c in POINTERS if c in records.columns]
    pointers: dict[str, dict[str, str | None]] = {}
    frontier = keys & present
    while frontier:  # only the records the overrides reach, hop by hop
        rows = records.filter(pl.col("record_key").is_in(list(frontier))).select("record_key", *cols)
        new: set[str] = set()
        for row in rows.iter_rows(named=True):
            pointers[row["record_key"]] = {c: row[c] for c in cols}
            new.update(v for c in cols if (v := row[c]) is not None and v not in pointers)
        frontier = new & present
    must: list[tuple[str, str, str]] = []
    cannot: list[tuple[str, str, str]] = []
    stale: dict[int, str] = {}
    units_of: dict[int, tuple[str, str]] = {}
    for o in mine:
        missing = [k for k in (o.a, o.b) if k not in present]
        if missing:
            stale[o.number] = f"record {' and '.join(missing)} not in tonight's input"
            continue
        ua, ub = (_unit_of(k, units, pointers, level) for k in (o.a, o.b))
        if ua is None or ub is None:
            which = o.a if ua is None else o.b
            stale[o.number] = f"record {which} is not about {'a person' if level == 'person' else 'a company'}"
            continue
        if ua == ub:
            stale[o.number] = f"both records stand for the same {level} unit {ua}"
            continue
        units_of[o.number] = (ua, ub)
        (must if o.link == "must" else cannot).append((ua, ub, f"override {o.number}"))
    return Constraints(pl.DataFrame(must, schema=CONSTRAINT_SCHEMA, orient="row"),
                       pl.DataFrame(cannot, schema=CONSTRAINT_SCHEMA, orient="row"), stale, units_of)


def override_status(overrides: Sequence[Override], constraints: Constraints, clusters: pl.DataFrame,
                    refused: pl.DataFrame) -> dict[int, tuple[str, str]]:
    """What each override of this level did: ``applied``, ``refused`` (a guard kept a must-link
    apart) or ``stale``, with a detail. ``clusters``: id, cluster; ``refused``: refused_by."""
    cluster_of = dict(clusters.select("id", "cluster").iter_rows())
    cuts = refused.group_by("refused_by").len() if refused.height else pl.DataFrame(
        schema={"refused_by": pl.Utf8, "len": pl.UInt32})
    cut_count = dict(cuts.iter_rows())
    out: dict[int, tuple[str, str]] = {n: ("stale", why) for n, why in constraints.stale.items()}
    out |= {n: ("refused", why) for n, why in constraints.refused.items()}
    for o in overrides:
        if o.number not in constraints.units_of:
            continue
        ua, ub = constraints.units_of[o.number]
        together = cluster_of.get(ua) == cluster_of.get(ub)
        if o.link == "must":
            out[o.number] = ("applied", "joined") if together else (
                "refused", "a guard keeps them apart (e.g. two different 法人番号)")
        else:
            n = int(cut_count.get(f"override {o.number}", 0))
            out[o.number] = ("applied", f"kept apart; cut {n} link(s)" if n else "kept apart") if not together \
                else ("refused", "still together")
    return out
