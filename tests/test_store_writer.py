"""The comparison and guard stores are built and written in a thread (``abm.store_write``):
the files equal those written at commit, a failure in the thread keeps the previous store and is said,
and a discarded run leaves nothing behind; ``unit_index`` / ``has_repeats`` equal the two-column
``unique`` / ``is_duplicated`` they shortcut."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.linkage.engine import link
from abm.linkage.reuse import PairStore
from abm.linkage.reuse_guards import HASH, unit_index
from abm.store_write import Background, has_repeats
from tests.test_incremental import BASE, SPEC


def _reference(hashes: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """What the stores did before: a two-column unique, then a join when some rows repeat."""
    units = hashes.unique(maintain_order=True)
    index = hashes.join(units.with_row_index("__u"), on=HASH, how="left",
                        maintain_order="left").get_column("__u").to_numpy().astype(np.uint64)
    return units, index


def _hashes(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={HASH[0]: pl.UInt64, HASH[1]: pl.UInt64}, orient="row")


@pytest.mark.parametrize("pairs", [
    [],                                   # no unit
    [(1, 2), (3, 4), (5, 6)],             # distinct (the usual case)
    [(1, 2), (1, 3), (5, 6)],             # first halves repeat, rows do not
    [(1, 2), (3, 4), (1, 2), (7, 8)],     # a pinned duplicate: two identical rows, one unit
    [(9, 9), (9, 9), (9, 9)],             # every row the same
])
def test_unit_index_equals_unique_and_join(pairs):
    hashes = _hashes(pairs)
    units, index = unit_index(hashes)
    want_units, want_index = _reference(hashes)
    assert units.equals(want_units) and np.array_equal(index, want_index) and index.dtype == np.uint64
    assert has_repeats(hashes, HASH[0]) == bool(hashes.is_duplicated().any())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=12))
def test_property_unit_index_equals_unique_and_join(pairs):
    test_unit_index_equals_unique_and_join(pairs)


def _night(directory: Path, behind: bool) -> PairStore:
    store = PairStore(directory)
    store.open("fp")
    link(BASE, SPEC, reuse=store.for_spec(SPEC))
    if behind:
        store.write_behind()
    return store


@pytest.mark.parametrize("name", ["pairs-toy.parquet", "guards-toy.parquet"])
def test_a_store_written_behind_equals_one_written_at_commit(tmp_path, name):
    for behind in (False, True):
        _night(tmp_path / str(behind), behind).commit()
    assert pl.read_parquet(tmp_path / "True" / name).equals(pl.read_parquet(tmp_path / "False" / name))
    assert not list(tmp_path.rglob("*.tmp-*"))
    store = _night(tmp_path / "True", behind=True)   # and the next night reuses what the thread wrote
    assert store.summary()["mode"] == "incremental" and store.summary()["pairs_compared"] == 0


@pytest.mark.parametrize("name", ["pairs-toy.parquet", "guards-toy.parquet"])
def test_a_failed_write_in_the_thread_drops_the_store_and_says_so(tmp_path, monkeypatch, caplog, name):
    _night(tmp_path, behind=True).commit()
    real = pl.DataFrame.write_parquet

    def failing(self: pl.DataFrame, file: Path, *args: object, **kwargs: object) -> None:
        if Path(file).name.startswith(name):
            raise ValueError("not an OSError")   # escaped the thread before: the store was silently lost
        real(self, file, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", failing)
    with caplog.at_level(logging.WARNING, logger="abm"):  # abm's own level may be ERROR (`-q`)
        _night(tmp_path, behind=True).commit()
    # no half-written file published; as for a failed write at commit, the previous file goes too
    # (PairStore.commit keeps only what this run wrote): the next run compares every pair
    assert not (tmp_path / name).exists() and len(list(tmp_path.glob("*.parquet"))) == 1
    assert "not stored (ValueError)" in caplog.text and not list(tmp_path.glob("*.tmp-*"))


def test_a_discarded_run_waits_for_its_threads_and_leaves_the_previous_stores(tmp_path):
    _night(tmp_path, behind=True).commit()
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.parquet")}
    _night(tmp_path, behind=True).discard()
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.parquet")} == before
    assert not list(tmp_path.glob("*.tmp-*"))


def test_background_says_a_failure_once():
    writer = Background()
    writer.start(lambda: (_ for _ in ()).throw(OSError(28, "No space left on device")), "t")
    assert writer.wait() == "No space left on device"
    assert writer.wait() is None
