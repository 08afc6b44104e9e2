"""Golden outputs of the demo world: a change in results shows as a diff of tests/golden/.

The files hold what a reviewer wants to see change deliberately — counts, accuracy against the demo
truth, every collision and gap by its key, and a hash of the record → account/person assignment —
and nothing that changes from run to run (timestamps, timings). When a change in results is
intended, regenerate them with ``make golden`` and commit the diff with the change.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from abm.evaluate import evaluate

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("ABM_UPDATE_GOLDEN") == "1"
_HOW = "results changed: if deliberate, run `make golden` and commit tests/golden/ with the change"


def _tsv(df: pl.DataFrame) -> str:
    """Sorted rows, lists joined by '|', nulls empty: one line per row, stable across runs."""
    flat = df.with_columns(pl.col(c).list.sort().list.join("|") for c, t in df.schema.items()
                           if isinstance(t, pl.List))
    flat = flat.select(pl.all().cast(pl.String).fill_null("")).sort(pl.all())
    lines = ["\t".join(flat.columns)] + ["\t".join(row) for row in flat.iter_rows()]
    return "\n".join(lines) + "\n"


def _assignment_hash(records: pl.DataFrame) -> str:
    rows = records.select("record_key", "account_id", "person_id").sort("record_key")
    return hashlib.sha256(_tsv(rows).encode("utf-8")).hexdigest()


def _counts(df: pl.DataFrame, column: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in df.group_by(column).len().sort(column).iter_rows()}


def summary(out: Path, truth: Path) -> dict[str, Any]:
    """The run's stable summary: counts, accuracy on the demo truth, the assignment's hash."""
    tables = {name: pl.read_parquet(out / f"{name}.parquet") for name in
              ("records", "accounts", "persons", "touches", "committee_edges", "collisions", "key_person_gaps",
               "quarantine")}
    records = tables["records"]
    return {
        "rows": {name: df.height for name, df in tables.items()},
        "records_by_kind": _counts(records, "kind"),
        "records_without_account": records.filter(pl.col("account_id").is_null()).height,
        "collisions_by_level": _counts(tables["collisions"], "level"),
        "collisions_by_severity": _counts(tables["collisions"], "severity"),
        "gaps_by_type": _counts(tables["key_person_gaps"], "gap_type"),
        "edges_by_relation": _counts(tables["committee_edges"], "relation"),
        "assignment_sha256": _assignment_hash(records),
        "evaluation": evaluate(out, truth),
    }


def golden_files(out: Path, truth: Path) -> dict[str, str]:
    collisions = pl.read_parquet(out / "collisions.parquet").select(
        "level", "account_id", "counterpart_department", "person_id", "severity", "internal_departments",
        "window_start", "window_end", "evidence")
    gaps = pl.read_parquet(out / "key_person_gaps.parquet").select(
        "gap_type", "account_id", "counterpart_department", "person_id", "evidence")
    return {
        "demo_summary.json": json.dumps(summary(out, truth), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        "demo_collisions.tsv": _tsv(collisions),
        "demo_gaps.tsv": _tsv(gaps),
    }


@pytest.fixture(scope="module")
def produced(demo_run: Path, demo_dir: Path) -> dict[str, str]:
    files = golden_files(demo_run, demo_dir / "truth")
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        for name, text in files.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    return files


@pytest.mark.parametrize("name", ["demo_summary.json", "demo_collisions.tsv", "demo_gaps.tsv"])
def test_demo_outputs_match_golden(produced: dict[str, str], name: str) -> None:
    path = GOLDEN / name
    assert path.exists(), f"{path} is missing: run `make golden`"
    assert produced[name] == path.read_text(encoding="utf-8"), _HOW
