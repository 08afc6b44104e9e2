"""Score a run against ground truth: pairwise and B-cubed for accounts and persons; precision and
recall for collisions (per level) and key-person gaps (per type).

Truth directory (what ``fixtures.generate`` writes; a hand-labelled sample has the same shape):
``records.csv`` (record_key, account, person), optionally ``collisions.csv`` (level, account,
counterpart_department, person, …) and ``gaps.csv`` (gap_type, account, counterpart_department, person).
Only records present in both the run and the truth are scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from abm.errors import TruthError
from abm.evaluate_links import link_scores


def _pairs(n: pl.Expr) -> pl.Expr:
    return (n * (n - 1) / 2).sum()


def cluster_scores(pred: pl.Series, true: pl.Series) -> dict[str, float]:
    """Pairwise precision/recall/F1 and B-cubed F1 of two labelings of the same items."""
    frame = pl.DataFrame({"p": pred, "t": true})
    cells = frame.group_by("p", "t").len("n")
    tp = cells.select(_pairs(pl.col("n").cast(pl.Float64))).item()
    pred_pairs = frame.group_by("p").len("n").select(_pairs(pl.col("n").cast(pl.Float64))).item()
    true_pairs = frame.group_by("t").len("n").select(_pairs(pl.col("n").cast(pl.Float64))).item()
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    sizes = cells.join(frame.group_by("p").len("np"), on="p").join(frame.group_by("t").len("nt"), on="t")
    total = frame.height or 1
    b_p = sizes.select((pl.col("n") ** 2 / pl.col("np")).sum()).item() / total
    b_r = sizes.select((pl.col("n") ** 2 / pl.col("nt")).sum()).item() / total
    return {
        "records": frame.height,
        "pairwise_precision": round(precision, 4),
        "pairwise_recall": round(recall, 4),
        "pairwise_f1": round(_f1(precision, recall), 4),
        "bcubed_precision": round(b_p, 4),
        "bcubed_recall": round(b_r, 4),
        "bcubed_f1": round(_f1(b_p, b_r), 4),
        "predicted_clusters": int(frame.get_column("p").n_unique()),
        "true_clusters": int(frame.get_column("t").n_unique()),
    }


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _read_truth(truth_dir: Path, name: str, required: tuple[str, ...]) -> pl.DataFrame | None:
    path = truth_dir / name
    if not path.exists():
        return None
    try:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported the same way
        raise TruthError(f"Cannot read truth file {path}: {exc}") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise TruthError(f"Truth file {path} lacks column(s) {', '.join(missing)}.")
    return df


def _entity_scores(run: pl.DataFrame, truth: pl.DataFrame, pred_col: str, true_col: str) -> dict[str, float]:
    # a record with no label on one side is its own singleton there
    scored = truth.join(run, on="record_key", how="inner").filter(
        pl.col(true_col).is_not_null() | pl.col(pred_col).is_not_null())
    pred = pl.coalesce(pl.col(pred_col), pl.lit("∅") + pl.col("record_key"))
    true = pl.coalesce(pl.col(true_col), pl.lit("∅") + pl.col("record_key"))
    labels = scored.select(pred.alias("p"), true.alias("t"))
    return cluster_scores(labels.get_column("p"), labels.get_column("t"))


def _majority(run: pl.DataFrame, truth: pl.DataFrame, pred_col: str, true_col: str) -> dict[str, str]:
    """Predicted ID -> the true entity most of its records belong to."""
    joined = truth.join(run, on="record_key").drop_nulls([pred_col, true_col])
    best = (joined.group_by(pred_col, true_col).len()
            .sort([pred_col, "len", true_col], descending=[False, True, False])
            .group_by(pred_col, maintain_order=True).first())
    return dict(zip(best.get_column(pred_col).to_list(), best.get_column(true_col).to_list(), strict=True))


def _leaf(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null("").str.split("/").list.last().fill_null("")


def _set_scores(pred: set[tuple[str, ...]], true: set[tuple[str, ...]]) -> dict[str, float]:
    hit = len(pred & true)
    return {"predicted": len(pred), "true": len(true), "matched": hit,
            "precision": round(hit / len(pred), 4) if pred else 1.0,
            "recall": round(hit / len(true), 4) if true else 1.0}


def _flag_scores(pred: pl.DataFrame, truth: pl.DataFrame, group: str, acc: dict[str, str], per: dict[str, str],
                 use_person: pl.Expr) -> dict[str, dict[str, float]]:
    def keys(df: pl.DataFrame, account: pl.Expr, person: pl.Expr) -> pl.DataFrame:
        return df.select(pl.col(group), account.fill_null("").alias("a"),
                         _leaf(pl.col("counterpart_department")).alias("d"),
                         pl.when(use_person).then(person).otherwise(pl.lit("")).fill_null("").alias("p"))

    p = keys(pred, pl.col("account_id").replace_strict(acc, default=None),
             pl.col("person_id").replace_strict(per, default=None))
    t = keys(truth, pl.col("account"), pl.col("person"))
    out = {}
    for value in sorted(set(p.get_column(group).to_list()) | set(t.get_column(group).to_list())):
        ps = {tuple(r) for r in p.filter(pl.col(group) == value).drop(group).iter_rows()}
        ts = {tuple(r) for r in t.filter(pl.col(group) == value).drop(group).iter_rows()}
        out[value] = _set_scores(ps, ts)
    return out


def evaluate(out_dir: Path, truth_dir: Path) -> dict[str, Any]:
    records_path = out_dir / "records.parquet"
    if not records_path.exists():
        raise TruthError(f"{records_path} not found: run `abm run` first.")
    run = pl.read_parquet(records_path, columns=["record_key", "account_id", "person_id"])
    truth = _read_truth(truth_dir, "records.csv", ("record_key", "account", "person"))
    if truth is None:
        raise TruthError(f"{truth_dir / 'records.csv'} not found.")
    truth = truth.with_columns(pl.col("person").replace("", None))
    result: dict[str, Any] = {
        "accounts": _entity_scores(run, truth, "account_id", "account"),
        "persons": _entity_scores(run, truth, "person_id", "person"),
    }
    acc = _majority(run, truth, "account_id", "account")
    per = _majority(run, truth, "person_id", "person")
    col_truth = _read_truth(truth_dir, "collisions.csv", ("level", "account", "counterpart_department", "person"))
    if col_truth is not None and (out_dir / "collisions.parquet").exists():
        pred = pl.read_parquet(out_dir / "collisions.parquet")
        result["collisions"] = _flag_scores(pred, col_truth, "level", acc, per, pl.col("level") == "person")
    gap_truth = _read_truth(truth_dir, "gaps.csv", ("gap_type", "account", "counterpart_department", "person"))
    if gap_truth is not None and (out_dir / "key_person_gaps.parquet").exists():
        pred = pl.read_parquet(out_dir / "key_person_gaps.parquet")
        result["gaps"] = _flag_scores(pred, gap_truth, "gap_type", acc, per,
                                      pl.col("gap_type") == "hidden_key_person")
    result.update(link_scores(out_dir, truth_dir, run, truth))
    return result


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of the evaluation, for the terminal and the README."""
    lines = ["| entity | records | pairwise P | pairwise R | pairwise F1 | B-cubed F1 | clusters (pred/true) |",
             "|---|---|---|---|---|---|---|"]
    for name in ("accounts", "persons"):
        s = result[name]
        lines.append(f"| {name} | {s['records']} | {s['pairwise_precision']:.4f} | {s['pairwise_recall']:.4f} | "
                     f"{s['pairwise_f1']:.4f} | {s['bcubed_f1']:.4f} | {s['predicted_clusters']}/{s['true_clusters']} |")
    for section in ("collisions", "gaps"):
        if section in result:
            lines += ["", f"| {section} | predicted | true | matched | precision | recall |", "|---|---|---|---|---|---|"]
            for key, s in result[section].items():
                lines.append(f"| {key} | {s['predicted']} | {s['true']} | {s['matched']} | "
                             f"{s['precision']:.4f} | {s['recall']:.4f} |")
    if "conversions" in result or "ma_sync" in result or "crm_duplicates" in result:
        lines += ["", "| system links / CRM duplicates | value |", "|---|---|"]
        for section in ("conversions", "ma_sync"):
            for key, value in result.get(section, {}).items():
                lines.append(f"| {section}.{key} | {value} |")
        for kind, s in result.get("crm_duplicates", {}).items():
            lines.append(f"| crm_duplicates.{kind} pairwise P / R | {s['precision']:.4f} / {s['recall']:.4f} "
                         f"({s['matched']} of {s['predicted_pairs']} predicted, {s['true_pairs']} true pairs) |")
    return "\n".join(lines)
