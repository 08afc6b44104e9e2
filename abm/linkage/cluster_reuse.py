"""Incremental runs: contradicted components whose merge would go as it went last night keep last night's clusters.

Clustering (``abm.linkage.cluster``) takes the connected components of the accepted links; a
component that holds contradicting evidence is rebuilt by a greedy merge in descending link weight.
Components are independent of each other, and the merge of one component C reads only

- its members, and their value of each ``distinct_values`` guard;
- its links in the order the merge visits them (weight descending, then the two row numbers);
- its cannot-link pairs with their reasons;
- and, at each link that passes the guards, the *sign* of the summed match weight of every scored
  pair across the two clusters it would join (positive: merge; else refused, ``net_evidence_against``).

EM re-learns m and u each night, so every pair's weight moves a little; but a cross sum is a sum of
scored pairs' weights inside C, so it moves by at most D(C) = Σ |w_tonight − w_last| over the
scored pairs inside C. The store keeps, per contradicted component, the smallest |cross sum| the
merge met (its *margin*). Tonight a contradicted component keeps last night's clusters (and refused
links) when its members are the same records, every guard value, cannot-link pair and scored pair
inside it is the same, its links are the same in the same merge order, and D(C) plus a rounding
allowance is below its margin: every decision of the merge then comes out as it came last night,
so the clusters are what ``cluster()`` would build. Every other component — new, changed, or one
whose evidence moved too much — goes through ``cluster()`` as in a full run; the margin of a reused
component is carried as margin − D(C), a lower bound on tonight's.

The checks are joins in polars over the components; only the margins of rebuilt components are
measured by a replay of their merges (Python, over their links). The store is
``.<OUT_DIR>.cache/clusters-<spec>.parquet``, written and committed with the comparison store
(``abm.linkage.reuse``); any other abm version or store format, or ``--full``/``--no-cache``, and
every component is rebuilt.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from abm import __version__
from abm.components import connected_components
from abm.linkage.cluster import NET_NEGATIVE, Clusters, _contradicted, cluster

log = logging.getLogger(__name__)

STORE_FORMAT = "1"
L, R = "__rid_l", "__rid_r"
T = "__t"                          # which table a store row belongs to (one Parquet file holds them all)
#: a rounding allowance per unit of summed |weight|: float sums in another order differ by far less
ROUNDING = 1e-9

_S = pl.String()
_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "m": {"comp": pl.Int64(), "id": _S, "part": _S},             # members (+ one column per guard value)
    "l": {"comp": pl.Int64(), "rank": pl.Int64(), "id_l": _S, "id_r": _S, "inf": pl.Boolean()},  # links in merge order
    "s": {"comp": pl.Int64(), "id_l": _S, "id_r": _S, "w": pl.Float64()},   # scored pairs inside
    "c": {"comp": pl.Int64(), "id_l": _S, "id_r": _S, "why": _S},           # cannot-link pairs inside
    "r": {"comp": pl.Int64(), "rank": pl.Int64(), "why": _S},               # refused links (by rank)
    "g": {"comp": pl.Int64(), "margin": pl.Float64()},                      # the merge's margin
}


def _v(name: str) -> str:
    return f"v:{name}"


@dataclass
class ClusterReuse:
    """The cluster store of one linkage spec for one run: reads last night's, records tonight's."""
    name: str
    path: Path | None            # the published store file (None: store off)
    forced: str | None           # why nothing is reused tonight (``--full``, ``--no-cache``)
    components_reused: int = 0
    components_rebuilt: int = 0
    units_reused: int = 0
    tmp: Path | None = None
    reason: str = ""
    _tonight: dict[str, pl.DataFrame] | None = None

    def cluster(self, ids: pl.Series, links: pl.DataFrame, values: dict[str, pl.Series], cannot: pl.DataFrame,
                scored: pl.DataFrame) -> Clusters:
        """``cluster(len(ids), links, values, cannot, scored)`` — with last night's clusters for the
        contradicted components whose merge provably goes as it went (see the module doc).
        ``ids``: each row's unit id (row i: ``__rid`` i)."""
        n = ids.len()
        ids = ids.cast(pl.String)
        left = links.get_column(L).to_numpy().astype(np.int64)
        right = links.get_column(R).to_numpy().astype(np.int64)
        comp = connected_components(n, left, right).astype(np.int64)
        bad = np.zeros(n, dtype=bool)
        bad_set = _contradicted(comp, values, cannot, scored)
        if bad_set:
            bad[np.isin(comp, np.fromiter(bad_set, dtype=np.int64))] = True
        inside = _Inside(comp, bad, ids, links, scored, cannot, values)
        previous = self._previous(sorted(values))
        keep = _reusable(inside, previous) if previous is not None else pl.DataFrame(
            schema={"comp": pl.Int64(), "old": pl.Int64(), "d": pl.Float64()})
        reused = np.zeros(n, dtype=bool)
        if keep.height:
            reused = np.isin(comp, keep.get_column("comp").to_numpy()) & bad
        # every other component as a full run clusters it: the reused ones' links left out (their
        # units are then alone, hence not contradicted, and keep their own row as label)
        rest = cluster(n, links.filter(pl.Series(~reused[left])), values, cannot, scored)
        labels, refused = rest.labels.copy(), rest.refused
        if keep.height:
            labels, refused = _apply(labels, refused, inside, previous, keep)  # type: ignore[arg-type]
        self.components_reused = keep.height
        self.units_reused = int(reused.sum())
        self.components_rebuilt = len(bad_set) - keep.height
        if self.path is not None:
            self._tonight = _tonight(inside, labels, refused, previous, keep, sorted(values))
        log.info("linkage %s: clusters of %d contradicted components reused (%d units), %d rebuilt",
                 self.name, self.components_reused, self.units_reused, self.components_rebuilt)
        return Clusters(labels=labels, refused=refused)

    def _previous(self, guards: list[str]) -> dict[str, pl.DataFrame] | None:
        if self.forced:
            self.reason = self.forced
            return None
        if self.path is None or not self.path.exists():
            self.reason = "no stored clusters from a previous run"
            return None
        try:
            meta = pl.read_parquet_metadata(self.path)
            if meta.get("abm_store_format") != STORE_FORMAT or meta.get("abm_version") != __version__:
                self.reason = "stored clusters from another abm version or store format"
                return None
            table = pl.read_parquet(self.path)
            expected = {T: _S} | {c: t for s in _SCHEMAS.values() for c, t in s.items()} | {_v(g): _S for g in guards}
            if dict(table.schema) != expected:
                self.reason = "stored clusters have other columns (the guards changed?)"
                return None
        except Exception as exc:  # noqa: BLE001 - a damaged store only costs re-clustering
            self.reason = f"stored clusters unreadable ({type(exc).__name__})"
            return None
        out = {}
        for t, schema in _SCHEMAS.items():
            cols = [*schema, *(_v(g) for g in guards)] if t == "m" else list(schema)
            out[t] = table.filter(pl.col(T) == t).select(cols)
        if out["m"].get_column("id").is_duplicated().any():
            self.reason = "stored clusters are inconsistent (a unit in two components)"
            return None
        self.reason = "previous run's clusters reused where their evidence did not change"
        return out

    def flush(self) -> None:
        """Tonight's store, to a temporary file (``commit`` renames it after publishing)."""
        tonight, self._tonight = self._tonight, None
        if self.path is None or tonight is None:
            return
        table = pl.concat([df.with_columns(pl.lit(t).alias(T)) for t, df in tonight.items()], how="diagonal_relaxed")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
            table.write_parquet(tmp, metadata={"abm_store_format": STORE_FORMAT, "abm_version": __version__})
            self.tmp = tmp
        except OSError as exc:
            log.warning("linkage %s: clusters not stored (%s): the next run rebuilds them", self.name,
                        exc.strerror or type(exc).__name__)

    def summary(self) -> dict[str, int]:
        return {"components_reused": self.components_reused, "components_rebuilt": self.components_rebuilt,
                "units_clusters_reused": self.units_reused}


class _Inside:
    """Tonight's inputs of the merge, restricted to contradicted components, keyed by unit id."""

    def __init__(self, comp: np.ndarray, bad: np.ndarray, ids: pl.Series, links: pl.DataFrame, scored: pl.DataFrame,
                 cannot: pl.DataFrame, values: dict[str, pl.Series]):
        self.comp, self.bad, self.ids = comp, bad, ids
        rows = np.flatnonzero(bad)
        self.members = pl.DataFrame({"comp": comp[rows], "rid": rows.astype(np.int64), "id": ids.gather(rows)}) \
            .with_columns(*(series.cast(pl.String).gather(rows).alias(_v(name)) for name, series in values.items()))
        self.links = self._pairs(links, "match_weight").sort(["comp", "w", L, R], descending=[False, True, False, False]) \
            .with_columns(pl.int_range(pl.len()).over("comp").cast(pl.Int64).alias("rank"),
                          pl.col("w").is_infinite().alias("inf"))
        self.scored = self._pairs(scored, "match_weight")
        why = (cannot.get_column("cannot_link").fill_null("cannot_link") if "cannot_link" in cannot.columns
               else pl.Series([None] * cannot.height, dtype=pl.String).fill_null("cannot_link"))
        self.cannot = self._pairs(cannot.with_columns(why.alias("__why")), "__why").rename({"w": "why"})

    def _pairs(self, pairs: pl.DataFrame, value: str) -> pl.DataFrame:
        """Pairs with both ends in one contradicted component: comp, rows, ids and ``value`` as w."""
        a = pairs.get_column(L).to_numpy().astype(np.int64)
        b = pairs.get_column(R).to_numpy().astype(np.int64)
        keep = self.bad[a] & (self.comp[a] == self.comp[b])
        a, b = a[keep], b[keep]
        return pl.DataFrame({"comp": self.comp[a], L: a, R: b, "id_l": self.ids.gather(a), "id_r": self.ids.gather(b),
                             "w": pairs.get_column(value).filter(pl.Series(keep))})


def _same(a: str, b: str) -> pl.Expr:
    return pl.col(a).eq_missing(pl.col(b))


def _reusable(now: _Inside, old: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Tonight's contradicted components whose merge goes as last night's: comp, old (its stored
    component) and d (Σ |Δw| of its scored pairs)."""
    guards = [c for c in now.members.columns if c.startswith("v:")]
    m = now.members.join(old["m"].rename({"comp": "old", "part": "__part"} | {g: f"{g}#" for g in guards}),
                         on="id", how="left")
    size = old["m"].group_by("comp").len().rename({"comp": "old", "len": "__size"})
    ok = (m.group_by("comp").agg(pl.col("old").first(), pl.col("old").n_unique().alias("__k"),
                                 pl.col("old").null_count().alias("__nulls"), pl.len().alias("__n"),
                                 pl.all_horizontal(_same(g, f"{g}#") for g in guards).all().alias("__values")
                                 if guards else pl.lit(True).alias("__values"))
          .join(size, on="old", how="left")
          .filter((pl.col("__k") == 1) & (pl.col("__nulls") == 0) & (pl.col("__n") == pl.col("__size"))
                  & pl.col("__values"))
          .select("comp", "old"))
    if ok.height == 0:
        return ok.with_columns(pl.lit(0.0).alias("d"))
    ok = ok.filter(~pl.col("comp").is_in(_differs(now.links.select("comp", "rank", "id_l", "id_r", "inf"),
                                                   old["l"], ok, ["rank"], ["id_l", "id_r", "inf"]).implode()))
    ok = ok.filter(~pl.col("comp").is_in(_differs(now.cannot.select("comp", "id_l", "id_r", "why"),
                                                  old["c"], ok, ["id_l", "id_r"], ["why"]).implode()))
    # duplicated links (a must-link beside the scored link of the same pair): always rebuilt
    dup = now.links.filter(pl.struct("comp", "id_l", "id_r").is_duplicated()).get_column("comp").unique()
    ok = ok.filter(~pl.col("comp").is_in(dup.implode()))
    scored = now.scored.select("comp", "id_l", "id_r", "w").join(ok, on="comp").drop("comp").join(
        old["s"].rename({"comp": "old", "w": "__w"}).join(ok.select("old"), on="old"),
        on=["old", "id_l", "id_r"], how="full", coalesce=True).join(ok, on="old")
    delta = scored.group_by("comp").agg(
        (pl.col("w").is_null() | pl.col("__w").is_null()).any().alias("__missing"),
        pl.when(pl.col("w") == pl.col("__w")).then(0.0).otherwise((pl.col("w") - pl.col("__w")).abs()).sum()
        .alias("__d"),
        pl.when(pl.col("w").is_infinite()).then(0.0).otherwise(pl.col("w").abs()).sum().alias("__total"))
    # d: how far any cross sum may have moved, with the rounding allowance of two float sums
    return (ok.join(delta, on="comp").join(old["g"].rename({"comp": "old"}), on="old")
            .with_columns((pl.col("__d") + ROUNDING * (1.0 + 2.0 * pl.col("__total"))).alias("d"))
            .filter(~pl.col("__missing") & pl.col("d").is_finite() & (pl.col("d") < pl.col("margin")))
            .select("comp", "old", "d"))


def _differs(now: pl.DataFrame, old: pl.DataFrame, ok: pl.DataFrame, keys: list[str], same: list[str]) -> pl.Series:
    """Tonight's components (of ``ok``) whose rows differ from their stored component's rows."""
    a = now.join(ok, on="comp").drop("comp")
    b = old.rename({"comp": "old"}).join(ok, on="old")
    both = a.join(b.rename({c: f"{c}#" for c in same}).drop("comp"), on=["old", *keys], how="full", coalesce=True)
    differ = pl.col(same[0]).is_null() | pl.col(f"{same[0]}#").is_null()
    for c in same:
        differ = differ | ~_same(c, f"{c}#")
    return both.filter(differ).join(ok, on="old").get_column("comp").unique()


def _apply(labels: np.ndarray, refused: pl.DataFrame, now: _Inside, old: dict[str, pl.DataFrame],
           keep: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame]:
    """Labels and refused links of the reused components from the store, in tonight's row numbers."""
    members = now.members.join(keep.select("comp", "old"), on="comp").join(
        old["m"].select(pl.col("comp").alias("old"), "id", "part"), on=["old", "id"])
    rid_of = now.members.select(pl.col("id").alias("part"), pl.col("rid").alias("label"))
    members = members.join(rid_of, on="part")   # a cluster's label: the row of its smallest id (= smallest row)
    labels[members.get_column("rid").to_numpy()] = members.get_column("label").to_numpy()
    back = (old["r"].rename({"comp": "old"}).join(keep.select("comp", "old"), on="old")
            .join(now.links.select("comp", "rank", L, R, pl.col("w").alias("match_weight")), on=["comp", "rank"])
            .select(pl.col(L).cast(pl.UInt32), pl.col(R).cast(pl.UInt32), "match_weight", pl.col("why").alias("refused_by")))
    refused = pl.concat([refused, back]).sort(["match_weight", L, R], descending=[True, False, False],
                                              maintain_order=True)
    return labels, refused


def _tonight(now: _Inside, labels: np.ndarray, refused: pl.DataFrame, old: dict[str, pl.DataFrame] | None,
             keep: pl.DataFrame, guards: list[str]) -> dict[str, pl.DataFrame]:
    """What the next night reads: every contradicted component's inputs, clusters, refused links, margin."""
    ids = now.ids
    members = now.members.with_columns(pl.Series("part", ids.gather(labels[now.members.get_column("rid").to_numpy()])))
    links = now.links
    rank_of = links.select(L, R, "comp", "rank")
    ref = refused.with_columns(pl.col(L, R).cast(pl.Int64)).join(rank_of, on=[L, R]).select("comp", "rank", pl.col("refused_by").alias("why"))
    reused = set(keep.get_column("comp").to_list())
    rebuilt = links.filter(~pl.col("comp").is_in(list(reused)))
    margin = _margins(rebuilt, now.scored.filter(~pl.col("comp").is_in(list(reused))), refused)
    if keep.height and old is not None:
        carried = keep.join(old["g"].rename({"comp": "old"}), on="old").select(
            "comp", (pl.col("margin") - pl.col("d")).alias("margin"))
        margin = pl.concat([margin, carried])
    return {
        "m": members.select("comp", "id", "part", *(_v(g) for g in guards)),
        "l": links.select("comp", "rank", "id_l", "id_r", "inf"),
        "s": now.scored.select("comp", "id_l", "id_r", "w"),
        "c": now.cannot.select("comp", "id_l", "id_r", "why"),
        "r": ref,
        "g": margin,
    }


def _margins(links: pl.DataFrame, scored: pl.DataFrame, refused: pl.DataFrame) -> pl.DataFrame:
    """Per rebuilt component, the smallest |cross sum| its merge compared with zero: a replay of the
    merge (its decisions taken from ``refused``) that only adds up the weights across clusters."""
    why = {(a, b): w for a, b, w in refused.select(L, R, "refused_by").iter_rows()}
    cross: dict[int, dict[int, float]] = {}
    evidence = pl.concat([scored.select(L, R, "w"), links.filter(pl.col("inf")).select(L, R, "w")])  # must-links too
    for a, b, w in evidence.iter_rows():
        row_a, row_b = cross.setdefault(a, {}), cross.setdefault(b, {})
        row_a[b] = row_b[a] = row_a.get(b, 0.0) + w
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent.get(x, x)
        return root

    margins: dict[int, float] = {}
    for c, a, b in links.select("comp", L, R).iter_rows():
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        reason = why.get((a, b))
        if reason is not None and reason != NET_NEGATIVE:
            continue
        row_a, row_b = cross.get(ra, {}), cross.get(rb, {})
        margins[c] = min(margins.get(c, np.inf), abs(row_a.get(rb, 0.0)))
        if reason is not None:
            continue
        small, big = (ra, rb) if len(row_a) < len(row_b) else (rb, ra)   # the smaller row moves
        moved = cross.pop(small, {})
        moved.pop(big, None)
        into = cross.setdefault(big, {})
        into.pop(small, None)
        for other, w in moved.items():
            into[other] = into.get(other, 0.0) + w
            row = cross[other]
            row.pop(small, None)
            row[big] = into[other]
        parent[small] = big
    comps = links.get_column("comp").unique().to_list()
    return pl.DataFrame({"comp": comps, "margin": [margins.get(c, np.inf) for c in comps]},
                        schema={"comp": pl.Int64(), "margin": pl.Float64()})
