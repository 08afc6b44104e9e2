"""runs.parquet: one row per run into this OUT_DIR, all of them (the previous run's table + this run)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

log = logging.getLogger(__name__)

RUNS_SCHEMA: dict[str, pl.DataType] = {
    "run_at": pl.Datetime("us"), "as_of": pl.Date(), "input_rows": pl.Int64(), "records": pl.Int64(),
    "accounts": pl.Int64(), "persons": pl.Int64(), "collisions": pl.Int64(), "gaps": pl.Int64(),
    "abm_version": pl.String(), "critical_collisions": pl.Int64(), "new_flags": pl.Int64(),
    "ongoing_flags": pl.Int64(), "resolved_flags": pl.Int64(), "quarantined": pl.Int64(),
}


def runs_table(previous_out: Path, run_at: datetime, as_of: date, counts: Mapping[str, Any],
               version: str) -> pl.DataFrame:
    """The previous run's ``runs.parquet`` (when readable) followed by this run's row.

    ``run_at`` is naive UTC (DuckDB reads it as TIMESTAMP)."""
    flags = counts.get("flags", {})
    row = {
        "run_at": run_at.replace(tzinfo=None), "as_of": as_of,
        "input_rows": counts.get("input_rows"), "records": counts.get("records"),
        "accounts": counts.get("accounts"), "persons": counts.get("persons"),
        "collisions": counts.get("collisions"), "gaps": counts.get("key_person_gaps"),
        "abm_version": version, "critical_collisions": counts.get("critical_collisions"),
        "new_flags": flags.get("new"), "ongoing_flags": flags.get("ongoing"),
        "resolved_flags": flags.get("resolved"), "quarantined": counts.get("quarantine"),
    }
    this = pl.DataFrame([row], schema=RUNS_SCHEMA)
    path = previous_out / "runs.parquet"
    if not path.exists():
        return this
    try:
        prev = pl.read_parquet(path)
    except Exception as exc:  # a damaged previous output must not stop tonight's run
        log.warning("previous runs.parquet unreadable (%s): the run list restarts", type(exc).__name__)
        return this
    prev = prev.select([pl.col(c) if c in prev.columns else pl.lit(None).alias(c) for c in RUNS_SCHEMA])
    return pl.concat([prev.cast(RUNS_SCHEMA), this])  # type: ignore[arg-type]
