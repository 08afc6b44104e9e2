"""abm.normalize.name_readings: the parsed readings table cached as Parquet gives the table the .xz holds."""

from __future__ import annotations

import io
import lzma
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize import name_readings

_frame = name_readings._frame.__wrapped__  # the lru_cache would answer repeated calls without reading


def _parsed(path: Path) -> pl.DataFrame:
    """The table as the stock .xz parse gives it (no cache involved)."""
    return pl.read_csv(lzma.decompress(path.read_bytes()), separator="\t", has_header=False, quote_char=None,
                       schema=name_readings.SCHEMA)


def _table_file(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "readings.tsv.xz"
    path.write_bytes(lzma.compress("".join(f"{p}\t{k}\t{r}\n" for p, k, r in rows).encode()))
    return path


def _other_parquet() -> bytes:
    out = io.BytesIO()
    pl.DataFrame({"x": [1]}).write_parquet(out)
    return out.getvalue()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ABM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "dictionaries"


def test_the_shipped_table_read_from_the_cache_equals_its_parse(cache: Path) -> None:
    want = _parsed(name_readings.TABLE)
    first = _frame(name_readings.TABLE)                  # parses the .xz and writes the cache
    written = name_readings.cache_file(name_readings.TABLE.read_bytes())
    assert written.parent == cache and written.exists()
    second = _frame(name_readings.TABLE)                 # reads the cache
    assert first.equals(want) and second.equals(want)


@pytest.mark.parametrize("damage", [
    lambda b: b[:-100],      # truncated
    lambda b: b"",           # empty
    lambda b: b"PAR1" * 10,  # not a Parquet file
    lambda b: _other_parquet(),  # a Parquet file of other columns
])
def test_a_damaged_cache_is_parsed_again_and_rewritten(tmp_path: Path, cache: Path,
                                                       damage: Callable[[bytes], bytes]) -> None:
    path = _table_file(tmp_path, [("f", "山田", "ヤマダ"), ("g", "健", "ケン タケシ")])
    _frame(path)
    target = name_readings.cache_file(path.read_bytes())
    target.write_bytes(damage(target.read_bytes()))
    assert _frame(path).equals(_parsed(path))
    assert pl.read_parquet(target).equals(_parsed(path))  # written anew


def test_no_usable_cache_directory_still_reads_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ABM_CACHE_DIR", str(blocker / "cache"))  # cannot be created under a file
    path = _table_file(tmp_path, [("f", "酒井", "サカイ")])
    assert _frame(path).equals(_parsed(path))
    assert _frame(path).equals(_parsed(path))


def test_a_missing_or_unreadable_table_is_empty(tmp_path: Path, cache: Path) -> None:
    bad = tmp_path / "bad.tsv.xz"
    bad.write_bytes(b"not xz")
    for path in (tmp_path / "missing.tsv.xz", bad):
        out = _frame(path)
        assert out.height == 0 and out.schema == pl.Schema(name_readings.SCHEMA)
    assert not cache.exists() or not any(cache.iterdir())  # nothing cached for a table not read


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\t\r\n"),
                min_size=1, max_size=6)


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["f", "g"]), _TEXT, _TEXT), min_size=1, max_size=20))
def test_any_table_round_trips_through_the_cache(tmp_path_factory: pytest.TempPathFactory,
                                                 rows: list[tuple[str, str, str]]) -> None:
    home = tmp_path_factory.mktemp("nr")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ABM_CACHE_DIR", str(home / "cache"))
        path = _table_file(home, rows)
        want = _parsed(path)
        assert _frame(path).equals(want)   # parsed, cached
        assert _frame(path).equals(want)   # from the cache


def test_tables_with_other_content_get_other_cache_files() -> None:
    assert name_readings.cache_file(b"a") != name_readings.cache_file(b"b")
    assert name_readings.cache_file(b"a") == name_readings.cache_file(b"a")
