"""The report's data-quality section: source-data findings and CRM records sales ops can merge.

Server-rendered tables (autoescaped by the template), capped so a large night keeps the page small;
every row is in ``data_quality.parquet``, ``crm_duplicates.parquet`` and ``report.xlsx``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

#: rows shown per table; the rest are counted and named where to find them
SHOWN = 300


def build_quality(tables: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    findings = tables.get("data_quality", pl.DataFrame())
    duplicates = tables.get("crm_duplicates", pl.DataFrame())
    out: dict[str, Any] = {"findings": [], "findings_more": 0, "duplicates": [], "duplicates_more": 0}
    if findings.height:
        cols = [c for c in ("finding", "record_key", "related_record_key", "reason", "detail") if c in findings.columns]
        out["findings"] = findings.sort("finding", "record_key").head(SHOWN).select(cols).to_dicts()
        out["findings_more"] = max(findings.height - SHOWN, 0)
    if duplicates.height:
        names = tables.get("accounts", pl.DataFrame(schema={"account_id": pl.Utf8, "name": pl.Utf8}))
        merges = (duplicates.group_by("merge_group", "kind", "duplicate_of", maintain_order=True)
                  .agg(pl.col("crm_id").sort().str.join(", ").alias("crm_ids"), pl.col("account_id").first(),
                       pl.col("survivor_rule").first(),
                       pl.col("shared").explode().drop_nulls().unique().sort().str.join(", ").alias("shared"))
                  .join(names.select("account_id", pl.col("name").alias("account_name")), on="account_id", how="left")
                  .sort("kind", "merge_group"))
        out["duplicates"] = merges.head(SHOWN).to_dicts()
        out["duplicates_more"] = max(merges.height - SHOWN, 0)
    return out
