"""Incremental normalisation (abm.normalize.rows): only new and changed rows are normalised, and the
table equals a full normalisation row for row, in the same order, whatever the night changed."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.load import load_inputs
from abm.normalize.records import normalize_records
from abm.normalize.rows import FILE, RowStore
from abm.rules import load_rules
from fixtures.generate import generate_world

RULES = load_rules(None)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    target = tmp_path_factory.mktemp("world_rows") / "in"
    generate_world(target, companies=6, seed=31)
    return dict(load_inputs(target, RULES).tables)


def _night(directory: Path, tables: dict[str, pl.DataFrame], fingerprint: str = "fp", full: bool = False,
           ) -> tuple[pl.DataFrame, dict]:
    store = RowStore(directory / FILE, read=not full)
    store.open(fingerprint)
    out = store.normalize(tables, RULES)
    store.commit()
    return out, store.summary()


def test_an_unchanged_night_reuses_every_row_and_equals_a_full_normalisation(tmp_path, tables):
    first, s1 = _night(tmp_path, tables)
    assert (s1["mode"], s1["reason"], s1["rows_reused"]) == ("full", "no normalised rows from a previous run", 0)
    full = normalize_records(tables, RULES)
    assert first.equals(full)
    second, s2 = _night(tmp_path, tables)
    assert (s2["mode"], s2["rows_reused"], s2["rows_normalized"]) == ("incremental", full.height, 0)
    assert second.equals(full)


def test_a_moved_row_keeps_its_record_with_tonights_file_and_row_number(tmp_path, tables):
    _night(tmp_path, tables)
    cards = tables["cards"]
    moved = {**tables, "cards": pl.concat([cards.slice(1), cards.head(1)]).with_columns(
        pl.int_range(1, cards.height + 1, dtype=pl.Int64).alias("row_number"), pl.lit("other.csv").alias("source_file"))}
    out, s = _night(tmp_path, moved)
    assert s["rows_normalized"] == 0
    assert out.equals(normalize_records(moved, RULES))
    assert out.filter(pl.col("kind") == "cards").get_column("source_file").unique().to_list() == ["other.csv"]


@pytest.mark.parametrize(("change", "words"), [
    ("fingerprint", "rules changed"),
    ("version", "abm version changed"),
    ("full", "--full"),
    ("garbage", "unreadable"),
    ("missing", "no normalised rows"),
    ("columns", "unexpected columns"),
    ("duplicate", "inconsistent"),
    ("schema", "columns changed"),
])
def test_what_forces_a_full_normalisation_is_said_and_the_store_is_rewritten(tmp_path, monkeypatch, tables, change,
                                                                              words):
    _night(tmp_path, tables)
    path = tmp_path / FILE
    fingerprint, full = "fp", False
    if change == "fingerprint":
        fingerprint = "other"
    elif change == "version":
        monkeypatch.setattr("abm.normalize.rows.__version__", "99.0")
    elif change == "full":
        full = True
    elif change == "garbage":
        path.write_bytes(b"PAR1 not a parquet file")
    elif change == "missing":
        path.unlink()
    elif change == "columns":
        meta = pl.read_parquet_metadata(path)
        pl.read_parquet(path).rename({"email": "mail"}).write_parquet(path, metadata=meta)
    elif change == "duplicate":
        meta = pl.read_parquet_metadata(path)
        df = pl.read_parquet(path)
        pl.concat([df, df.head(1)]).write_parquet(path, metadata=meta)
    elif change == "schema":
        monkeypatch.setattr("abm.normalize.rows.STORE_FORMAT", "1")  # same format, another digest below
        monkeypatch.setattr("abm.normalize.rows.schema_digest", lambda: "another")
    out, s = _night(tmp_path, tables, fingerprint, full)
    assert s["mode"] == "full" and words in s["reason"] and s["rows_reused"] == 0
    assert out.equals(normalize_records(tables, RULES))
    _, again = _night(tmp_path, tables, fingerprint)   # the store it wrote serves the next night
    assert again["mode"] == "incremental" and again["rows_normalized"] == 0


def test_a_failed_run_keeps_the_previous_rows_and_no_store_is_kept_without_cache(tmp_path, tables):
    _night(tmp_path, tables)
    before = (tmp_path / FILE).read_bytes()
    store = RowStore(tmp_path / FILE)
    store.open("fp")
    store.normalize({k: v.head(2) for k, v in tables.items()}, RULES)
    store.discard()
    assert (tmp_path / FILE).read_bytes() == before and not list(tmp_path.glob("*.tmp-*"))
    off = RowStore(None)
    off.open("fp")
    assert off.normalize(tables, RULES).equals(normalize_records(tables, RULES))
    assert off.summary()["reason"].startswith("--no-cache")


EDITS = st.lists(st.tuples(st.sampled_from(["edit", "delete", "copy", "swap", "drop_kind"]),
                           st.sampled_from(["cards", "crm_accounts", "crm_contacts", "ma_leads", "crm_opportunities"]),
                           st.integers(0, 10_000), st.sampled_from(["株式会社テスト", "Yamada", "", "田中 太郎", "x@y.jp"])),
                 min_size=1, max_size=6)


def _apply(tables: dict[str, pl.DataFrame], edits: list[tuple[str, str, int, str]]) -> dict[str, pl.DataFrame]:
    out = dict(tables)
    for op, kind, i, value in edits:
        df = out.get(kind)
        if df is None or df.height == 0:
            continue
        i %= df.height
        text = [c for c in df.columns if df.schema[c] == pl.Utf8 and c not in ("source_file",)]
        if op == "edit":
            col = text[i % len(text)]
            df = df.with_columns(pl.when(pl.int_range(pl.len()) == i).then(pl.lit(value or None)).otherwise(pl.col(col))
                                 .alias(col))
        elif op == "delete":
            df = df.filter(pl.int_range(pl.len()) != i)
        elif op == "copy":
            df = pl.concat([df, df.slice(i, 1).with_columns(pl.lit(f"NEW{i}").alias(df.columns[0]))])
        elif op == "swap":
            df = pl.concat([df.slice(i), df.head(i)])
        else:
            out.pop(kind)
            continue
        out[kind] = df.with_columns(pl.int_range(1, df.height + 1, dtype=pl.Int64).alias("row_number"))
    return out


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nights=st.lists(EDITS, min_size=1, max_size=2))
def test_property_incremental_normalisation_equals_a_full_one(nights, tables):
    with tempfile.TemporaryDirectory() as tmp:
        current = tables
        _night(Path(tmp), current)
        for edits in nights:
            current = _apply(current, edits)
            out, summary = _night(Path(tmp), current)
            assert summary["mode"] == "incremental"
            assert summary["rows_reused"] + summary["rows_normalized"] == out.height
            assert out.equals(normalize_records(current, RULES))


@pytest.mark.parametrize(("error", "said"), [(OSError(28, "No space left on device"), "No space left on device"),
                                            (pl.exceptions.ComputeError("bad column"), "ComputeError")])
def test_a_store_that_cannot_be_written_is_said_and_the_previous_rows_stay(tmp_path, tables, monkeypatch, caplog,
                                                                           error, said):
    """The store is written by a thread during the run: its failure (any, not only an OS error) shows
    at commit, not as a crash or a half-written store."""
    # an earlier CLI test in the same worker may have set abm's logger to ERROR (`-q`): ask for warnings
    caplog.set_level(logging.WARNING, logger="abm")
    _night(tmp_path, tables)
    before = (tmp_path / FILE).read_bytes()

    def refuse(self, path, **kwargs):
        raise error

    monkeypatch.setattr(pl.DataFrame, "write_parquet", refuse)
    out, s = _night(tmp_path, {k: v.head(3) for k, v in tables.items()})
    assert s["rows_normalized"] == 0 and out.height == sum(min(3, v.height) for v in tables.values())
    assert f"rows not stored ({said})" in caplog.text
    assert (tmp_path / FILE).read_bytes() == before and not list(tmp_path.glob("*.tmp-*"))


def test_the_store_written_in_the_background_is_complete_at_commit(tmp_path, tables):
    store = RowStore(tmp_path / FILE)
    store.open("fp")
    out = store.normalize(tables, RULES)
    store.commit()
    assert not store._writer.busy and store.tmp is None
    assert pl.read_parquet_metadata(tmp_path / FILE)["rules_fingerprint"] == "fp"
    again, s = _night(tmp_path, tables)   # every row found in what the thread wrote
    assert (s["mode"], s["rows_normalized"]) == ("incremental", 0) and again.equals(out)
