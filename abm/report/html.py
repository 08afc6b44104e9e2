"""The sales-ops collision report: one self-contained HTML file, every value autoescaped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape

from abm.detect.policy import SEVERITY_RANK

_ENV = Environment(loader=PackageLoader("abm.report", "templates"), autoescape=select_autoescape(default=True))

def _rows(df: pl.DataFrame, columns: list[str], limit: int = 500) -> list[dict[str, Any]]:
    present = [c for c in columns if c in df.columns]
    out = []
    for row in df.select(present).head(limit).iter_rows(named=True):
        out.append({k: (", ".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v))
                    for k, v in row.items()})
    return out


def write_report(path: Path, tables: Mapping[str, pl.DataFrame], as_of: date, counts: Mapping[str, Any]) -> None:
    accounts = tables["accounts"].select("account_id", pl.col("name").alias("account_name"))
    persons = tables["persons"].select("person_id", pl.col("name").alias("person_name"))
    collisions = tables["collisions"]
    if collisions.height:
        collisions = (
            collisions.join(accounts, on="account_id", how="left").join(persons, on="person_id", how="left")
            .with_columns(pl.col("severity").replace_strict(SEVERITY_RANK, default=len(SEVERITY_RANK)).alias("__order"))
            .sort("__order", "account_name", "level", nulls_last=True)
        )
    gaps = tables["key_person_gaps"]
    if gaps.height:
        gaps = gaps.join(accounts, on="account_id", how="left").join(persons, on="person_id", how="left").sort(
            "account_name", "gap_type", nulls_last=True)
    html = _ENV.get_template("report.html.j2").render(
        as_of=as_of.isoformat(),
        counts=counts,
        collisions=_rows(collisions, ["severity", "level", "account_name", "counterpart_department",
                                      "person_name", "internal_departments", "products", "window_start",
                                      "window_end", "evidence"]),
        n_collisions=collisions.height,
        gaps=_rows(gaps, ["gap_type", "account_name", "counterpart_department", "person_name",
                          "holder_internal_departments", "evidence"]),
        n_gaps=gaps.height,
    )
    path.write_text(html, encoding="utf-8")
