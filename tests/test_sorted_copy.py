"""The bulk export: its sorted copy in ranges writes what one ORDER BY writes; its CSV formula check."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.activities import sorted_copy
from abm.activities.sorted_copy import copy_sorted, memory_bytes, rows_per_range

ORDER = "t.k NULLS LAST, t.n"
KEYS = st.one_of(st.none(), st.sampled_from(["a", "b", "b'", "ｂ", "株式会社", "=1+2", "", "z" * 40]),
                 st.text(max_size=6))


def _sorted(tmp: Path, rows: list[tuple[str | None, int]], per_range: str, name: str) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema={"k": pl.String, "n": pl.Int64}, orient="row")
    src = tmp / f"{name}.src.parquet"
    frame.write_parquet(src)
    con = duckdb.connect()
    os.environ["ABM_BULK_SORT_ROWS"] = per_range
    try:
        out = tmp / f"{name}.parquet"
        copy_sorted(con, f"SELECT * FROM read_parquet('{src}')", "t.k", ORDER, out, "1GB")
    finally:
        del os.environ["ABM_BULK_SORT_ROWS"]
    return pl.read_parquet(out)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(KEYS, min_size=0, max_size=60))
def test_ranges_write_what_one_sort_writes(tmp_path: Path, keys: list[str | None]) -> None:
    rows = [(k, i) for i, k in enumerate(keys)]
    one = _sorted(tmp_path, rows, "1000000", "one")
    many = _sorted(tmp_path, rows, "3", "many")
    assert many.equals(one)
    assert not list(tmp_path.glob(".*part*"))  # the part files are gone


@pytest.mark.parametrize(("limit", "expected"), [
    ("1GB", 10**9), ("250MB", 250 * 10**6), ("2GiB", 2 * 2**30), ("512 MiB", 512 * 2**20), ("100", 100),
    ("lots", None), ("1.5GB", 1_500_000_000),
])
def test_memory_limit_wording(limit: str, expected: int | None) -> None:
    assert memory_bytes(limit) == expected


def test_rows_per_range_follows_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ABM_BULK_SORT_ROWS", raising=False)
    assert rows_per_range("1GB") == 1_000_000
    assert rows_per_range("1MB") == 50_000          # a floor: ranges are never tiny
    monkeypatch.setenv("ABM_BULK_SORT_ROWS", "1234")
    assert rows_per_range("1GB") == 1234


def test_out_of_memory_starts_again_with_more_ranges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src.parquet"
    pl.DataFrame({"k": [str(i % 7) for i in range(100)], "n": range(100)}).write_parquet(src)
    tried: list[int] = []
    real = sorted_copy._copy

    def flaky(con, source, lead, order, target, ranges):  # type: ignore[no-untyped-def]
        tried.append(ranges)
        if len(tried) == 1:
            raise duckdb.OutOfMemoryException("Out of Memory Error: test")
        return real(con, source, lead, order, target, ranges)

    monkeypatch.setattr(sorted_copy, "_copy", flaky)
    monkeypatch.setenv("ABM_BULK_SORT_ROWS", "50")
    out = tmp_path / "out.parquet"
    copy_sorted(duckdb.connect(), f"SELECT * FROM read_parquet('{src}')", "t.k", ORDER, out, "1GB")
    assert tried == [2, 8]
    assert pl.read_parquet(out).get_column("k").to_list() == sorted(str(i % 7) for i in range(100))


@pytest.mark.parametrize(("cell", "risky"), [("=1+2", True), ("＝1", True), ("abc", False), ("ab", False),
                                            ("xyz", True), ("", False), (None, None)])
def test_bulk_csv_formula_check_takes_every_prefix(monkeypatch: pytest.MonkeyPatch, cell: str | None,
                                                   risky: bool | None) -> None:
    """The bulk CSV's SQL formula check covers a longer prefix too, as abm.export's polars check does."""
    from abm.activities import resolved

    monkeypatch.setattr(resolved, "FORMULA_PREFIXES", ("=", "＝", "xy"))
    sql = f"SELECT {resolved._formula_start('c')} FROM (SELECT ?::VARCHAR AS c) t"
    assert duckdb.connect().execute(sql, [cell]).fetchone()[0] is risky  # type: ignore[index]
