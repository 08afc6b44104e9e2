"""The linkage engine: block → compare → score → cluster, driven by one ``LinkageSpec``.

Knows nothing about companies or persons. Every stage's table is kept on the result so that
``--keep-intermediate`` and ``abm explain`` can show the evidence behind each merge.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import polars as pl

from abm import memory_db
from abm.linkage.block import RID, block, columns_in
from abm.linkage.cluster import cluster
from abm.linkage.columns import Columns
from abm.linkage.compare import any_level, compare_pairs
from abm.linkage.exact_duplicates import representatives
from abm.linkage.guards import cannot_links as _cannot_links
from abm.linkage.pair_join import join_pairs
from abm.linkage.reuse import SpecReuse
from abm.linkage.score import Model, estimate_u, predict, train
from abm.linkage.spec import LinkageSpec
from abm.linkage.stream import in_memory_limit, proposed_components, score_large, streamable
from abm.linkage.system_links import system_pairs, vetoes

log = logging.getLogger(__name__)

#: system links left apart (LinkResult.conflicts)
CONFLICT_SCHEMA: dict[str, pl.DataType] = {
    "id_from": pl.Utf8(), "id_to": pl.Utf8(), "system_link": pl.Utf8(), "finding": pl.Utf8(), "reason": pl.Utf8()}


@dataclass(frozen=True)
class LinkResult:
    units: pl.DataFrame         # input units + __rid + cluster (the id of the cluster's smallest unit) + link_score
    pairs: pl.DataFrame         # every candidate pair: rule, gammas, weight, probability, cannot_link, linked
    refused: pl.DataFrame       # merges refused by a guard, with the guard's name
    model: Model
    counts: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    candidates: int | None = None    # candidate pairs scored (``pairs`` keeps them all up to KEEP_ALL_PAIRS)
    planned: dict[str, int] = field(default_factory=dict)  # pairs per rule counted before blocking
    # system links left apart: id_from (states the link), id_to, system_link, finding, reason (a veto, a guard, net evidence)
    conflicts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CONFLICT_SCHEMA))

    def summary(self) -> dict[str, object]:
        return {
            "units": self.units.height,
            "candidate_pairs_per_rule": self.counts,
            "planned_pairs_per_rule": self.planned,
            "candidate_pairs": self.pairs.height if self.candidates is None else self.candidates,
            "links": int(self.pairs.get_column("linked").sum()) if self.pairs.height else 0,
            "clusters": int(self.units.get_column("cluster").n_unique()) if self.units.height else 0,
            "refused_merges": self.refused.height,
            "lambda_candidates": round(self.model.lam, 6),
            "prior_match_probability": self.model.prior,
            "em_iterations": self.model.iterations,
            "em_converged": self.model.converged,
            "weights": self.model.table(),
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }


REP = "__rep"
N_RECORDS = "__records"  # identical records collapsed into a unit
#: above this many candidate pairs, ``pairs`` keeps only the evidence that matters (see below)
KEEP_ALL_PAIRS = 5_000_000
KEEP_MIN_PROBABILITY = 0.01
SYSTEM_RULE = "system_link"


def link(units: pl.DataFrame, spec: LinkageSpec, must_link: pl.DataFrame | None = None,
         cannot_link: pl.DataFrame | None = None, reuse: SpecReuse | None = None) -> LinkResult:
    """Resolve ``units`` (one row per unit, ``spec.id_column`` unique) into clusters.

    Units identical in every column the spec reads are exact duplicates: they are collapsed to
    one representative before blocking (10,000 copies of one card cost one unit, not 50 M pairs)
    and share its cluster. ``must_link``: optional (id_l, id_r) pairs linked whatever their score
    (e.g. user overrides); guards still apply to them. ``cannot_link``: optional (id_l, id_r,
    override) pairs kept in different clusters whatever links chain them (cut at the weakest links).
    ``reuse``: comparison vectors of the previous run's unchanged pairs (``abm.linkage.reuse``).
    """
    idc = spec.id_column
    signature = [c for c in spec.columns() if c != idc and c in units.columns]
    units = units.with_columns(representatives(units, idc, signature).alias(REP))
    if cannot_link is not None and cannot_link.height:
        # two identical records a person says differ must stay two units
        pinned = pl.concat([cannot_link.get_column("id_l"), cannot_link.get_column("id_r")]).unique()
        units = units.with_columns(
            pl.when(pl.col(idc).is_in(pinned.implode())).then(pl.col(idc)).otherwise(pl.col(REP)).alias(REP))
    # only what the spec reads, selected before the filter (which then copies ~18 columns, not ~56):
    # every copy and sort below is narrower too
    reps = units.select(*_read_by(spec, units), pl.len().over(REP).alias(N_RECORDS)).filter(
        units.get_column(idc) == units.get_column(REP))
    if must_link is not None and must_link.height:
        rep_of = units.select(idc, REP)
        must_link = (must_link.join(rep_of.rename({idc: "id_l"}), on="id_l")
                     .drop("id_l").rename({REP: "id_l"})
                     .join(rep_of.rename({idc: "id_r"}), on="id_r").drop("id_r").rename({REP: "id_r"})
                     .filter(pl.col("id_l") != pl.col("id_r")))  # two copies of one unit: nothing to link
    result = _link_distinct(reps, spec, must_link, cannot_link, reuse)
    dup = pl.len().over(REP) > 1
    expanded = units.join(
        result.units.select(pl.col(idc).alias(REP), RID, "cluster", "link_score"), on=REP, how="left",
        maintain_order="left",
    ).with_columns(
        link_score=pl.when(dup).then(pl.lit(1.0)).otherwise(pl.col("link_score")),
    )
    if not expanded.get_column(idc).is_sorted():   # units mostly come sorted by id: no sort of the wide table
        expanded = expanded.sort(idc)
    return LinkResult(expanded, result.pairs, result.refused, result.model,
                      {**result.counts, "exact_duplicates_collapsed": units.height - reps.height},
                      result.timings, result.candidates, result.planned, result.conflicts)


def _read_by(spec: LinkageSpec, units: pl.DataFrame) -> list[str]:
    """The columns of ``units`` the spec reads: its columns, those its SQL guards and vetoes name, u's group."""
    sql = [g.sql or "" for g in (*spec.guards, *spec.system_links.vetoes)]
    named = set(spec.columns()) | set(columns_in(units, *sql) if any(sql) else ()) | {spec.u_within}
    return [c for c in units.columns if c in named]


def _link_distinct(units: pl.DataFrame, spec: LinkageSpec, must_link: pl.DataFrame | None,
                   cannot_link: pl.DataFrame | None = None, reuse: SpecReuse | None = None) -> LinkResult:
    timings: dict[str, float] = {}
    con = memory_db.connect()  # a connection of the process's one in-memory database (abm.memory_db)
    t = time.perf_counter()
    blocked = block(units, spec, con)
    timings["block"] = time.perf_counter() - t
    prepared = blocked.prepared
    cols = blocked.columns  # per column, codes and masks: blocking's, shared by comparisons and guards
    records_per_unit = (prepared.get_column(N_RECORDS).to_numpy() if N_RECORDS in prepared.columns
                        else np.ones(prepared.height, dtype=np.int64))
    system = system_pairs(prepared, spec)
    candidates = blocked.pairs
    blocked = replace(blocked, pairs=candidates.clear())  # one reference: freed once scored
    if system.height:  # linked pairs blocking did not find are compared too (rule "system_link")
        extra = system.join(candidates, on=[f"{RID}_l", f"{RID}_r"], how="anti").select(
            f"{RID}_l", f"{RID}_r", pl.lit(SYSTEM_RULE).alias("rule"))
        candidates = pl.concat([candidates.with_columns(pl.col("rule").cast(pl.Utf8)), extra]).sort(
            f"{RID}_l", f"{RID}_r")

    must = _pair_rids(prepared, must_link, spec) if must_link is not None and must_link.height else None
    n_candidates = candidates.height
    keep_all = in_memory_limit(KEEP_ALL_PAIRS)
    if n_candidates > keep_all and streamable(spec):  # in chunks, only what matters kept
        if reuse is not None:  # no table of every pair's vector tonight: nothing reused, nothing stored
            reuse.streamed(n_candidates, keep_all, units.height)
            reuse = None
        streamed = score_large(
            prepared, candidates, spec, estimate_u(prepared, spec, spec.u_within, cols),
            _population_pairs(prepared, spec.u_within), SYSTEM_RULE, link_if=_proposed(spec) | _attaching(spec),
            keep_if=_close(spec), must=must, columns=cols, stated=system,
            key_ids=blocked.key_ids)
        del candidates
        vectors, model = streamed.vectors, streamed.model
        timings |= streamed.timings
        t = time.perf_counter()
        scored = predict(vectors, model)
        timings["score"] = timings.get("score", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        cannot = _guard_pairs(con, prepared, scored, spec, cols, reuse)   # of the pairs kept
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"abm-guards-{spec.name}") as pool:
            # the sql guards read the pairs' row numbers, never their scores: they are evaluated (mostly
            # inside DuckDB, which releases the GIL) beside the comparisons and EM, on a connection of their own
            guarded = pool.submit(_guard_pairs_apart, prepared, candidates, spec, cols, reuse)
            t = time.perf_counter()
            vectors = compare_pairs(prepared, candidates, spec, reuse=reuse, cols=cols)
            timings["compare"] = time.perf_counter() - t
            t = time.perf_counter()
            u = estimate_u(prepared, spec, spec.u_within, cols, reuse)
            blocked_vectors = vectors.filter(pl.col("rule") != SYSTEM_RULE)  # EM learns from blocking alone
            model = train(blocked_vectors, spec, u, rule_masks(blocked_vectors, spec, blocked.key_ids))
            model = model.with_prior(_population_pairs(prepared, spec.u_within), blocked_vectors.height)
            scored = predict(vectors, model)
            timings["score"] = time.perf_counter() - t
            t = time.perf_counter()
            cannot = guarded.result()   # the pairs are those scored, in the same order
    if cannot_link is not None and cannot_link.height:
        overridden = _pair_rids(prepared, cannot_link, spec).select(
            f"{RID}_l", f"{RID}_r", pl.col("override").alias("cannot_link"))
        cannot = pl.concat([overridden, cannot]).unique([f"{RID}_l", f"{RID}_r"], keep="first", maintain_order=True)
    # no cannot-link pair (a spec without sql guards): a null column, not a join that copies every pair
    scored = (join_pairs(scored, cannot) if cannot.height
              else scored.with_columns(pl.lit(None, dtype=pl.Utf8).alias("cannot_link")))
    scored = scored.with_columns(_identifying(spec).alias("identifying"))
    scored = _with_pairs(_with_pairs(scored, system.drop("finding", "from_rid")), vetoes(con, prepared, system, spec))
    system_ok = pl.col("system_link").is_not_null() & pl.col("system_veto").is_null() & pl.col("cannot_link").is_null()
    # a pair only a system link proposed (another account, say) links as that link or not at all
    acceptable = (((pl.col("match_probability") >= spec.threshold) | _corroborated(spec)) & pl.col("cannot_link").is_null()
                  & pl.col("identifying") & (pl.col("rule") != SYSTEM_RULE)) | system_ok
    # a system link is evidence of its own: its weight adds to what the comparisons say (log2 odds add
    # up), in the merge order and in the net evidence between two clusters, which may still refuse it
    link_weight = pl.when(system_ok).then(pl.col("match_weight") + spec.system_links.weight) \
        .otherwise(pl.col("match_weight")).alias("match_weight")
    accepted = scored.filter(acceptable)
    links = accepted.select(f"{RID}_l", f"{RID}_r", link_weight)
    if must is not None:
        links = pl.concat([links, must.select(f"{RID}_l", f"{RID}_r", pl.lit(float("inf")).alias("match_weight"))])
    values = {g.name: prepared.get_column(g.column) for g in spec.guards if g.kind == "distinct_values" and g.column}
    clusters = cluster(prepared.height, links, values, cannot, scored.select(f"{RID}_l", f"{RID}_r", link_weight))
    timings["cluster"] = time.perf_counter() - t

    # a unit whose system link was refused or vetoed is not attached to that cluster after all
    stated = scored.filter(pl.col("system_link").is_not_null())
    barred = pl.concat([clusters.refused.select(f"{RID}_l", f"{RID}_r").join(
                            stated.select(f"{RID}_l", f"{RID}_r"), on=[f"{RID}_l", f"{RID}_r"]),
                        stated.filter(pl.col("system_veto").is_not_null() | pl.col("cannot_link").is_not_null())
                        .select(f"{RID}_l", f"{RID}_r"),
                        # a guard or a person (overrides) said these differ: never attached side by side
                        # either, nor into a cluster that holds the other one
                        cannot.select(f"{RID}_l", f"{RID}_r")])
    labels, attached = _attach_unique(clusters.labels, scored, spec, barred, records_per_unit, prepared)
    scored = (join_pairs(scored, attached) if attached.height
              else scored.with_columns(pl.lit(None, dtype=pl.Boolean).alias("attached"))).with_columns(
        attached=pl.col("attached").fill_null(False),
    ).with_columns(
        linked=(acceptable | pl.col("attached"))
        & pl.Series(labels[scored.get_column(f"{RID}_l").to_numpy()]
                    == labels[scored.get_column(f"{RID}_r").to_numpy()]),
    )
    best = _strongest_link(prepared.height, scored)
    if n_candidates > keep_all:  # evidence kept: what linked, was refused, attached, or came close
        # a cannot-link pair only where it can matter: close, or inside a component of the proposed
        # links and the pairs that may attach a lone unit (as the streamed path keeps it: abm.linkage.stream)
        proposed = scored.select(_proposed(spec) | _attaching(spec) | pl.col("system_link").is_not_null()
                                 ).to_series().to_numpy()
        lr = scored.get_column(f"{RID}_l").to_numpy(), scored.get_column(f"{RID}_r").to_numpy()
        comp = proposed_components(prepared.height, lr[0][proposed], lr[1][proposed], must)
        scored = scored.filter(pl.col("linked") | pl.col("attached") | pl.col("system_link").is_not_null()
                               | (pl.col("match_probability") >= KEEP_MIN_PROBABILITY)
                               | (pl.col("cannot_link").is_not_null()
                                  & (_close(spec) | pl.Series(comp[lr[0]] == comp[lr[1]]))))
        del proposed, lr, comp
        log.info("linkage %s: %d candidate pairs; %d kept as evidence (p >= %g, linked, attached or cannot-link)",
                 spec.name, n_candidates, scored.height, KEEP_MIN_PROBABILITY)
    ids = prepared.get_column(spec.id_column)
    scored = scored.with_columns(  # ids beside row numbers: the pairs table is evidence people read
        ids.gather(scored.get_column(f"{RID}_l")).alias("id_l"), ids.gather(scored.get_column(f"{RID}_r")).alias("id_r"))
    conflicts = _conflicts(scored, clusters.refused, labels, system)
    out_units = prepared.with_columns(
        pl.Series("cluster", ids.gather(labels)),
        pl.Series("link_score", best, dtype=pl.Float64),
    )
    log.info("linkage %s: %d units -> %d clusters", spec.name, prepared.height,
             out_units.get_column("cluster").n_unique() if prepared.height else 0)
    counts = {**blocked.counts, "system_links": system.height, "system_link_conflicts": conflicts.height}
    return LinkResult(out_units, scored.with_columns(pl.col("rule").cast(pl.Utf8)), clusters.refused, model,
                      counts, timings, n_candidates, blocked.planned, conflicts)


def _guard_pairs(con: duckdb.DuckDBPyConnection, prepared: pl.DataFrame, pairs: pl.DataFrame,
                 spec: LinkageSpec, cols: Columns, reuse: SpecReuse | None) -> pl.DataFrame:
    """The pairs a ``sql`` guard forbids (``abm.linkage.guards``), what the guard store knows of
    unchanged pairs taken from it."""
    if reuse is None or reuse.guards is None:
        return _cannot_links(con, prepared, pairs, spec, cols)
    return reuse.guards.cannot_links(prepared, pairs, spec, lambda todo: _cannot_links(con, prepared, todo, spec, cols))


def _guard_pairs_apart(prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec, cols: Columns,
                       reuse: SpecReuse | None) -> pl.DataFrame:
    """``_guard_pairs`` on a connection of its own (a thread's), closed after."""
    with memory_db.connect() as con:
        return _guard_pairs(con, prepared, pairs, spec, cols, reuse)


def _with_pairs(scored: pl.DataFrame, other: pl.DataFrame) -> pl.DataFrame:
    """``scored`` left-joined with ``other`` on the pair; with no row to join, its columns as nulls
    (no copy of every scored pair to add nothing)."""
    if other.height:
        return join_pairs(scored, other)
    return scored.with_columns(pl.lit(None, dtype=other.schema[c]).alias(c)
                               for c in other.columns if c not in (f"{RID}_l", f"{RID}_r"))


def _conflicts(scored: pl.DataFrame, refused: pl.DataFrame, labels: np.ndarray, system: pl.DataFrame) -> pl.DataFrame:
    """System links whose two units ended in different clusters, with the reason: the veto, the guard
    that forbids the pair, the guard or net evidence that refused the merge."""
    if system.height == 0:
        return pl.DataFrame(schema=CONFLICT_SCHEMA)
    linked = scored.filter(pl.col("system_link").is_not_null())
    same = labels[linked.get_column(f"{RID}_l").to_numpy()] == labels[linked.get_column(f"{RID}_r").to_numpy()]
    apart = linked.filter(pl.Series(~same))
    from_left = pl.col("from_rid") == pl.col(f"{RID}_l")
    return (apart.join(system.select(f"{RID}_l", f"{RID}_r", "finding", "from_rid"), on=[f"{RID}_l", f"{RID}_r"],
                       how="left")
            .join(refused.select(f"{RID}_l", f"{RID}_r", "refused_by"), on=[f"{RID}_l", f"{RID}_r"], how="left")
            .select(pl.when(from_left).then("id_l").otherwise("id_r").alias("id_from"),
                    pl.when(from_left).then("id_r").otherwise("id_l").alias("id_to"), "system_link", "finding",
                    pl.coalesce("system_veto", "cannot_link", "refused_by", pl.lit("evidence_against")).alias("reason"))
            .sort("id_from", "id_to"))


def _attach_unique(labels: np.ndarray, scored: pl.DataFrame, spec: LinkageSpec, refused: pl.DataFrame | None = None,
                   records: np.ndarray | None = None, prepared: pl.DataFrame | None = None,
                   ) -> tuple[np.ndarray, pl.DataFrame]:
    """A unit left alone whose agreeing candidates (an ``attach_unique`` level, and no comparison
    saying 'different') all sit in one cluster joins that cluster: a web form naming its company,
    and nothing else, belongs to the one account of that name — unless two accounts carry the name,
    when it stays alone (low confidence). The strongest level that holds decides (an exact name in
    one account outweighs a reading shared with another). Sizes count records (``records``: records
    per unit; identical records collapse into one unit), and an ``attach_conflicts`` column whose
    value differs from any member of the target cluster refuses it. Returns labels and the pairs."""
    schema = {f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32, "attached": pl.Boolean}
    if not spec.attach_unique or scored.height == 0:
        return labels, pl.DataFrame(schema=schema)
    names = {c.name: c.level_names() for c in spec.comparisons}
    tier = pl.min_horizontal(
        pl.when(pl.col(f"gamma_{comp}") == names[comp].index(level)).then(pl.lit(i)) for i, (comp, level)
        in enumerate(spec.attach_unique))
    no_against = pl.all_horizontal(pl.col(f"gamma_{c.name}") != len(c.levels) for c in spec.comparisons)
    qualifying = scored.filter(tier.is_not_null() & no_against & pl.col("cannot_link").is_null()
                                & (pl.col("rule") != SYSTEM_RULE)) \
        .select(f"{RID}_l", f"{RID}_r", tier.alias("tier"), "match_weight")   # the weight: no join back below
    counts = records if records is not None else np.ones(len(labels), dtype=np.int64)
    sizes = np.bincount(labels, weights=counts, minlength=len(labels))
    alone_label = np.bincount(labels, minlength=len(labels)) == 1
    both = pl.concat([
        qualifying.select(pl.col(f"{RID}_l").alias("unit"), pl.col(f"{RID}_r").alias("other"), f"{RID}_l", f"{RID}_r",
                          "tier", "match_weight"),
        qualifying.select(pl.col(f"{RID}_r").alias("unit"), pl.col(f"{RID}_l").alias("other"), f"{RID}_l", f"{RID}_r",
                          "tier", "match_weight"),
    ])
    unit = both.get_column("unit").to_numpy()
    other = both.get_column("other").to_numpy()
    both = both.with_columns(
        pl.Series("alone", alone_label[labels[unit]]), pl.Series("target", labels[other]),
        pl.Series("target_alone", sizes[labels[other]] <= 1),
    ).filter(pl.col("alone") & ~pl.col("target_alone"))
    both = both.filter(pl.col("tier") == pl.col("tier").min().over("unit"))
    if prepared is not None and spec.attach_conflicts and both.height:
        both = both.join(_conflicting(labels, prepared, both, spec.attach_conflicts), on=["unit", "target"],
                         how="anti")
    if refused is not None and refused.height:  # a link refused into that cluster is not undone here
        ra, rb = refused.get_column(f"{RID}_l").to_numpy(), refused.get_column(f"{RID}_r").to_numpy()
        barred = pl.DataFrame({"unit": np.r_[ra, rb], "target": np.r_[labels[rb], labels[ra]]}).cast(
            {"unit": pl.UInt32, "target": both.schema["target"]})
        both = both.join(barred, on=["unit", "target"], how="anti")
    unique = both.group_by("unit").agg(pl.col("target").n_unique().alias("k"), pl.col("target").first()) \
        .filter(pl.col("k") == 1)
    out = labels.copy()
    out[unique.get_column("unit").to_numpy()] = unique.get_column("target").to_numpy()
    if refused is not None and refused.height:  # two lone units attached side by side: undo the barred one
        ra, rb = refused.get_column(f"{RID}_l").to_numpy(), refused.get_column(f"{RID}_r").to_numpy()
        moved = out != labels
        clash = (out[ra] == out[rb]) & (labels[ra] != labels[rb])
        # the unit attached on the weaker agreement goes back (a unit that did not move stays)
        strength = np.full(len(labels), -np.inf)
        # each row of ``both`` is one scored pair (pairs are unique in ``scored``) and carries its weight
        best = both.group_by("unit").agg(pl.col("match_weight").max())
        strength[best.get_column("unit").to_numpy()] = best.get_column("match_weight").to_numpy()
        strength[~moved] = np.inf
        weaker_l = strength[ra] <= strength[rb]
        undo = np.unique(np.r_[ra[clash & weaker_l & moved[ra]], rb[clash & ~weaker_l & moved[rb]]])
        out[undo] = labels[undo]
        unique = unique.filter(~pl.col("unit").is_in(undo.tolist()))
    attached = both.join(unique.select("unit"), on="unit").select(f"{RID}_l", f"{RID}_r", pl.lit(True).alias("attached"))
    return out, attached.unique().cast(schema)  # type: ignore[arg-type]


def _conflicting(labels: np.ndarray, prepared: pl.DataFrame, candidates: pl.DataFrame,
                 columns: tuple[str, ...]) -> pl.DataFrame:
    """(unit, target) pairs where the unit's value of one of ``columns`` differs from a member's."""
    members = prepared.select(pl.Series("target", labels), *columns)
    parts = []
    for col in columns:
        mine = prepared.select(pl.col(RID).cast(pl.Int64).alias("unit"), pl.col(col).alias("__mine")).drop_nulls()
        theirs = members.select("target", pl.col(col).alias("__theirs")).drop_nulls().unique()
        parts.append(candidates.select(pl.col("unit").cast(pl.Int64), pl.col("target").cast(pl.Int64)).unique()
                     .join(mine, on="unit").join(theirs.with_columns(pl.col("target").cast(pl.Int64)), on="target")
                     .filter(pl.col("__mine") != pl.col("__theirs")).select("unit", "target"))
    out = pl.concat(parts).unique()
    return out.with_columns(pl.col("unit").cast(candidates.schema["unit"]),
                            pl.col("target").cast(candidates.schema["target"]))


def _population_pairs(prepared: pl.DataFrame, within: str | None) -> float:
    """How many record pairs the random u-sample was drawn from."""
    if within is None:
        n = float(prepared.height)
        return n * (n - 1) / 2
    sizes = prepared.drop_nulls(within).group_by(within).len().get_column("len").cast(pl.Float64)
    return float((sizes * (sizes - 1) / 2).sum())


def _attaching(spec: LinkageSpec) -> pl.Expr:
    """A pair that may attach a lone unit: an ``attach_unique`` level holds, no comparison says 'different'."""
    if not spec.attach_unique:
        return pl.lit(False)
    no_against = pl.all_horizontal(pl.col(f"gamma_{c.name}") != len(c.levels) for c in spec.comparisons)
    return any_level(spec, spec.attach_unique) & no_against


def _proposed(spec: LinkageSpec) -> pl.Expr:
    """The links the model proposes before guards: above the threshold or corroborated, and identifying."""
    return ((pl.col("match_probability") >= spec.threshold) | _corroborated(spec)) & _identifying(spec)


def _close(spec: LinkageSpec) -> pl.Expr:
    """A pair kept as evidence above the in-memory limit whatever else: it came close, or may attach a lone unit."""
    return (pl.col("match_probability") >= KEEP_MIN_PROBABILITY) | _attaching(spec)


def _identifying(spec: LinkageSpec) -> pl.Expr:
    """True when one of ``spec.link_requires`` holds (always true when the spec names none)."""
    return any_level(spec, spec.link_requires) if spec.link_requires else pl.lit(True)


def _corroborated(spec: LinkageSpec) -> pl.Expr:
    """True where ``spec.corroborated`` different comparisons hold an identifying level and none is 'else'."""
    if spec.corroborated < 1 or not spec.link_requires:
        return pl.lit(False)
    by_comp: dict[str, list[tuple[str, str]]] = {}
    for comp, level in spec.link_requires:
        by_comp.setdefault(comp, []).append((comp, level))
    holding = pl.sum_horizontal(any_level(spec, tuple(levels)).cast(pl.Int32) for levels in by_comp.values())
    nothing_against = pl.all_horizontal(pl.col(f"gamma_{c.name}") != len(c.levels) for c in spec.comparisons)
    return (holding >= spec.corroborated) & nothing_against


def rule_masks(pairs: pl.DataFrame, spec: LinkageSpec, key_ids: list[np.ndarray]) -> list[np.ndarray]:
    """Per blocking rule, which candidate pairs satisfy it (not only those it found first), from each
    row's key id per rule as blocking computed it (``Blocked.key_ids``; -1: a key column is null):
    two integer gathers per rule (row numbers widened to intp once, not converted by every gather;
    the left ids gathered once for both tests)."""
    left = pairs.get_column(f"{RID}_l").to_numpy().astype(np.intp)
    right = pairs.get_column(f"{RID}_r").to_numpy().astype(np.intp)
    assert len(key_ids) == len(spec.blocking)
    masks = []
    for ids in key_ids:
        on_left = ids.take(left)
        mask = on_left == ids.take(right)
        mask &= on_left >= 0
        masks.append(mask)
    return masks


def _pair_rids(prepared: pl.DataFrame, pairs: pl.DataFrame, spec: LinkageSpec) -> pl.DataFrame:
    """(id_l, id_r, …) pairs as (__rid_l < __rid_r, …): row numbers in ``prepared``."""
    index = prepared.select(pl.col(spec.id_column).alias("id"), pl.col(RID))
    left = pairs.join(index.rename({"id": "id_l", RID: "__a"}), on="id_l")
    both = left.join(index.rename({"id": "id_r", RID: "__b"}), on="id_r").filter(pl.col("__a") != pl.col("__b"))
    return both.with_columns(
        pl.min_horizontal("__a", "__b").cast(pl.UInt32).alias(f"{RID}_l"),
        pl.max_horizontal("__a", "__b").cast(pl.UInt32).alias(f"{RID}_r"),
    ).drop("__a", "__b", "id_l", "id_r")


def _strongest_link(n: int, scored: pl.DataFrame) -> np.ndarray:
    """Per unit, the probability of its strongest accepted link (NaN for a unit linked to nothing)."""
    linked = scored.filter(pl.col("linked")).select(f"{RID}_l", f"{RID}_r", "match_probability")
    # an unbuffered running max per unit (no group-by of 2 x the links): fmax skips NaN (a null
    # probability reads as NaN) unless every value is, as polars' max does; an unlinked unit stays NaN
    probability = linked.get_column("match_probability").to_numpy()
    best = np.full(n, np.nan)
    for side in (f"{RID}_l", f"{RID}_r"):
        np.fmax.at(best, linked.get_column(side).to_numpy(), probability)
    return best
