"""The hooks ``abm.pipeline`` calls for bulk MA activities; each is a no-op without a store, so the
ordinary run reads as before."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polars as pl

from abm.activities import resolved as res
from abm.activities.bulk import KIND, ActivityStore, load_bulk
from abm.load import Loaded
from abm.rules import Rules

__all__ = ["ActivityStore", "about_part", "add_counts", "adjust_accounts", "attach", "cleanup", "export",
           "graph_part", "history_part", "known_part", "latest_touch", "load", "quarantine", "with_window"]

attach = res.attach
adjust_accounts = res.adjust_accounts
export = res.export
latest_touch = res.latest_touch
with_window = res.with_window


def workdir(out_dir: Path) -> Path:
    """Where the bulk rows and DuckDB's spill files live during a run: beside OUT_DIR, removed after it."""
    return out_dir.with_name(f".{out_dir.name}.activities")


def load(loaded: Loaded, rules: Rules, out_dir: Path) -> ActivityStore:
    cleanup(out_dir)  # what a killed run left
    return load_bulk(loaded.bulk, loaded.tables[KIND], loaded.files, rules, workdir(out_dir))


def cleanup(out_dir: Path, store: ActivityStore | None = None) -> None:
    if store is not None:
        store.close()
    shutil.rmtree(workdir(out_dir), ignore_errors=True)


def known_part(store: ActivityStore | None) -> tuple[Any, ...]:
    return () if store is None else (res.known(store),)


def graph_part(store: ActivityStore | None) -> tuple[Any, ...]:
    return () if store is None else (res.graph_parts(store),)


def about_part(store: ActivityStore | None) -> tuple[Any, ...]:
    return () if store is None else ((lambda ids: res.about(store, ids)),)


def history_part(store: ActivityStore | None) -> tuple[Any, ...]:
    """id_history without activity rows: an activity carries its lead's IDs, so it adds no change."""
    return () if store is None else (KIND,)


def quarantine(rows: pl.DataFrame, store: ActivityStore | None) -> pl.DataFrame:
    if store is None or store.quarantine.height == 0:
        return rows
    return pl.concat([rows, store.quarantine]).sort("source_file", "row_number")


def add_counts(counts: dict[str, Any], store: ActivityStore | None) -> None:
    """run.json's counts with the bulk rows (records, touches, input rows, quarantine, …)."""
    if store is None:
        return
    facts = store.facts
    counts["records"] += facts["records"]
    counts["touches"] += facts["touches"]
    counts["input_rows"] += store.rows_read - store.rejected_other.height  # those were counted as loaded
    counts["rows_without_touch_owner"] = counts.get("rows_without_touch_owner", 0) + facts["without_touch_owner"]
    resolution = counts.get("resolution", {})
    if "activities_without_lead" in resolution:
        resolution["activities_without_lead"] += facts["without_lead"]
