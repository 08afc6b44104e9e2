"""Bulk MA activities (abm.activities): a Parquet activity file read in chunks into DuckDB gives the
same outputs as the ordinary path, and loses no row (bad ids quarantined with file, row and reason)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from abm.activities import bulk
from abm.pipeline import run
from abm.settings import Settings

TABLES = ("records", "accounts", "persons", "touches", "committee_edges", "collisions", "key_person_gaps",
          "quarantine", "id_history", "flag_history", "overrides", "crm_duplicates", "data_quality")


def _world(small_world: Path, target: Path) -> Path:
    """The small world with its activities as two Parquet files, plus bad rows: a blank id, an id
    repeated in both files (one copy differs), a date that is no date."""
    shutil.copytree(small_world, target)
    acts = pl.read_csv(target / "ma_activities.csv", infer_schema=False)
    (target / "ma_activities.csv").unlink()
    first, second = acts.head(acts.height // 2), acts.tail(acts.height - acts.height // 2)
    broken = second.head(3).with_columns(
        pl.Series("activity_id", [None, first["activity_id"][0], first["activity_id"][1]]),
        pl.Series("activity_on", [second["activity_on"][0], first["activity_on"][0], "not a date"]))
    first.write_parquet(target / "ma_activities_a.parquet")
    pl.concat([second, broken]).write_parquet(target / "ma_activities_b.parquet")
    return target


def _run(world: Path, out: Path, threshold: int, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("ABM_BULK_ACTIVITY_ROWS", str(threshold))
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 7)  # many chunks, ids shared across them
    run(Settings(input_dir=world, out_dir=out, as_of=None))
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


def test_bulk_path_gives_the_same_outputs(small_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(small_world, tmp_path / "in")
    plain = _run(world, tmp_path / "plain", 10**12, monkeypatch)
    bulked = _run(world, tmp_path / "bulk", 0, monkeypatch)
    assert "activities" in bulked["timings_s"] and "activities" not in plain["timings_s"]
    for name in TABLES:
        a = pl.read_parquet(tmp_path / "plain" / f"{name}.parquet").drop("run_at", strict=False)
        b = pl.read_parquet(tmp_path / "bulk" / f"{name}.parquet").drop("run_at", strict=False)
        assert_frame_equal(a, b, check_dtypes=True), name
        ca = pl.read_csv(tmp_path / "plain" / "csv" / f"{name}.csv", infer_schema=False).drop("run_at", strict=False)
        cb = pl.read_csv(tmp_path / "bulk" / "csv" / f"{name}.csv", infer_schema=False).drop("run_at", strict=False)
        assert_frame_equal(ca, cb), name
    assert plain["counts"] == bulked["counts"]
    for view in ("records", "touches", "v_account_summary"):  # the database copy, and a view over it
        frames = []
        for side in ("plain", "bulk"):
            con = duckdb.connect(str(tmp_path / side / "abm.duckdb"), read_only=True)
            frames.append(con.sql(f"SELECT * FROM {view}").pl().sort(pl.all(), nulls_last=True))
            con.close()
        assert_frame_equal(*frames), view
    assert plain["files"] == bulked["files"]
    reasons = pl.read_parquet(tmp_path / "bulk" / "quarantine.parquet").get_column("reason_code").to_list()
    assert sorted(reasons) == ["duplicate_id", "duplicate_id", "missing_id"]
    issues = {f["path"]: f.get("field_issues", {}) for f in bulked["files"]}
    assert issues["ma_activities_b.parquet"].get("bad_date:activity_on") == 1
    assert not (tmp_path / ".bulk.activities").exists()  # the work directory is gone
    again = _run(world, tmp_path / "bulk", 0, monkeypatch)  # a second night: history, vanished-kind check
    assert again["counts"]["id_history"] == 0 and again["counts"]["records"] == plain["counts"]["records"]


@pytest.mark.parametrize(("rows", "threshold", "bulk_path"), [(5, 0, True), (5, 5, True), (5, 6, False)])
def test_threshold(tmp_path: Path, rows: int, threshold: int, bulk_path: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from abm.rules import load_rules

    monkeypatch.setenv("ABM_BULK_ACTIVITY_ROWS", str(threshold))
    path = tmp_path / "ma_activities_x.parquet"
    pl.DataFrame({"activity_id": [str(i) for i in range(rows)], "lead_id": ["L"] * rows,
                  "activity_on": ["2025-01-01"] * rows}).write_parquet(path)
    assert (bulk.claim(path, None, path.name, None, load_rules(None)) is not None) is bulk_path
    assert bulk.claim(path, None, path.name, b"x", load_rules(None)) is None  # inside an archive: ordinary


def test_bad_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    from abm.errors import InputError

    monkeypatch.setenv("ABM_BULK_ACTIVITY_ROWS", "many")
    with pytest.raises(InputError):
        bulk.bulk_threshold()
