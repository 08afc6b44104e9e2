"""Splink 5 entity resolution only, on a generated Japanese world: the side-by-side of issue 14.

What a competent Splink user would write for the same input files, documented so the comparison
can be checked: read every file (Shift-JIS or UTF-8), take the rows that name a company (cards,
CRM accounts, contacts, leads, MA leads), normalise in polars (NFKC, lower case, legal forms such
as 株式会社 / (株) / Co., Ltd. removed, spaces and punctuation removed; e-mail domain unless free
mail, else the web site's host; phone digits; 法人番号 digits; the CRM account id where a row has
one), block on name / domain / phone / 法人番号 / CRM account id, compare with Jaro-Winkler levels
on the name and exact levels elsewhere, u by random sampling, m by EM (blocked on domain, then on
name), link and cluster at match probability 0.9. Opportunities and MA activities follow their
account / lead (a key join, not resolution). Scored like ``abm evaluate``: pairwise account F1
over the records the truth names.

    python -m bench.splink_jp WORLD_DIR      # prints one JSON line
"""

from __future__ import annotations

import io
import json
import logging
import resource
import sys
import time
from pathlib import Path

import polars as pl

LEGAL = ["株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "一般社団法人", "一般財団法人", "(株)", "(有)",
         "(同)", "㈱", "㈲", "co.,ltd.", "co., ltd.", "co.ltd.", "inc.", "corporation", "corp.", "ltd.", "k.k."]
THRESHOLD = 0.9


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path).cast(pl.Utf8)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp932", errors="replace")
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def _name(col: str) -> pl.Expr:
    e = pl.col(col).str.normalize("NFKC").str.to_lowercase()
    for form in LEGAL:
        e = e.str.replace_all(form, "", literal=True)
    return e.str.replace_all(r"[\s\p{P}]+", "").replace("", None)


def _host(col: str) -> pl.Expr:
    return (pl.col(col).str.to_lowercase().str.replace(r"^[a-z]+://", "").str.replace(r"^www\.", "")
            .str.replace(r"[/:].*$", ""))


def records(world: Path, free_mail: set[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ER rows (unique_id, name, domain, phone, corp, crm_account) and key-joined followers."""
    frames, followers = [], []
    for path in sorted(world.iterdir()):
        if path.is_dir():
            continue
        source = path.stem.split("_20")[0] if path.stem.startswith("cards") else path.stem
        df = _read(path)
        cols = set(df.columns)
        idc = df.columns[0]
        if source == "crm_opportunities":
            followers.append(df.select((pl.lit(source + ":") + pl.col(idc)).alias("unique_id"),
                                       (pl.lit("crm_accounts:") + pl.col("account_id")).alias("leader")))
            continue
        if source == "ma_activities":
            followers.append(df.select((pl.lit(source + ":") + pl.col(idc)).alias("unique_id"),
                                       (pl.lit("ma_leads:") + pl.col("lead_id")).alias("leader")))
            continue
        name = "name" if source == "crm_accounts" else "company_name"
        site = "website" if "website" in cols else "url" if "url" in cols else None
        mail = (pl.col("email").str.to_lowercase().str.split("@").list.get(1, null_on_oob=True)
                if "email" in cols else pl.lit(None, pl.Utf8))
        frames.append(df.select(
            (pl.lit(source + ":") + pl.col(idc)).alias("unique_id"),
            _name(name).alias("name") if name in cols else pl.lit(None, pl.Utf8).alias("name"),
            pl.when(mail.is_in(list(free_mail))).then(None).otherwise(mail).alias("_mail"),
            _host(site).alias("_site") if site else pl.lit(None, pl.Utf8).alias("_site"),
            pl.col("phone").str.replace_all(r"\D", "").replace("", None).alias("phone")
            if "phone" in cols else pl.lit(None, pl.Utf8).alias("phone"),
            pl.col("corporate_number").str.replace_all(r"\D", "").replace("", None).alias("corp")
            if "corporate_number" in cols else pl.lit(None, pl.Utf8).alias("corp"),
            pl.col(idc).alias("crm_account") if source == "crm_accounts"
            else pl.col("account_id").alias("crm_account") if "account_id" in cols
            else pl.lit(None, pl.Utf8).alias("crm_account"),
        ).with_columns(pl.coalesce("_mail", "_site").alias("domain")).drop("_mail", "_site"))
    return pl.concat(frames), pl.concat(followers)


def run(world: Path) -> dict[str, object]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    free = {ln.strip() for ln in Path("rules/free_mail.txt").read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")}
    rows, followers = records(world, free)
    db_api = DuckDBAPI()
    table = db_api.register(rows.to_arrow())
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on("name"), block_on("domain"), block_on("phone"),
                                                block_on("corp"), block_on("crm_account")],
        comparisons=[cl.JaroWinklerAtThresholds("name", [0.95, 0.88]), cl.ExactMatch("domain"),
                     cl.ExactMatch("phone"), cl.ExactMatch("corp"), cl.ExactMatch("crm_account")],
        retain_intermediate_calculation_columns=False, retain_matching_columns=False,
    )
    linker = Linker(table, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match([block_on("name", "domain")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("domain"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD)
    labels = pl.from_arrow(clusters.as_duckdbpyrelation().select("unique_id, cluster_id").arrow())
    assert isinstance(labels, pl.DataFrame)
    follow = followers.join(labels.rename({"unique_id": "leader"}), on="leader").select("unique_id", "cluster_id")
    labels = pl.concat([labels, follow])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "records": labels.height, **score(labels, world / "truth" / "records.csv")}


def score(labels: pl.DataFrame, truth: Path) -> dict[str, float]:
    from abm.evaluate import cluster_scores

    true = pl.read_csv(truth, infer_schema=False).filter(pl.col("account").is_not_null())
    both = labels.join(true.select(pl.col("record_key").alias("unique_id"), "account"), on="unique_id")
    s = cluster_scores(both.get_column("cluster_id"), both.get_column("account"))
    return {"account_precision": s["pairwise_precision"], "account_recall": s["pairwise_recall"],
            "account_f1": s["pairwise_f1"], "scored_records": both.height}


if __name__ == "__main__":
    result = run(Path(sys.argv[1]))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(json.dumps(result) + "\n")
