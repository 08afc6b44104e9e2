"""``abm run`` above the in-memory pair limit: every spec whose candidate pairs exceed it is scored in
chunks (``abm.linkage.stream``), its comparison store skipped with the reason in ``run.json``, and
every output table equals the in-memory path's at the same limit."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import abm.linkage.engine as engine
import abm.linkage.stream as stream
from abm.errors import InputError
from abm.linkage.stream import LIMIT_ENV, in_memory_limit
from abm.pipeline import run
from abm.settings import Settings


def _run(world: Path, out: Path) -> dict:
    run(Settings(input_dir=world, out_dir=out))
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


def _tables(out: Path) -> dict[str, pl.DataFrame]:
    """Every Parquet output, without the run's timestamp (two runs, two times)."""
    tables = {p.relative_to(out).as_posix(): pl.read_parquet(p) for p in sorted(out.rglob("*.parquet"))}
    return {name: t.drop("run_at", strict=False) for name, t in tables.items()}


def test_streamed_run_equals_the_in_memory_run(small_world, tmp_path, monkeypatch):
    monkeypatch.setenv(LIMIT_ENV, "20")
    calls: list[str] = []
    original = stream.score_large

    def counted(prepared, candidates, spec, *args, **kwargs):
        calls.append(spec.name)
        return original(prepared, candidates, spec, *args, **{**kwargs, "chunk": 7})   # many chunks

    monkeypatch.setattr(engine, "score_large", counted)
    monkeypatch.setattr(engine, "streamable", lambda spec: False)
    in_memory = _run(small_world, tmp_path / "memory")
    assert not calls
    monkeypatch.setattr(engine, "streamable", stream.streamable)
    streamed = _run(small_world, tmp_path / "streamed")
    assert set(calls) == {"accounts", "persons"}

    a, b = _tables(tmp_path / "memory"), _tables(tmp_path / "streamed")
    assert a.keys() == b.keys() and a
    for name in a:
        assert a[name].equals(b[name]), name
    for spec in ("accounts", "persons"):
        part = streamed["incremental"]["by_spec"][spec]
        assert part["mode"] == "full" and "over the in-memory limit of 20" in part["reason"]
        assert part["pairs_compared"] == streamed["linkage"][spec]["candidate_pairs"] > 20
        assert in_memory["incremental"]["by_spec"][spec]["reason"] == "no stored comparisons from a previous run"
    assert streamed["incremental"]["mode"] == "full"
    # no store written for a streamed spec: the in-memory run wrote one, the streamed run none
    assert list((tmp_path / ".memory.cache").glob("pairs-*.parquet"))
    assert not list((tmp_path / ".streamed.cache").glob("pairs-*.parquet"))
    assert not list((tmp_path / ".streamed.cache").glob("guards-*.parquet"))


@pytest.mark.parametrize(("value", "expected"), [("", 5), ("0", 0), ("1_000", 1000), (" 42 ", 42), ("-3", 0)])
def test_in_memory_limit_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(LIMIT_ENV, value)
    assert in_memory_limit(5) == expected


def test_in_memory_limit_that_is_no_number_names_the_variable(monkeypatch):
    monkeypatch.setenv(LIMIT_ENV, "lots")
    with pytest.raises(InputError, match=LIMIT_ENV):
        in_memory_limit(5)


def test_a_system_link_blocking_found_holds_on_the_streamed_path(monkeypatch):
    """A stated link between two units a blocking rule pairs (same zone) but whose name and city
    differ: scored low, it still joins them when the pairs are streamed, as in memory."""
    from abm.linkage.engine import link
    from abm.linkage.spec import parse_spec
    from tests.test_system_links import LINKS, _toy_spec, _toy_units

    units = pl.concat([_toy_units(), pl.DataFrame([{"id": "u104", "name": "zz", "city": "c95", "ref": "u005",
                                                    "key": None, "zone": "x"}])])
    raw = _toy_spec(**LINKS)
    raw["blocking"] = [*raw["blocking"], {"name": "zone", "keys": ["zone"]}]
    raw["prior"] = 0.01
    spec = parse_spec(raw, "toy.yaml")
    whole = link(units, spec)
    monkeypatch.setenv(LIMIT_ENV, "10")
    streamed = link(units, spec)
    monkeypatch.setattr(engine, "streamable", lambda spec: False)
    in_memory = link(units, spec)
    pair = streamed.pairs.filter((pl.col("id_l") == "u005") & (pl.col("id_r") == "u104"))
    assert pair["rule"].to_list() == ["zone"] and pair["match_probability"][0] < 0.01
    for result in (whole, streamed, in_memory):
        cluster = dict(zip(result.units["id"], result.units["cluster"], strict=True))
        assert cluster["u104"] == cluster["u005"]
    assert streamed.units.equals(in_memory.units) and streamed.pairs.equals(in_memory.pairs)
