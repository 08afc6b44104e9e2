"""Splink 5 (DuckDB backend) on the Febrl sets, with the blocking of ``rules/linkage_febrl.yaml``.

A competent, documented setup, the same one for every size: the same five blocking rules as abm
(the surname-initial + birth-year key as a derived column; Splink has no ``max_block``: its
blocks are all pairs), Jaro-Winkler levels on names, Levenshtein on dates, exact/JW elsewhere,
u by random sampling (1 M pairs), m by EM trained on two blocking rules (as the Splink tutorials
do), links at match probability ``threshold`` (declared in ``bench.core`` before the run),
clusters by connected components. A bench extra (``pip install -e '.[bench]'``), never a runtime
dependency of abm.
"""

from __future__ import annotations

import logging
import time

import polars as pl


def run_splink(data: pl.DataFrame, threshold: float) -> dict[str, object]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    frame = data.drop("entity").with_columns(
        (pl.col("surname").str.slice(0, 1) + pl.col("date_of_birth").str.slice(0, 4)).alias("soundex_surname"),
    ).rename({"rec_id": "unique_id"})
    start = time.perf_counter()
    db_api = DuckDBAPI()
    table = db_api.register(frame.to_arrow())
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("soc_sec_id"), block_on("postcode", "date_of_birth"), block_on("given_name", "surname"),
            block_on("soundex_surname", "state"), block_on("date_of_birth"),
        ],
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.9, 0.75]),
            cl.JaroWinklerAtThresholds("surname", [0.9, 0.75]),
            cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.LevenshteinAtThresholds("soc_sec_id", [2]),
            cl.JaroWinklerAtThresholds("address_1", [0.9]),
            cl.JaroWinklerAtThresholds("suburb", [0.85]),
            cl.ExactMatch("postcode"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(table, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth"), block_on("postcode", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    result = pl.from_arrow(clusters.as_duckdbpyrelation().select("unique_id, cluster_id").arrow())
    seconds = time.perf_counter() - start
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    counted = count_comparisons_from_blocking_rules(  # after the clock; a 5 % sample estimate above 200 k
        table, blocking_rules=settings.blocking_rules_to_generate_predictions, link_type="dedupe_only",
        record_sample_proportion=1.0 if data.height <= 200_000 else 0.05)
    pairs = int(counted[-1]["cumulative_comparison_count"])
    assert isinstance(result, pl.DataFrame)
    return {"seconds": seconds, "pairs": pairs, "rec_ids": result.get_column("unique_id"),
            "clusters": result.get_column("cluster_id")}
