"""The per-distinct-value helper: once per value, same result with or without worker processes."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize import unique


@pytest.fixture
def parallel(monkeypatch):
    monkeypatch.setattr(unique, "PARALLEL_MIN", 1)
    monkeypatch.setattr(unique, "CHUNK", 3)
    monkeypatch.setenv("ABM_WORKERS", "2")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_apply_unique_same_with_and_without_workers(monkeypatch, workers):
    monkeypatch.setattr(unique, "PARALLEL_MIN", 1)
    monkeypatch.setattr(unique, "CHUNK", 2)
    monkeypatch.setenv("ABM_WORKERS", workers)
    suffix = "!"   # a closure: forked workers need no pickling
    df = pl.DataFrame({"a": ["x", "y", None, "x", "z", "w", "y"], "b": [1, 2, 3, 1, 5, 6, 2]})
    out = unique.apply_unique(df, ["a", "b"], lambda a, b: ((a or "") + suffix, b * 2), {"s": pl.Utf8, "d": pl.Int64})
    assert out.get_column("s").to_list() == ["x!", "y!", "!", "x!", "z!", "w!", "y!"]
    assert out.get_column("d").to_list() == [2, 4, 6, 2, 10, 12, 4]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=30))
def test_map_unique_equals_elementwise(values):
    import os

    os.environ["ABM_WORKERS"] = "2"
    old = unique.PARALLEL_MIN
    unique.PARALLEL_MIN = 1
    try:
        out = unique.map_unique(pl.Series("v", values, dtype=pl.Utf8), lambda v: v.upper() + "?", pl.Utf8, "null")
    finally:
        unique.PARALLEL_MIN = old
        del os.environ["ABM_WORKERS"]
    assert out.to_list() == [("null" if v is None else v.upper() + "?") for v in values]
    assert out.name == "v"


def test_workers_setting(monkeypatch):
    monkeypatch.setenv("ABM_WORKERS", "1")
    assert unique.workers() == 1
    monkeypatch.setenv("ABM_WORKERS", "junk")
    assert 1 <= unique.workers() <= 4


def test_map_values_runs_in_worker_processes(parallel):
    import os

    pids = set(unique.map_values(lambda _: os.getpid(), [(i,) for i in range(12)]))
    assert os.getpid() not in pids


def test_map_values_later_works_while_the_caller_does(parallel):
    """The workers start at the call and the caller carries on: its own work (here: writing to a
    file the workers watch for) runs while theirs does; the results come back in order."""
    import os
    import tempfile
    import time

    flag = os.path.join(tempfile.mkdtemp(), "caller-done")

    def work(i):
        for _ in range(500):   # wait (up to 5 s) for the caller's signal: proof both run at once
            if os.path.exists(flag):
                return i * 2, os.path.exists(flag)
            time.sleep(0.01)
        return i * 2, False

    finish = unique.map_values_later(work, [(i,) for i in range(9)])
    open(flag, "w").close()     # the caller's own work, after the workers started
    assert finish() == [(i * 2, True) for i in range(9)]



@pytest.mark.parametrize("background", [False, True])
def test_background_workers_run_at_a_lower_priority(parallel, background):
    """``background``: the workers add BACKGROUND_NICE to their niceness (the caller, working
    meanwhile, keeps a core); without it they keep the caller's. Results are the same, in order."""
    import os

    mine = os.nice(0)
    got = unique.map_values_later(lambda i: (i * 2, os.nice(0)), [(i,) for i in range(7)], background=background)()
    assert [v for v, _ in got] == [i * 2 for i in range(7)]
    assert {n for _, n in got} == {min(19, mine + unique.BACKGROUND_NICE) if background else mine}
    assert os.nice(0) == mine   # the caller's own priority is untouched


@pytest.mark.parametrize("cached", [False, True])
def test_apply_unique_later_background_same_results(parallel, tmp_path, cached):
    df = pl.DataFrame({"a": ["x", "y", None, "x", "z", "w", "y"]})
    fn, outputs = (lambda a: ((a or "") * 2, a is None)), {"s": pl.Utf8, "n": pl.Boolean}
    with unique.value_cache(tmp_path if cached else None, "k"):
        expected = unique.apply_unique(df, ["a"], fn, outputs, only=pl.col("a") != "w")
        assert unique.apply_unique_later(df, ["a"], fn, outputs, only=pl.col("a") != "w",
                                         background=True)().equals(expected)

@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("cached", [False, True])
def test_apply_unique_later_equals_apply_unique(monkeypatch, tmp_path, workers, cached):
    monkeypatch.setattr(unique, "PARALLEL_MIN", 1)
    monkeypatch.setattr(unique, "CHUNK", 2)
    monkeypatch.setenv("ABM_WORKERS", workers)
    df = pl.DataFrame({"a": ["x", "y", None, "x", "z", "w", "y"]})
    fn, outputs = (lambda a: ((a or "") * 2, a is None)), {"s": pl.Utf8, "n": pl.Boolean}
    with unique.value_cache(tmp_path if cached else None, "k"):
        expected = unique.apply_unique(df, ["a"], fn, outputs, only=pl.col("a") != "w")
        finish = unique.apply_unique_later(df, ["a"], fn, outputs, only=pl.col("a") != "w")
        assert finish().equals(expected)
    assert expected.get_column("s").to_list() == ["xx", "yy", None, "xx", "zz", None, "yy"]  # null: not "only"


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"a": ["x", "y", None, "x", "z"]})


def test_value_cache_reuses_results_across_runs(tmp_path):
    calls: list[object] = []

    def fn(v):
        calls.append(v)
        return ((v or "") + "!",)

    with unique.value_cache(tmp_path / "out.cache", "k1"):
        first = unique.apply_unique(_frame(), ["a"], fn, {"b": pl.Utf8}, cache="t")
        assert sorted(calls, key=str) == sorted(["x", "y", None, "z"], key=str)
        calls.clear()
        bigger = pl.concat([_frame(), pl.DataFrame({"a": ["w"]})])
        second = unique.apply_unique(bigger, ["a"], fn, {"b": pl.Utf8}, cache="t")
    assert calls == ["w"]                       # only the new value is computed
    assert second.head(5).equals(first)
    assert second.get_column("b").to_list()[-1] == "w!"
    assert (tmp_path / "out.cache" / "t-k1.parquet").exists()


@pytest.mark.parametrize("content", [b"not parquet", b""])
def test_value_cache_survives_a_corrupt_file(tmp_path, content):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "t-k.parquet").write_bytes(content)
    with unique.value_cache(tmp_path / "c", "k"):
        out = unique.apply_unique(_frame(), ["a"], lambda v: (str(v),), {"b": pl.Utf8}, cache="t")
    assert out.get_column("b").to_list() == ["x", "y", "None", "x", "z"]
    assert pl.read_parquet(tmp_path / "c" / "t-k.parquet").height == 4


def test_value_cache_keyed_by_fingerprint_and_off_by_default(tmp_path):
    with unique.value_cache(tmp_path, "old"):
        unique.apply_unique(_frame(), ["a"], lambda v: ("old",), {"b": pl.Utf8}, cache="t")
    with unique.value_cache(tmp_path, "new"):
        out = unique.apply_unique(_frame(), ["a"], lambda v: ("new",), {"b": pl.Utf8}, cache="t")
    assert set(out.get_column("b")) == {"new"}
    before = sorted(tmp_path.iterdir())
    unique.apply_unique(_frame(), ["a"], lambda v: ("x",), {"b": pl.Utf8}, cache="t")  # no cache block
    assert sorted(tmp_path.iterdir()) == before


def test_fingerprint_changes_with_the_rules(tmp_path):
    (tmp_path / "a.yaml").write_text("x: 1\n", encoding="utf-8")
    one = unique.fingerprint(tmp_path)
    (tmp_path / "a.yaml").write_text("x: 2\n", encoding="utf-8")
    assert unique.fingerprint(tmp_path) != one


_TOKENS = st.lists(st.text(alphabet=st.sampled_from("ab \x1f\x00ー山") | st.characters(codec="utf-8"), max_size=4), max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=3)), st.one_of(st.none(), _TOKENS.map(tuple), _TOKENS),
                          st.one_of(st.none(), st.booleans())), max_size=20))
def test_values_with_list_columns_equal_polars_row_construction(rows):
    """``_values`` builds list[str] columns by join + split: the same frame as polars' own."""
    outputs = {"s": pl.Utf8, "l": pl.List(pl.Utf8), "b": pl.Boolean}
    expected = pl.DataFrame(rows, schema=outputs, orient="row") if rows else pl.DataFrame(schema=outputs)
    got = unique._values(rows, outputs)
    assert got.schema == expected.schema
    assert got.equals(expected)


def test_a_failing_stage_stops_the_workers_it_started(parallel, monkeypatch):
    """normalize_records starts the company-name workers, then normalises the other columns; when
    that fails, the workers end with it instead of running on until garbage-collected."""
    import multiprocessing

    from abm.normalize import records
    from abm.rules import load_rules

    started: list[object] = []
    real = unique.map_values_later

    def spy(*args, **kwargs):
        wait = real(*args, **kwargs)
        started.extend(unique._LIVE)
        return wait

    def broken(*_args, **_kwargs):
        raise RuntimeError("a kind failed")

    monkeypatch.setattr(unique, "map_values_later", spy)
    monkeypatch.setattr(records, "_normalize_kind", broken)
    names = [f"テスト{i}株式会社" for i in range(12)]
    tables = {"crm_accounts": pl.DataFrame({"record_key": [f"a{i}" for i in range(12)], "name": names})}
    with pytest.raises(RuntimeError, match="a kind failed"):
        records.normalize_records(tables, load_rules(validate=False))
    assert started, "the company names went to worker processes"
    assert not unique._LIVE
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("n", [0, 1, 5, 50])
def test_batched_function_gives_what_row_by_row_gives(background: bool, n: int) -> None:
    """A ``Batched`` function is called once with every row (in this process, in a thread when the
    caller works meanwhile) and gives the results ``fn(*row)`` would, in order."""
    from abm.normalize.unique import Batched, map_values_later

    calls: list[int] = []

    def many(rows: list[tuple[object, ...]]) -> list[object]:
        calls.append(len(rows))
        return [f"{a}-{b}" for a, b in rows]
    rows = [(i, i * i) for i in range(n)]
    assert map_values_later(Batched(many), rows, min_rows=1, background=background)() == [f"{a}-{b}" for a, b in rows]
    assert calls == ([n] if n else [])
    assert Batched(many)(2, 3) == "2-3"


def test_batched_function_failure_reaches_the_caller() -> None:
    from abm.normalize.unique import Batched, map_values_later

    def many(rows: list[tuple[object, ...]]) -> list[object]:
        raise ValueError("broken")
    wait = map_values_later(Batched(many), [(1,)], background=True)
    with pytest.raises(ValueError, match="broken"):
        wait()
