"""resolve() gives the same resolution whether tonight's records arrive in one piece or in many
(a night's stored rows + new rows): it works on one contiguous copy, and the copy changes no value."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import abm.pipeline
from abm.pipeline import run
from abm.resolve import resolve
from abm.settings import Settings


def test_chunked_records_resolve_as_one_piece(small_world: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, tuple] = {}

    def capture(*args: object, **kwargs: object) -> object:
        seen["call"] = (args, kwargs)
        return resolve(*args, **kwargs)    # type: ignore[arg-type]

    monkeypatch.setattr(abm.pipeline, "resolve", capture)
    run(Settings(input_dir=small_world, out_dir=tmp_path / "out"))
    (records, *rest), kwargs = seen["call"]
    assert isinstance(records, pl.DataFrame)
    pieces = pl.concat([records.slice(i, 7) for i in range(0, records.height, 7)], rechunk=False)
    assert pieces.n_chunks() > 1
    whole = resolve(records.rechunk(), *rest, **kwargs)
    chunked = resolve(pieces, *rest, **kwargs)
    assert chunked.records.equals(whole.records)
    assert chunked.accounts.units.equals(whole.accounts.units)
    assert chunked.persons.units.equals(whole.persons.units)
    assert chunked.accounts.pairs.equals(whole.accounts.pairs)
    # the rows come back in record_key order (the input order's argsort, taken beside linkage):
    # what ``sort("record_key")`` gives, every row of the input once
    assert whole.records.equals(whole.records.sort("record_key"))
    assert whole.records.get_column("record_key").sort().equals(records.get_column("record_key").sort())
    assert whole.records.get_column("record_key").is_unique().all()
