"""Scores for the links the systems record and for CRM duplicates (``abm evaluate``).

Truth (what ``fixtures.generate`` writes): ``conversions.csv`` (lead_key, account_key, contact_key,
correct 1/0), ``ma_sync.csv`` (ma_lead_key, crm_key, account_key, stale 1/0); CRM duplicates come from
``records.csv``: CRM accounts (contacts) of one true company (person) are duplicates of each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl


def _share(hit: int, total: int) -> float:
    return round(hit / total, 4) if total else 1.0


def conversion_scores(run: pl.DataFrame, truth: pl.DataFrame, conversions: pl.DataFrame,
                      quality: pl.DataFrame | None) -> dict[str, Any]:
    """Correct conversions: share of leads sharing their contact's person (and account). Wrong ones:
    how many abm put into the wrong company, and the share flagged conversion_conflict."""
    where = run.select("record_key", "account_id", "person_id")
    conv = (conversions.join(where, left_on="lead_key", right_on="record_key")
            .join(where.rename({"record_key": "contact_key", "account_id": "c_account", "person_id": "c_person"}),
                  on="contact_key", how="left")
            .join(where.rename({"record_key": "account_key", "account_id": "a_account", "person_id": "_"}),
                  on="account_key", how="left"))
    good = conv.filter((pl.col("correct") == "1") & pl.col("c_person").is_not_null())
    wrong = conv.filter(pl.col("correct") == "0")
    flagged: set[str] = set()
    if quality is not None and quality.height:
        flagged = set(quality.filter(pl.col("finding") == "conversion_conflict").get_column("record_key").to_list())
    true_acc = truth.select("record_key", "account")
    wrong = wrong.join(true_acc.rename({"record_key": "lead_key", "account": "t_lead"}), on="lead_key", how="left") \
        .join(true_acc.rename({"record_key": "account_key", "account": "t_target"}), on="account_key", how="left")
    misplaced = wrong.filter((pl.col("account_id") == pl.col("a_account")) & (pl.col("t_lead") != pl.col("t_target")))
    n_flagged = wrong.filter(pl.col("lead_key").is_in(list(flagged))).height
    return {
        "correct_conversions": good.height,
        "share_with_contacts_person": _share(good.filter(pl.col("person_id") == pl.col("c_person")).height, good.height),
        "share_in_contacts_account": _share(good.filter(pl.col("account_id") == pl.col("c_account")).height, good.height),
        "wrong_conversions": wrong.height,
        "wrong_put_into_wrong_company": misplaced.height,
        "wrong_flagged_conversion_conflict": _share(n_flagged, wrong.height),
        "conversion_conflicts_reported": len(flagged),
    }


def sync_scores(run: pl.DataFrame, syncs: pl.DataFrame) -> dict[str, Any]:
    where = run.select("record_key", "person_id")
    live = syncs.filter((pl.col("stale") != "1") & (pl.col("crm_key") != "")).join(
        where, left_on="ma_lead_key", right_on="record_key").join(
        where.rename({"record_key": "crm_key", "person_id": "crm_person"}), on="crm_key")
    return {"synced_ma_leads": live.height, "stale": syncs.filter(pl.col("stale") == "1").height,
            "share_with_crm_person": _share(live.filter(pl.col("person_id") == pl.col("crm_person")).height,
                                            live.height)}


def _pairs(groups: pl.DataFrame, key: str, label: str) -> set[tuple[str, str]]:
    g = groups.select(pl.col(key).alias("k"), pl.col(label).alias("g")).drop_nulls()
    both = g.join(g, on="g", suffix="_r").filter(pl.col("k") < pl.col("k_r"))
    return set(both.select("k", "k_r").iter_rows())


def duplicate_scores(truth: pl.DataFrame, duplicates: pl.DataFrame) -> dict[str, Any]:
    """Pairwise precision / recall of the duplicate groups (a group: a survivor and its duplicates)."""
    out: dict[str, Any] = {}
    for kind, label in (("crm_accounts", "account"), ("crm_contacts", "person")):
        true = _pairs(truth.filter(pl.col("record_key").str.starts_with(f"{kind}:")), "record_key", label)
        mine = duplicates.filter(pl.col("kind") == kind)
        members = pl.concat([
            mine.select(pl.format("{}:{}", pl.lit(kind), "crm_id").alias("record_key"), "duplicate_of"),
            mine.select(pl.format("{}:{}", pl.lit(kind), "duplicate_of").alias("record_key"), "duplicate_of"),
        ]).unique()
        pred = _pairs(members, "record_key", "duplicate_of")
        hit = len(pred & true)
        out[kind] = {"predicted_pairs": len(pred), "true_pairs": len(true), "matched": hit,
                     "precision": _share(hit, len(pred)), "recall": _share(hit, len(true))}
    return out


def link_scores(out_dir: Path, truth_dir: Path, run: pl.DataFrame, truth: pl.DataFrame) -> dict[str, Any]:
    """Every score whose truth file and output exist."""
    result: dict[str, Any] = {}
    quality_path = out_dir / "data_quality.parquet"
    quality = pl.read_parquet(quality_path) if quality_path.exists() else None
    if (truth_dir / "conversions.csv").exists():
        conversions = pl.read_csv(truth_dir / "conversions.csv", infer_schema=False).with_columns(
            pl.col("contact_key").replace("", None))
        result["conversions"] = conversion_scores(run, truth, conversions, quality)
    if (truth_dir / "ma_sync.csv").exists():
        result["ma_sync"] = sync_scores(run, pl.read_csv(truth_dir / "ma_sync.csv", infer_schema=False))
    if (out_dir / "crm_duplicates.parquet").exists():
        result["crm_duplicates"] = duplicate_scores(truth, pl.read_parquet(out_dir / "crm_duplicates.parquet"))
    return result
