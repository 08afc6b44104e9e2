"""The incremental stores are read ahead in threads (``abm.store_read``): what ``take`` hands over is
what reading the file then gives, a damaged file fails where and as a direct read fails, and the row
and comparison stores read ahead from ``open`` serve the night as before."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from abm.linkage.engine import link
from abm.linkage.reuse import PairStore
from abm.normalize.rows import RowStore
from abm.store_read import StoreReads, read_store
from tests.test_incremental import BASE, SPEC

TABLE = pl.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"]})


def _write(path: Path, meta: dict[str, str] | None = None) -> None:
    TABLE.write_parquet(path, metadata=meta or {"abm_store_format": "1"})


@pytest.mark.parametrize("ahead", [True, False])
def test_take_hands_over_the_files_metadata_and_table(tmp_path, ahead):
    path = tmp_path / "s.parquet"
    _write(path, {"abm_store_format": "1", "abm_version": "v"})
    reads = StoreReads()
    if ahead:
        reads.start([path, tmp_path / "missing.parquet"])   # a missing file is not read
    found = reads.take(path)
    assert found.meta["abm_version"] == "v" and found.table().equals(TABLE)
    assert found.meta == read_store(path).meta


@pytest.mark.parametrize("damage", [
    lambda good: b"not parquet at all",
    lambda good: b"PAR1 not a parquet file",
    lambda good: good[:-12],                 # a truncated file: its footer is gone
])
def test_a_damaged_file_fails_as_a_direct_read_does(tmp_path, damage):
    _write(tmp_path / "good.parquet")
    damage = damage((tmp_path / "good.parquet").read_bytes())
    path = tmp_path / "s.parquet"
    path.write_bytes(damage)
    with pytest.raises(Exception) as direct:
        pl.read_parquet_metadata(path)
    reads = StoreReads()
    reads.start([path])
    with pytest.raises(type(direct.value)):
        reads.take(path)


def test_an_unreadable_table_is_raised_where_the_table_is_used(tmp_path, monkeypatch):
    path = tmp_path / "s.parquet"
    _write(path)

    def broken(*args: object, **kwargs: object) -> pl.DataFrame:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(pl, "read_parquet", broken)
    found = StoreReads().take(path)   # the metadata still reads: a refusal by metadata comes first
    assert found.meta["abm_store_format"] == "1"
    with pytest.raises(OSError, match="Input/output"):
        found.table()


def test_the_comparison_stores_read_ahead_serve_the_next_night(tmp_path):
    for night in range(2):
        store = PairStore(tmp_path)
        store.open("fp")
        assert sorted(p.name for p in store.reads._reads) == ([] if night == 0 else
                                                               ["guards-toy.parquet", "pairs-toy.parquet"])
        link(BASE, SPEC, reuse=store.for_spec(SPEC))
        summary = store.summary()
        assert not store.reads._reads or night == 0   # both taken by the night that used them
        store.commit()
    assert summary["mode"] == "incremental" and summary["pairs_compared"] == 0 and summary["guard_pairs_reused"] > 0


def test_full_reads_nothing_ahead(tmp_path):
    (tmp_path / "pairs-toy.parquet").write_bytes(b"x")
    (tmp_path / "rows.parquet").write_bytes(b"x")
    store, rows = PairStore(tmp_path, full=True), RowStore(tmp_path / "rows.parquet", read=False)
    store.open("fp")
    rows.open("fp")
    assert not store.reads._reads and not rows.reads._reads


@pytest.mark.parametrize(("rows", "repeats"), [
    ([], False),
    ([("account", 1, 2), ("contact", 3, 4)], False),
    ([("account", 1, 2), ("contact", 1, 2)], False),   # one hash, two kinds: two stored records
    ([("account", 1, 2), ("account", 1, 3)], False),   # first halves repeat, hashes do not
    ([("account", 1, 2), ("contact", 5, 6), ("account", 1, 2)], True),
])
def test_the_row_stores_repeat_check_equals_is_duplicated(rows, repeats):
    from abm.normalize.rows import HASH, _repeats
    table = pl.DataFrame(rows, schema={"kind": pl.Utf8, HASH[0]: pl.UInt64, HASH[1]: pl.UInt64}, orient="row")
    assert _repeats(table) == repeats == bool(table.is_duplicated().any())
