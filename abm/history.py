"""ID history: what happened since the previous run to each account and person ID it published.

Compares the previous run's ``records.parquet`` with this run's, record by record: an old ID whose
records now all carry one other ID was ``merged_into`` it; one whose records now carry several
IDs was split (``split_from``: one row per new ID); one whose records are all gone is ``retired``.
IDs that still exist are stable and get no row.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

SCHEMA: dict[str, pl.DataType] = {"id": pl.String(), "kind": pl.String(), "change": pl.String(),
                                  "new_id": pl.String(), "run_at": pl.Datetime("us")}


def iso_utc_text_to_timestamp(column: str) -> pl.Expr:
    """``2025-05-01T03:00:00+00:00`` (how run_at was once written, always UTC) → naive UTC timestamp."""
    return (pl.col(column).cast(pl.String).str.slice(0, 19).str.replace("T", " ")
            .str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us").alias(column))


def _changes(old: pl.DataFrame, new: pl.DataFrame, column: str, kind: str, run_at: datetime) -> pl.DataFrame:
    before = old.select("record_key", pl.col(column).alias("id")).drop_nulls("id")
    after = new.select("record_key", pl.col(column).alias("new_id"))
    still = set(after.get_column("new_id").drop_nulls().unique().to_list())
    moved = before.join(after, on="record_key", how="left").filter(~pl.col("id").is_in(list(still)))
    per_id = moved.group_by("id").agg(pl.col("new_id").drop_nulls().unique().sort().alias("targets"))
    n = pl.col("targets").list.len()
    # explode() drops empty lists on some polars versions: retired IDs (no target) are built apart
    retired = per_id.filter(n == 0).select("id", pl.lit("retired").alias("change"),
                                             pl.lit(None, dtype=pl.Utf8).alias("new_id"))
    moved_on = per_id.filter(n > 0).with_columns(
        pl.when(n == 1).then(pl.lit("merged_into")).otherwise(pl.lit("split_from")).alias("change"),
    ).explode("targets").rename({"targets": "new_id"}).select("id", "change", "new_id")
    rows = pl.concat([retired, moved_on.cast({"new_id": pl.Utf8})]).sort("id", "new_id", nulls_last=False)
    return rows.select("id", pl.lit(kind).alias("kind"), "change", "new_id",
                       pl.lit(run_at).cast(pl.Datetime("us")).alias("run_at"))


def id_history(previous_out: Path, records: pl.DataFrame, run_at: datetime, skip_kind: str | None = None,
               ) -> pl.DataFrame:
    """History rows for this run (empty on a first run), followed by the previous run's history.
    ``run_at`` is a naive UTC timestamp (DuckDB TIMESTAMP); a previous history with ISO text is converted."""
    stamp = run_at.replace(tzinfo=None)
    prev_records = previous_out / "records.parquet"
    if not prev_records.exists():
        return pl.DataFrame(schema=SCHEMA)
    if skip_kind is None:
        old = pl.read_parquet(prev_records, columns=["record_key", "account_id", "person_id"])
    else:  # records that only follow another record's IDs (bulk MA activities)
        old = (pl.scan_parquet(prev_records).filter(pl.col("kind") != skip_kind)
               .select("record_key", "account_id", "person_id").collect())
        records = records.filter(pl.col("kind") != skip_kind)
    rows = [
        _changes(old, records, "account_id", "account", stamp),
        _changes(old, records, "person_id", "person", stamp),
    ]
    prev_history = previous_out / "id_history.parquet"
    if prev_history.exists():
        prev = pl.read_parquet(prev_history)
        if prev.schema.get("run_at") == pl.Utf8:   # written before run_at was a timestamp
            prev = prev.with_columns(iso_utc_text_to_timestamp("run_at"))
        rows.append(prev.cast(SCHEMA))  # type: ignore[arg-type]
    return pl.concat([r.cast(SCHEMA) for r in rows]).unique(maintain_order=True)  # type: ignore[arg-type]
