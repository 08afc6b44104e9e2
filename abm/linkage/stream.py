"""Large candidate sets scored in chunks: memory set by the pair budget, not by a full comparison table.

Above ``engine.KEEP_ALL_PAIRS`` candidate pairs (where the evidence table is pruned anyway), the
engine does not build one row per pair with its levels, weight and probability. Instead:

1. pairs are compared ``CHUNK`` at a time; each pair's level codes are packed into one integer
   (7 bits per comparison, so up to 9 comparisons) and counted per blocking rule, with that rule's
   own comparisons held out — EM learns from pattern counts (``score.train_patterns``), and
   patterns are few;
2. after training, each distinct pattern is scored once;
3. a pair is kept for clustering and evidence only when it can matter: its pattern passes
   ``keep_if`` (probability ≥ ``KEEP_MIN_PROBABILITY``, or a level that attaches a lone unit), it
   is a system link, or both its units fall in one component of the links the model proposes and
   the pairs that may attach a lone unit (``link_if``, system links, must-links) — inside such a
   component a pair saying "different" is what makes clustering rebuild it, and a guard's
   cannot-link is what keeps a lone unit from being attached to a cluster. Every other pair scores low and joins two units no link will
   ever bring together: it is counted and dropped.

What stays per pair is 8 bytes of code beside the 8 bytes of its two row numbers: 50 M pairs (the
default spec budget) hold about 0.8 GB; the comparison strings exist one chunk at a time.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from abm.components import connected_components
from abm.errors import InputError
from abm.linkage.block import RID
from abm.linkage.compare import CHUNK, NULL_LEVEL, Columns, _compare_chunk, gamma_column
from abm.linkage.score import Model, _held_out, predict, train_patterns
from abm.linkage.spec import LinkageSpec

log = logging.getLogger(__name__)

#: packed codes hold 7 bits per comparison in an int64: a spec with more comparisons is not streamed
MAX_COMPARISONS = 9
L, R = f"{RID}_l", f"{RID}_r"


@dataclass(frozen=True)
class Streamed:
    vectors: pl.DataFrame      # the pairs kept: __rid_l, __rid_r, rule, one gamma column per comparison
    model: Model               # trained, with its prior set
    blocked: int               # candidate pairs blocking produced (system links not counted)
    timings: dict[str, float] = field(default_factory=dict)


#: environment variable overriding the in-memory limit (``engine.KEEP_ALL_PAIRS``) of candidate pairs
LIMIT_ENV = "ABM_IN_MEMORY_PAIRS"


def in_memory_limit(default: int) -> int:
    """Candidate pairs above which a spec is scored in chunks and its evidence pruned:
    ``ABM_IN_MEMORY_PAIRS`` when set (a whole number ≥ 0), else ``default``."""
    value = os.environ.get(LIMIT_ENV, "").strip().replace("_", "")
    if not value:
        return default
    try:
        return max(int(value), 0)
    except ValueError as exc:
        raise InputError(LIMIT_ENV, f"not a whole number: {value!r}",
                         fix=f"set it to a pair count, e.g. {default} (the default), or unset it") from exc


def streamable(spec: LinkageSpec) -> bool:
    return 0 < len(spec.comparisons) <= MAX_COMPARISONS


def pack(gammas: np.ndarray) -> np.ndarray:
    """One int64 per row of an int8 level matrix (levels -1 … 126 stored as 0 … 127)."""
    codes = np.zeros(len(gammas), dtype=np.int64)
    for c in range(gammas.shape[1]):
        codes = (codes << 7) | (gammas[:, c].astype(np.int64) + 1)
    return codes


def unpack(codes: np.ndarray, width: int) -> np.ndarray:
    out = np.empty((len(codes), width), dtype=np.int8)
    rest = codes.copy()
    for c in reversed(range(width)):
        out[:, c] = (rest & 127) - 1
        rest >>= 7
    return out


def _merge_counts(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    codes, inverse = np.unique(np.concatenate([p[0] for p in parts]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([p[1] for p in parts]).astype(float), minlength=len(codes))
    return codes, counts


def proposed_components(n: int, left: np.ndarray, right: np.ndarray, must: pl.DataFrame | None = None) -> np.ndarray:
    """Component label per unit of the links the model proposes (pairs ``left``–``right``, plus
    must-links): units in different components are never brought together by clustering."""
    if must is not None and must.height:
        left = np.r_[left, must.get_column(L).to_numpy()]
        right = np.r_[right, must.get_column(R).to_numpy()]
    return connected_components(n, left, right)


def stated_mask(candidates: pl.DataFrame, stated: pl.DataFrame | None) -> np.ndarray:
    """Which ``candidates`` are system links (``stated``: __rid_l, __rid_r), blocking-found or not."""
    if stated is None or stated.height == 0:
        return np.zeros(candidates.height, dtype=bool)
    return candidates.select(L, R).join(stated.select(L, R).unique().with_columns(pl.lit(True).alias("__stated")),
                                        on=[L, R], how="left", maintain_order="left") \
        .get_column("__stated").fill_null(False).to_numpy()


def score_large(prepared: pl.DataFrame, candidates: pl.DataFrame, spec: LinkageSpec, u: list[np.ndarray],
                population: float, system_rule: str, link_if: pl.Expr, keep_if: pl.Expr,
                must: pl.DataFrame | None = None, chunk: int = CHUNK, *,
                columns: Columns | None = None, stated: pl.DataFrame | None = None,
                key_ids: list[np.ndarray]) -> Streamed:
    """Compare, train and score ``candidates`` (__rid_l, __rid_r, rule) chunk by chunk; see the module doc.
    ``link_if``/``keep_if`` are evaluated on the scored distinct patterns (gamma columns,
    match_weight, match_probability); ``must``: must-link pairs (__rid_l, __rid_r); ``stated``: the
    system links (__rid_l, __rid_r), kept and proposed as links whatever their score — also those
    blocking found (their rule is the blocking rule's, not ``system_rule``)."""
    t = time.perf_counter()
    width = len(spec.comparisons)
    cols = [gamma_column(c) for c in spec.comparisons]
    left = candidates.get_column(L).to_numpy()
    right = candidates.get_column(R).to_numpy()
    system = (candidates.get_column("rule").cast(pl.Utf8) == system_rule).to_numpy()
    forced = system | stated_mask(candidates, stated)
    columns = columns if columns is not None else Columns(prepared)
    held = [_held_out(spec, r) for r in range(len(spec.blocking))]
    codes = np.empty(candidates.height, dtype=np.int64)
    per_rule: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in spec.blocking]
    overall: list[tuple[np.ndarray, np.ndarray]] = []
    for o in range(0, candidates.height, chunk):
        g = _compare_chunk(prepared, candidates.slice(o, chunk), spec, columns).select(cols).to_numpy()
        end = o + len(g)
        codes[o:end] = pack(g)
        lo, ro, blocked = left[o:end], right[o:end], ~system[o:end]
        overall.append(np.unique(codes[o:end][blocked], return_counts=True))
        for r, ids in enumerate(key_ids):   # blocking's key ids (-1: a key column is null);   # EM per rule: the pairs satisfying it, its own comparisons held out
            mask = blocked & (ids[lo] == ids[ro]) & (ids[lo] >= 0)
            if mask.any():
                gr = g[mask]
                gr[:, held[r]] = NULL_LEVEL
                per_rule[r].append(np.unique(pack(gr), return_counts=True))
    timings = {"compare": time.perf_counter() - t}
    t = time.perf_counter()

    def patterns(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
        c, k = _merge_counts(parts)
        return (unpack(c, width).astype(np.int64), k) if len(c) else None

    merged = patterns(overall)
    n_blocked = int(merged[1].sum()) if merged else 0
    model = train_patterns([patterns(p) for p in per_rule],
                           merged or (np.zeros((0, width), dtype=np.int64), np.zeros(0)), spec, u)
    model = model.with_prior(population, n_blocked)
    # every distinct pattern scored once; each pair looks its pattern up
    distinct = np.unique(codes)
    table = predict(pl.DataFrame({c: unpack(distinct, width)[:, i] for i, c in enumerate(cols)}), model)
    flags = table.select(link_if.fill_null(False).alias("link"), keep_if.fill_null(False).alias("keep"))
    index = np.searchsorted(distinct, codes)
    links = flags.get_column("link").to_numpy()[index] | forced
    labels = proposed_components(prepared.height, left[links], right[links], must)
    keep = flags.get_column("keep").to_numpy()[index] | forced | (labels[left] == labels[right])
    del index, links
    kept = unpack(codes[keep], width)
    vectors = candidates.filter(pl.Series(keep)).with_columns(
        pl.Series(c, kept[:, i], dtype=pl.Int8) for i, c in enumerate(cols))
    timings["score"] = time.perf_counter() - t
    log.info("linkage %s: %d candidate pairs scored in chunks of %d (%d distinct patterns); %d kept for "
             "clustering and evidence", spec.name, candidates.height, chunk, len(distinct), vectors.height)
    return Streamed(vectors, model, n_blocked, timings)
