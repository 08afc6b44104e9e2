"""The evidence behind one merge or one flag.

Every run keeps, in ``OUT_DIR/evidence/``, the pairs that decided something: each link that merged
two records and each merge a guard refused, with the blocking rule that found the pair, the level
of every comparison, the match weight and probability. ``explain`` joins them with the outputs for
one record key, account ID or person ID.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from abm.errors import AbmError
from abm.linkage.engine import LinkResult

EVIDENCE_DIR = "evidence"


def evidence_table(result: LinkResult) -> pl.DataFrame:
    """The decisive pairs of one linkage: links, refused merges and cannot-link pairs."""
    pairs = result.pairs
    refused = result.refused.select("__rid_l", "__rid_r", "refused_by")
    decided = pairs.join(refused, on=["__rid_l", "__rid_r"], how="left").filter(
        pl.col("linked") | pl.col("refused_by").is_not_null() | pl.col("cannot_link").is_not_null())
    gammas = [c for c in decided.columns if c.startswith("gamma_")]
    return decided.select(
        "id_l", "id_r", "rule", *gammas, "match_weight", "match_probability", "linked",
        pl.coalesce("refused_by", "cannot_link").alias("refused_by"),
        *(["attached"] if "attached" in decided.columns else []),
    ).sort("id_l", "id_r")


def write_evidence(out_dir: Path, accounts: LinkResult, persons: LinkResult,
                   moves: pl.DataFrame | None = None) -> None:
    target = out_dir / EVIDENCE_DIR
    target.mkdir(exist_ok=True)
    table = evidence_table(accounts)
    if moves is not None and moves.height:  # web forms placed after linkage (abm.resolve): the person matched
        table = pl.concat([table, moves.select(
            pl.col("record_key").alias("id_l"), pl.col("evidence_key").alias("id_r"),
            ("web_form_same_person:" + pl.col("matched_on")).alias("rule"),
            pl.lit(float("nan")).alias("match_weight"), pl.lit(float("nan")).alias("match_probability"),
            pl.lit(True).alias("linked"))], how="diagonal_relaxed")
    table.write_parquet(target / "account_links.parquet")
    evidence_table(persons).write_parquet(target / "person_links.parquet")


def _levels(row: dict[str, Any], names: dict[str, list[str]]) -> str:
    parts = []
    for key, value in row.items():
        if key.startswith("gamma_") and value is not None and value >= 0:
            comp = key.removeprefix("gamma_")
            levels = names.get(comp)
            parts.append(f"{comp}={levels[value] if levels and value < len(levels) else value}")
    return ", ".join(parts)


def explain(out_dir: Path, subject: str, level_names: dict[str, dict[str, list[str]]] | None = None) -> str:
    """A readable account of why ``subject`` (record key, account ID or person ID) is where it is."""
    records_path = out_dir / "records.parquet"
    if not records_path.exists():
        raise AbmError(f"{records_path} not found: run `abm run` first.")
    records = pl.read_parquet(records_path)
    level_names = level_names or {}
    lines: list[str] = []
    if subject in set(records["record_key"]):
        rec = records.filter(pl.col("record_key") == subject).row(0, named=True)
        lines.append(f"record {subject} ({rec['source_file']} row {rec['row_number']})")
        lines.append(f"  account {rec['account_id']} (strongest link {rec['account_score']}), "
                     f"person {rec['person_id']} (strongest link {rec['person_score']})")
        keys = {subject}
    else:
        column = "account_id" if subject in set(records["account_id"].drop_nulls()) else (
            "person_id" if subject in set(records["person_id"].drop_nulls()) else None)
        if column is None:
            raise AbmError(f"{subject!r} is neither a record key, an account ID nor a person ID of {out_dir}.")
        members = records.filter(pl.col(column) == subject)
        lines.append(f"{column.removesuffix('_id')} {subject}: {members.height} records "
                     f"({', '.join(f'{k} {n}' for k, n in members.group_by('kind').len().sort('kind').iter_rows())})")
        keys = set(members["record_key"])
    for entity in ("account", "person"):
        path = out_dir / EVIDENCE_DIR / f"{entity}_links.parquet"
        if not path.exists():
            continue
        ev = pl.read_parquet(path).filter(pl.col("id_l").is_in(list(keys)) | pl.col("id_r").is_in(list(keys)))
        if ev.height == 0:
            continue
        lines.append(f"  {entity} evidence ({ev.height} pairs):")
        for row in ev.sort("match_weight", descending=True).head(50).iter_rows(named=True):
            verdict = ("linked" + (" (attached: only candidate)" if row.get("attached") else "")
                       if row["linked"] else f"refused by {row['refused_by']}")
            lines.append(f"    {row['id_l']} ~ {row['id_r']}: {verdict}; rule {row['rule']}; "
                         f"weight {row['match_weight']:.2f} (p={row['match_probability']:.3f}); "
                         f"{_levels(row, level_names.get(entity, {}))}")
    for name, label in (("collisions", "collision"), ("key_person_gaps", "gap")):
        path = out_dir / f"{name}.parquet"
        if not path.exists():
            continue
        flags = pl.read_parquet(path)
        hits = flags.filter(pl.col("evidence").list.eval(pl.element().is_in(list(keys))).list.any()
                            | pl.col("account_id").is_in([subject]) | pl.col("person_id").is_in([subject]))
        for row in hits.head(20).iter_rows(named=True):
            kind = row.get("level") or row.get("gap_type")
            lines.append(f"  {label} {kind}: account {row['account_id']}, department {row['counterpart_department']}, "
                         f"person {row['person_id']}; evidence {', '.join(row['evidence'][:10])}")
    return "\n".join(lines)
