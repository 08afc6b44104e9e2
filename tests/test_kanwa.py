"""abm.normalize.kanwa: pykakasi's kanwa table decoded per first character gives the stock table."""

from __future__ import annotations

import functools
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize import kanwa


@functools.lru_cache(maxsize=1)
def _stock() -> tuple[Path, dict[int, Any]]:
    from pykakasi.properties import Configurations

    source = Path(Configurations.dictpath(Configurations.jisyo_kanwa))
    with open(source, "rb") as f:
        return source, pickle.load(f)


def test_every_key_of_pykakasis_table_decodes_to_the_stock_words() -> None:
    _, table = _stock()
    index = kanwa.KanwaIndex(kanwa.encode(table))
    assert len(index) == len(table)
    for key, words in table.items():
        assert index.get(key) == words
        assert index.get(key) is index.get(key)  # decoded once
    assert index.get(0x41) is None and index.get(0x41, "x") == "x"  # 'A' starts no kanwa word


WORDS = st.dictionaries(st.text(min_size=1, max_size=4), st.lists(st.tuples(
    st.text(max_size=6), st.one_of(st.none(), st.lists(st.text(max_size=2), max_size=3)))), max_size=5)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 0x10FFFF), WORDS, max_size=8), st.integers(0, 0x10FFFF))
def test_round_trip_on_arbitrary_tables(table: dict[int, Any], probe: int) -> None:
    index = kanwa.KanwaIndex(kanwa.encode(table))
    assert {k: index.get(k) for k in table} == table
    assert index.get(probe, "missing") == table.get(probe, "missing")


@pytest.mark.parametrize("damage", [
    lambda b: b[:-1],                   # truncated
    lambda b: b"xyz" + b[3:],           # another format
    lambda b: b[:len(kanwa.FORMAT) + 3],  # cut inside the header
    lambda b: b"",
])
def test_a_damaged_file_is_refused(damage: Any) -> None:
    data = kanwa.encode({0x5C71: {"山": [("やま", None)]}, 0x7530: {"田": [("た", None)]}})
    with pytest.raises((ValueError, EOFError, TypeError)):
        kanwa.KanwaIndex(damage(data))


def test_load_table_writes_then_reads_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, table = _stock()
    monkeypatch.setenv("ABM_CACHE_DIR", str(tmp_path / "cache"))
    first = kanwa.load_table(source)
    assert isinstance(first, dict) and first == table          # the run that writes it loads the stock way
    second = kanwa.load_table(source)
    assert isinstance(second, kanwa.KanwaIndex)
    assert all(second.get(k) == table[k] for k in (0x5C71, 0x65E5, 0x5927))  # 山 日 大
    cached = kanwa.cache_file(source)
    cached.write_bytes(cached.read_bytes()[:-10])               # damaged: stock loading, file rewritten
    assert isinstance(kanwa.load_table(source), dict)
    assert isinstance(kanwa.load_table(source), kanwa.KanwaIndex)


def test_no_usable_cache_directory_means_stock_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, table = _stock()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ABM_CACHE_DIR", str(blocker / "cache"))  # cannot be created under a file
    assert kanwa.load_table(source) == table
    assert not list(tmp_path.glob("**/.kanwa-*"))                # no temporary file left behind
