"""Linkage specs: what to block on, how to compare, when to merge and what may never merge.

A spec is data (``rules/linkage_*.yaml``). The engine knows nothing about companies or persons;
accounts and persons are two specs over normalised columns, and a third (Febrl) proves it generic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from abm.errors import RulesError
from abm.rules import Rules, require, string_list

_SQL_WORDS = frozenset({"case", "when", "then", "else", "end", "and", "or", "not", "is", "null", "like", "in",
                        "true", "false", "as", "between", "distinct", "ilike", "cast", "try_cast", "varchar", "integer", "boolean"})
LEVEL_KINDS = ("exact", "jaro_winkler", "ratio", "token_set", "prefix", "abs_diff", "overlap")
GUARD_KINDS = ("distinct_values", "sql")
SYSTEM_LINK_KINDS = ("ref", "shared")


@dataclass(frozen=True)
class BlockingRule:
    """Candidate pairs share every column of ``on`` (all non-null). In a block larger than
    ``max_block`` records, each record is paired only with its ``window`` nearest neighbours in
    the order of the compared columns (logged), so one huge customer cannot explode the pairs."""

    name: str
    on: tuple[str, ...]
    max_block: int
    window: int = 10
    max_pairs: int | None = None   # pair budget of this rule (default: the spec's max_pairs_per_rule)


@dataclass(frozen=True)
class Level:
    """One comparison level: ``kind`` applied to ``column`` (default: the comparison's column)."""

    name: str
    kind: str
    column: str
    threshold: float = 1.0
    unless_both: str | None = None   # a boolean column: the level does not hold when both sides are true
    only_differing: str | None = None  # a boolean column: the level holds only when the two sides differ in it


@dataclass(frozen=True)
class Comparison:
    """Ordered levels; the first that holds wins. Null (either side missing) and 'else' are implicit."""

    name: str
    column: str
    levels: tuple[Level, ...]
    #: a boolean column (e.g. "written in Latin letters"): where the two sides differ in it and no level
    #: holds, the pair has no evidence either way (null) instead of 'else' — a Latin name against a
    #: kanji one is not a disagreement
    neutral_differing: str | None = None
    #: a boolean column (e.g. "a person's own line"): where either side has it and no level holds, no
    #: evidence either way — a direct line is not the switchboard, and neither says 'different company'
    neutral_if_either: str | None = None

    @property
    def n_levels(self) -> int:
        """Levels + the implicit 'else'; the null level is coded -1."""
        return len(self.levels) + 1

    def level_names(self) -> list[str]:
        return [lv.name for lv in self.levels] + ["else"]


@dataclass(frozen=True)
class Guard:
    """Evidence that forbids a merge. ``distinct_values``: a cluster may not hold two different
    non-null values of ``column``. ``sql``: a DuckDB boolean over ``l.``/``r.`` columns marking a
    candidate pair as cannot-link (it may not end in one cluster, directly or through others)."""

    name: str
    kind: str
    column: str | None = None
    sql: str | None = None
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class SystemLink:
    """A link a source system already records. ``ref``: the unit's ``column`` holds another unit's
    id; ``shared``: units carrying one value of ``column`` (groups larger than ``max_group`` are
    ignored, logged: a filler value is no evidence). ``finding`` labels the conflicts it raises."""

    name: str
    kind: str
    column: str
    finding: str
    max_group: int = 50


@dataclass(frozen=True)
class SystemLinks:
    """Strong evidence, not law: each link joins its two units with ``weight`` (match weight, log2
    odds) unless a veto (a DuckDB boolean over ``l.``/``r.``), a guard or the clustering's net
    evidence says the two differ; then it is a conflict, kept with its reason."""

    links: tuple[SystemLink, ...] = ()
    weight: float = 10.0
    vetoes: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class LinkageSpec:
    name: str
    id_column: str
    derived: tuple[tuple[str, str], ...]   # (column, DuckDB expression) added before blocking
    blocking: tuple[BlockingRule, ...]
    comparisons: tuple[Comparison, ...]
    guards: tuple[Guard, ...]
    threshold: float                        # match probability needed to link
    link_requires: tuple[tuple[str, str], ...]  # (comparison, level): a link needs one of them to hold
    attach_unique: tuple[tuple[str, str], ...]  # levels that attach a lone unit to its only candidate cluster
    #: a pair on which this many different comparisons hold a ``link_requires`` level, and none says
    #: 'different', links whatever its probability (0: off). Two independent identifiers agreeing (an
    #: exact name and a domain) identify a company even where EM has too few pairs to learn weights.
    corroborated: int
    attach_conflicts: tuple[str, ...]           # columns whose value must not differ from any target member's
    u_exclude: tuple[tuple[str, str], ...]      # random pairs agreeing here are presumed matches: not in u
    prior: float                            # initial λ for EM (share of candidate pairs that match)
    u_sample_pairs: int                     # random pairs to estimate u
    u_within: str | None                    # draw u's random pairs within one value of this column
    em_iterations: int
    seed: int
    max_pairs_per_rule: int = 20_000_000  # pair budget per blocking rule (abm.linkage.budget)
    max_pairs: int = 50_000_000           # pair budget of the whole spec
    over_budget: str = "window"           # a rule over budget: "window" (lower its max_block) or "error"
    source: str = "linkage spec"          # the file the spec came from (for error messages)
    system_links: SystemLinks = SystemLinks()

    def columns(self) -> list[str]:
        """Every column the spec reads (before derived columns are added), including the columns a
        derived expression reads (identifiers outside quotes that are not SQL words or functions)."""
        derived = {c for c, _ in self.derived}
        cols = {self.id_column}
        for _, expr in self.derived:
            bare = re.sub(r"'[^']*'", " ", expr)
            cols.update(w for w in re.findall(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()", bare)
                        if w not in _SQL_WORDS)
        for rule in self.blocking:
            cols.update(rule.on)
        for comp in self.comparisons:
            cols.add(comp.column)
            cols.update(lv.column for lv in comp.levels)
            cols.update(lv.unless_both for lv in comp.levels if lv.unless_both)
            cols.update(lv.only_differing for lv in comp.levels if lv.only_differing)
            if comp.neutral_differing:
                cols.add(comp.neutral_differing)
            if comp.neutral_if_either:
                cols.add(comp.neutral_if_either)
        cols.update(g.column for g in self.guards if g.column)
        cols.update(self.attach_conflicts)
        cols.update(link.column for link in self.system_links.links)
        return sorted(cols - derived)


def _parse_level(raw: Any, comp_column: str, file: str, key: str) -> Level:
    kind = require(raw, "kind", str, file)
    if kind not in LEVEL_KINDS:
        raise RulesError(file, f"{key}.kind", f"unknown level kind {kind!r}; use one of {', '.join(LEVEL_KINDS)}")
    threshold = float(raw.get("threshold", 1.0 if kind != "abs_diff" else 0.0))
    if kind in {"jaro_winkler", "ratio", "token_set"} and not 0.0 < threshold <= 1.0:
        raise RulesError(file, f"{key}.threshold", "similarity thresholds lie in (0, 1]")
    column = raw.get("column", comp_column)
    name = raw.get("name") or (kind if kind == "exact" else f"{kind}>={threshold:g}")
    unless = raw.get("unless_both")
    only = raw.get("only_differing")
    return Level(name=str(name), kind=kind, column=str(column), threshold=threshold,
                 unless_both=str(unless) if unless else None, only_differing=str(only) if only else None)


def _param(value: Any, file: str, key: str, rules: Rules | None) -> tuple[str, ...]:
    """A guard parameter: a list of strings, or ``"other.yaml#key"`` naming one in another rules file."""
    if isinstance(value, str) and "#" in value:
        if rules is None:
            raise RulesError(file, key, "a reference to another rules file needs the rules directory")
        ref_file, ref_key = value.split("#", 1)
        doc = rules.doc(ref_file)
        value = doc.get(ref_key) if isinstance(doc, dict) else None
        if value is None:
            raise RulesError(file, key, f"{ref_file} has no key {ref_key!r}")
    # guard values are compared with matching keys: case-folded, no spaces
    return tuple("".join(v.casefold().split()) for v in string_list(value, file, key))


def parse_spec(doc: Any, file: str, rules: Rules | None = None) -> LinkageSpec:
    """Validate one spec document; every error names the file and the key."""
    if not isinstance(doc, dict):
        raise RulesError(file, "<root>", "a linkage spec is a mapping")
    derived_raw = doc.get("derived", {}) or {}
    if not isinstance(derived_raw, dict):
        raise RulesError(file, "derived", "expected a mapping column -> DuckDB expression")
    blocking = []
    for i, rule in enumerate(require(doc, "blocking", list, file)):
        # 'keys', not 'on': YAML 1.1 reads a bare `on` as the boolean true
        on = string_list(require(rule, "keys", list, file), file, f"blocking[{i}].keys")
        max_pairs = rule.get("max_pairs")
        blocking.append(BlockingRule(str(rule.get("name", "+".join(on))), on, int(rule.get("max_block", 5000)),
                                     int(rule.get("window", 10)), int(max_pairs) if max_pairs is not None else None))
    comparisons = []
    for i, comp in enumerate(require(doc, "comparisons", list, file)):
        column = require(comp, "column", str, file)
        levels = tuple(
            _parse_level(lv, column, file, f"comparisons[{i}].levels[{j}]")
            for j, lv in enumerate(require(comp, "levels", list, file))
        )
        if not levels:
            raise RulesError(file, f"comparisons[{i}].levels", "a comparison needs at least one level")
        neutral = comp.get("neutral_differing")
        either = comp.get("neutral_if_either")
        comparisons.append(Comparison(str(comp.get("name", column)), column, levels,
                                      str(neutral) if neutral else None, str(either) if either else None))
    guards = []
    for i, g in enumerate(doc.get("guards", []) or []):
        kind = require(g, "kind", str, file)
        if kind not in GUARD_KINDS:
            raise RulesError(file, f"guards[{i}].kind", f"unknown guard kind {kind!r}; use one of {GUARD_KINDS}")
        if kind == "distinct_values":
            require(g, "column", str, file)
        else:
            require(g, "sql", str, file)
        params = tuple((k, _param(v, file, f"guards[{i}].params.{k}", rules))
                       for k, v in (g.get("params") or {}).items())
        guards.append(Guard(str(g.get("name", kind)), kind, g.get("column"), g.get("sql"), params))
    names = {c.name: c.level_names() for c in comparisons}

    def levels_of(key: str) -> tuple[tuple[str, str], ...]:
        out = []
        for i, item in enumerate(doc.get(key, []) or []):
            comp, _, level = str(item).partition(".")
            if comp not in names or level not in names[comp][:-1]:
                raise RulesError(file, f"{key}[{i}]", f"{item!r} is not a <comparison>.<level> of this spec")
            out.append((comp, level))
        return tuple(out)

    over_budget = str(doc.get("over_budget", "window"))
    if over_budget not in ("window", "error"):
        raise RulesError(file, "over_budget", "use 'window' (lower an over-budget rule's max_block) or 'error'")
    threshold = float(doc.get("threshold", 0.9))
    if not 0.0 < threshold < 1.0:
        raise RulesError(file, "threshold", "a match probability threshold lies in (0, 1)")
    return LinkageSpec(
        name=require(doc, "name", str, file),
        id_column=str(doc.get("id_column", "record_key")),
        derived=tuple((str(k), str(v)) for k, v in derived_raw.items()),
        blocking=tuple(blocking),
        comparisons=tuple(comparisons),
        guards=tuple(guards),
        threshold=threshold,
        link_requires=levels_of("link_requires"),
        attach_unique=levels_of("attach_unique"),
        corroborated=int(doc.get("corroborated", 0) or 0),
        attach_conflicts=string_list(doc.get("attach_conflicts") or [], file, "attach_conflicts"),
        u_exclude=levels_of("u_exclude"),
        prior=float(doc.get("prior", 0.05)),
        u_sample_pairs=int(doc.get("u_sample_pairs", 200_000)),
        u_within=doc.get("u_within"),
        em_iterations=int(doc.get("em_iterations", 40)),
        seed=int(doc.get("seed", 42)),
        max_pairs_per_rule=int(doc.get("max_pairs_per_rule", 20_000_000)),
        max_pairs=int(doc.get("max_pairs", 50_000_000)),
        over_budget=over_budget,
        source=file,
        system_links=_parse_system_links(doc.get("system_links"), file),
    )


def _parse_system_links(raw: Any, file: str) -> SystemLinks:
    if raw is None:
        return SystemLinks()
    if not isinstance(raw, dict):
        raise RulesError(file, "system_links", "expected a mapping with links, weight and vetoes")
    links = []
    for i, item in enumerate(raw.get("links", []) or []):
        key = f"system_links.links[{i}]"
        kind = require(item, "kind", str, file)
        if kind not in SYSTEM_LINK_KINDS:
            raise RulesError(file, f"{key}.kind", f"unknown link kind {kind!r}; use one of {SYSTEM_LINK_KINDS}")
        column = require(item, "column", str, file)
        links.append(SystemLink(str(item.get("name", column)), kind, column,
                                str(item.get("finding", "system_link_conflict")), int(item.get("max_group", 50))))
    vetoes = []
    for i, v in enumerate(raw.get("vetoes", []) or []):
        sql = require(v, "sql", str, file)
        vetoes.append(Guard(str(v.get("name", f"veto_{i}")), "sql", None, sql))
    weight = float(raw.get("weight", 10.0))
    if weight <= 0:
        raise RulesError(file, "system_links.weight", "a system link's weight is a positive match weight")
    return SystemLinks(tuple(links), weight, tuple(vetoes))


@dataclass(frozen=True)
class LinkageSpecs:
    accounts: LinkageSpec
    persons: LinkageSpec


def linkage_specs(rules: Rules) -> LinkageSpecs:
    return LinkageSpecs(
        accounts=parse_spec(rules.doc("linkage_accounts.yaml"), rules.path("linkage_accounts.yaml"), rules),
        persons=parse_spec(rules.doc("linkage_persons.yaml"), rules.path("linkage_persons.yaml"), rules),
    )
