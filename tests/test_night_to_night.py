"""Two nights into one OUT_DIR: flag status, first_seen_on, flag_history, runs, BI views, report.xlsx."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from abm.bi import BI_OBJECTS
from abm.detect.flags import track_flags, with_flag_ids
from abm.pipeline import RunResult, run
from abm.settings import Settings


@pytest.fixture(scope="module")
def two_nights(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult, RunResult]:
    """Night 1 without the 2026 cards export, night 2 with it (records added in between), one OUT_DIR."""
    base = tmp_path_factory.mktemp("nights")
    night1 = base / "night1"
    shutil.copytree(small_world, night1, ignore=shutil.ignore_patterns("truth", "cards_2026*"))
    assert len(list(night1.iterdir())) < len(list(small_world.iterdir()))
    out = base / "out"
    first = run(Settings(input_dir=night1, out_dir=out))
    second = run(Settings(input_dir=small_world, out_dir=out, as_of=first.as_of + timedelta(days=1)))
    return out, first, second


def test_second_night_has_new_and_ongoing_collisions_with_first_seen_on(two_nights):
    out, first, second = two_nights
    col = pl.read_parquet(out / "collisions.parquet")
    assert set(col["status"]) == {"new", "ongoing"}
    assert col["first_seen_on"].null_count() == 0 and col["flag_id"].null_count() == 0
    assert col["flag_id"].n_unique() == col.height
    ongoing = col.filter(pl.col("status") == "ongoing")
    new = col.filter(pl.col("status") == "new")
    assert set(ongoing["first_seen_on"]) <= {first.as_of}
    assert set(new["first_seen_on"]) == {second.as_of}
    # owner names flow from cards / CRM: nearly every collision names our people
    assert (col["internal_owners"].list.len() > 0).mean() >= 0.9
    gaps = pl.read_parquet(out / "key_person_gaps.parquet")
    assert gaps["status"].is_in(["new", "ongoing"]).all() and gaps["first_seen_on"].null_count() == 0


def test_flag_history_and_runs_hold_both_nights(two_nights):
    out, first, second = two_nights
    runs = pl.read_parquet(out / "runs.parquet")
    assert runs.height == 2
    assert runs.schema["run_at"] == pl.Datetime("us") and runs.schema["as_of"] == pl.Date
    assert runs["as_of"].to_list() == [first.as_of, second.as_of]
    assert runs["run_at"][0] < runs["run_at"][1]
    history = pl.read_parquet(out / "flag_history.parquet")
    assert set(history["run_at"]) == set(runs["run_at"])
    assert set(history.filter(pl.col("run_at") == runs["run_at"][0])["status"]) == {"new"}
    assert {"new", "ongoing"} <= set(history.filter(pl.col("run_at") == runs["run_at"][1])["status"])
    # every flag of the first night is ongoing or resolved on the second
    first_ids = set(history.filter(pl.col("run_at") == runs["run_at"][0])["flag_id"])
    second = history.filter(pl.col("run_at") == runs["run_at"][1])
    followed = set(second["flag_id"]) | set(second["previous_flag_id"].drop_nulls())
    assert first_ids <= followed
    ids = pl.read_parquet(out / "id_history.parquet")
    assert ids.schema["run_at"] == pl.Datetime("us")


def test_duckdb_has_typed_tables_views_and_bridges(two_nights):
    out, _, second = two_nights
    con = duckdb.connect(str(out / "abm.duckdb"), read_only=True)
    try:
        kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        for name in BI_OBJECTS:
            assert name in kinds, name
        views = [n for n, k in kinds.items() if k == "VIEW"]
        assert len(views) >= 3
        for view in ("v_collisions", "v_gaps", "v_account_summary", "v_internal_department_collisions"):
            assert con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0] > 0, view
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'runs'").fetchall())
        assert types["run_at"] == "TIMESTAMP" and types["as_of"] == "DATE"
        assert con.execute("SELECT as_of FROM run_info").fetchall() == [(second.as_of,)]
        n_col = con.execute("SELECT count(*) FROM collisions").fetchall()[0][0]
        assert con.execute("SELECT count(*) FROM v_collisions WHERE account_name IS NOT NULL").fetchall()[0][0] == n_col
        bridged = con.execute("SELECT sum(len(internal_departments)) FROM collisions").fetchall()[0][0]
        assert con.execute("SELECT count(*) FROM collision_internal_departments").fetchall()[0][0] == bridged
        evidence = con.execute("SELECT sum(len(evidence)) FROM key_person_gaps").fetchall()[0][0] or 0
        assert con.execute("SELECT count(*) FROM gap_evidence").fetchall()[0][0] == evidence
        summary = con.execute("SELECT sum(collisions), sum(gaps) FROM v_account_summary").fetchall()[0]
        assert summary[0] == n_col
    finally:
        con.close()


def test_report_xlsx_keeps_ids_and_corporate_numbers_as_text(two_nights):
    out, _, _ = two_nights
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    assert book.sheetnames[:3] == ["collisions", "gaps", "accounts"]
    sheet = book["accounts"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    numbers = [r[header.index("corporate_number")] for r in rows[1:] if r[header.index("corporate_number")]]
    assert numbers and all(isinstance(n, str) and len(n) == 13 for n in numbers)
    assert all(isinstance(r[header.index("account_id")], str) for r in rows[1:])
    col_rows = list(book["collisions"].iter_rows(values_only=True))
    assert "account_name" in col_rows[0] and "internal_owners" in col_rows[0]
    assert len(col_rows) - 1 == pl.read_parquet(out / "collisions.parquet").height


# --- units -------------------------------------------------------------------------------------

def _collisions(rows: list[tuple[str, str, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"level": pl.String, "account_id": pl.String,
                                      "counterpart_department": pl.String, "person_id": pl.String}, orient="row")


@pytest.mark.parametrize(("a", "b", "same"), [
    (("person", "A1", "営業部", "P1"), ("person", "A1", "経理部", "P1"), True),        # person moved department
    (("person", "A1", "営業部", "P1"), ("person", "A1", "営業部", "P2"), False),
    (("department", "A1", "営業部", None), ("department", "A1", "経理部", None), False),
    (("account", "A1", None, None), ("account", "A2", None, None), False),
    (("account", "A1", None, None), ("department", "A1", None, None), False),
    (("person", "A1", None, "P1"), ("person", "A2", None, "P1"), False),
])
def test_flag_id_depends_on_what_the_flag_is_about(a, b, same):
    ids = with_flag_ids(_collisions([a, b]))["flag_id"].to_list()
    assert (ids[0] == ids[1]) is same
    assert all(i.startswith("F") and len(i) == 17 for i in ids)


def test_flag_id_is_independent_of_row_order():
    rows = [("person", "A1", "営業部", "P1"), ("department", "A1", "営業部", None), ("account", "A2", None, None)]
    forward = dict(zip(map(str, rows), with_flag_ids(_collisions(rows))["flag_id"], strict=True))
    backward = dict(zip(map(str, rows[::-1]), with_flag_ids(_collisions(rows[::-1]))["flag_id"], strict=True))
    assert forward == backward


def _flags(rows: list[tuple[str, str, str | None, str | None]]) -> pl.DataFrame:
    return _collisions(rows).with_columns(pl.lit("high").alias("severity"))


def _gaps() -> pl.DataFrame:
    return pl.DataFrame(schema={"account_id": pl.String, "counterpart_department": pl.String,
                                "gap_type": pl.String, "person_id": pl.String})


def _write(out: Path, collisions: pl.DataFrame, stamp: datetime, as_of: date) -> None:
    flags = track_flags(out, collisions, _gaps(), as_of, stamp)
    out.mkdir(exist_ok=True)
    flags.collisions.write_parquet(out / "collisions.parquet")
    flags.gaps.write_parquet(out / "key_person_gaps.parquet")
    flags.history.write_parquet(out / "flag_history.parquet")


def test_resolved_flags_and_merged_accounts(tmp_path: Path):
    out = tmp_path / "out"
    d1, d2 = date(2025, 6, 1), date(2025, 6, 2)
    t1, t2 = datetime(2025, 6, 1, 3), datetime(2025, 6, 2, 3)
    _write(out, _flags([("person", "A1", "営業部", "P1"), ("account", "A2", None, None),
                        ("account", "A3", None, None)]), t1, d1)
    merged = pl.DataFrame({"id": ["A2"], "kind": ["account"], "change": ["merged_into"], "new_id": ["A9"],
                           "run_at": [t2]})
    flags = track_flags(out, _flags([("person", "A1", "経理部", "P1"), ("account", "A9", None, None),
                                     ("account", "A4", None, None)]), _gaps(), d2, t2, merged)
    status = dict(zip(flags.collisions["account_id"], flags.collisions["status"], strict=True))
    first = dict(zip(flags.collisions["account_id"], flags.collisions["first_seen_on"], strict=True))
    assert status == {"A1": "ongoing", "A9": "ongoing", "A4": "new"}
    assert first == {"A1": d1, "A9": d1, "A4": d2}
    this_run = flags.history.filter(pl.col("run_at") == t2)
    assert this_run.filter(pl.col("status") == "resolved")["account_id"].to_list() == ["A3"]
    assert flags.counts == {"new": 1, "ongoing": 2, "resolved": 1}
    assert this_run.filter(pl.col("account_id") == "A9")["previous_flag_id"].null_count() == 0
    assert flags.history.height == 3 + 4


def test_outputs_of_an_older_version_are_read(tmp_path: Path):
    """A previous OUT_DIR written before v1.2: collisions without flag_id / first_seen_on, id_history
    with run_at as ISO text."""
    from abm.history import id_history

    prev = tmp_path / "out"
    prev.mkdir()
    _collisions([("account", "A1", None, None)]).with_columns(
        pl.lit(date(2025, 5, 1)).alias("window_end"), pl.lit("low").alias("severity")
    ).write_parquet(prev / "collisions.parquet")
    pl.DataFrame({"record_key": ["cards:1"], "account_id": ["A1"], "person_id": ["P1"]}).write_parquet(
        prev / "records.parquet")
    pl.DataFrame({"id": ["A0"], "kind": ["account"], "change": ["retired"], "new_id": [None],
                  "run_at": ["2025-05-01T03:00:00+00:00"]}).write_parquet(prev / "id_history.parquet")
    stamp = datetime(2025, 6, 1, 3)
    flags = track_flags(prev, _flags([("account", "A1", None, None)]), _gaps(), date(2025, 6, 1), stamp)
    assert flags.collisions["status"].to_list() == ["ongoing"]
    assert flags.collisions["first_seen_on"].to_list() == [date(2025, 5, 1)]
    records = pl.DataFrame({"record_key": ["cards:1"], "account_id": ["A1"], "person_id": ["P1"]})
    history = id_history(prev, records, stamp)
    assert history.schema["run_at"] == pl.Datetime("us")
    assert history["run_at"].to_list() == [datetime(2025, 5, 1, 3)]
