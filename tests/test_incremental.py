"""Incremental runs: the previous run's comparison vectors are reused for unchanged pairs, and the
result equals a full run (records, collisions, gaps, IDs included); a changed unit is compared
again; a rules or abm version change, ``--full`` or a damaged store make a full run that says why."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.linkage.engine import LinkResult, link
from abm.linkage.reuse import PairStore
from abm.linkage.spec import LinkageSpec, parse_spec
from abm.pipeline import run
from abm.rules import DEFAULT_RULES_DIR
from abm.settings import Settings
from fixtures.generate import generate_world

SPEC = parse_spec({
    "name": "toy", "id_column": "id",
    "derived": {"initial": "left(name, 1)"},
    "blocking": [{"name": "city", "keys": ["city"]}, {"name": "email", "keys": ["email"]},
                 {"name": "initial", "keys": ["initial"]}],
    "comparisons": [
        {"name": "name", "column": "name", "levels": [{"kind": "exact"}, {"kind": "jaro_winkler", "threshold": 0.85}]},
        {"name": "email", "column": "email", "levels": [{"kind": "exact"}]},
        {"name": "city", "column": "city", "levels": [{"kind": "exact"}]},
    ],
    "guards": [{"name": "other_initial", "kind": "sql", "sql": "l.initial <> r.initial AND l.email IS NULL"},
               {"name": "other_city", "kind": "sql", "sql": "l.city <> r.city"}],
    "threshold": 0.9, "prior": 0.1, "u_sample_pairs": 500,
}, "toy.yaml")

NAMES = ["sato", "satou", "suzuki", "suzuky", "tanaka", "takana", "ito", "itou", "kato"]


def _units(rows: list[tuple[str, str, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"id": pl.Utf8, "name": pl.Utf8, "email": pl.Utf8, "city": pl.Utf8},
                        orient="row")


BASE = _units([(f"r{i:02d}", NAMES[i % len(NAMES)], f"{NAMES[i % 4]}@x.jp" if i % 3 else None, f"c{i % 3}")
               for i in range(24)])


def _link(units: pl.DataFrame, store: PairStore | None = None, spec: LinkageSpec = SPEC) -> LinkResult:
    return link(units, spec, reuse=store.for_spec(spec) if store is not None else None)


def _night(directory: Path, units: pl.DataFrame, fingerprint: str = "fp", full: bool = False,
           spec: LinkageSpec = SPEC) -> tuple[LinkResult, dict]:
    store = PairStore(directory, full=full)
    store.open(fingerprint)
    result = _link(units, store, spec)
    store.commit()
    return result, store.summary()


def _same(a: LinkResult, b: LinkResult) -> None:
    assert a.units.equals(b.units)
    assert a.pairs.equals(b.pairs)
    assert a.model.table() == b.model.table()


def test_unchanged_units_reuse_every_pair_and_equal_a_full_run(tmp_path):
    first, s1 = _night(tmp_path, BASE)
    assert (s1["mode"], s1["reason"]) == ("full", "no stored comparisons from a previous run")
    second, s2 = _night(tmp_path, BASE)
    assert s2["mode"] == "incremental"
    assert (s2["pairs_reused"], s2["pairs_compared"], s2["units_changed"]) == (first.pairs.height, 0, 0)
    assert s2["guard_pairs_reused"] == first.pairs.height and first.pairs.get_column("cannot_link").is_not_null().any()
    # u's random pairs are chosen by content (abm.linkage.usample): their vectors were stored too
    assert (s1["u_sample_pairs_reused"], s2["u_sample_pairs_compared"]) == (0, 0) and s2["u_sample_pairs_reused"] > 0
    _same(second, _link(BASE))


def test_a_changed_unit_is_compared_again_and_the_rest_reused(tmp_path):
    _night(tmp_path, BASE)
    edited = BASE.with_columns(pl.when(pl.col("id") == "r05").then(pl.lit("satoh")).otherwise("name").alias("name"))
    result, s = _night(tmp_path, edited)
    touching = result.pairs.filter((pl.col("id_l") == "r05") | (pl.col("id_r") == "r05")).height
    assert s["units_changed"] == 1
    assert s["pairs_compared"] >= touching > 0   # every pair of the edited unit, and new pairs of blocking
    assert s["pairs_reused"] + s["pairs_compared"] == result.pairs.height
    assert 0 < s["u_sample_pairs_compared"] < s["u_sample_pairs_reused"]   # only the edited unit's sample pairs
    _same(result, _link(edited))


def test_a_unit_whose_blocking_key_changed_but_not_its_compared_values_is_not_changed(tmp_path):
    # (a u sample of one pair: the toy's sample would hold every pair, the new ones included)
    spec = parse_spec({**_doc(), "blocking": [{"name": "zone", "keys": ["zone"]}], "u_sample_pairs": 1}, "toy.yaml")
    units = BASE.with_columns(pl.col("city").alias("zone"))
    _night(tmp_path, units, spec=spec)
    moved = units.with_columns(pl.when(pl.col("id") == "r01").then(pl.lit("c0")).otherwise("zone").alias("zone"))
    result, s = _night(tmp_path, moved, spec=spec)
    assert s["units_changed"] == 0 and s["pairs_compared"] > 0   # new pairs of r01 in its new block
    _same(result, _link(moved, spec=spec))


@pytest.mark.parametrize("option", ["unless_both", "only_differing", "neutral_differing", "neutral_if_either"])
def test_a_change_in_any_column_a_comparison_reads_makes_the_unit_changed(tmp_path, option):
    level = {"kind": "exact"} | ({option: "flag"} if option in ("unless_both", "only_differing") else {})
    comp = {"name": "name", "column": "name", "levels": [level]} | (
        {option: "flag"} if option.startswith("neutral") else {})
    spec = parse_spec({**_doc(), "comparisons": [comp]}, "toy.yaml")
    units = BASE.with_columns((pl.col("city") == "c0").alias("flag"))
    _night(tmp_path, units, spec=spec)
    flipped = units.with_columns(pl.when(pl.col("id") == "r04").then(~pl.col("flag")).otherwise("flag").alias("flag"))
    result, s = _night(tmp_path, flipped, spec=spec)
    assert s["units_changed"] == 1 and s["pairs_compared"] > 0
    _same(result, _link(flipped, spec=spec))


def _doc() -> dict:
    return {"name": "toy", "id_column": "id",
            "blocking": [{"name": "city", "keys": ["city"]}],
            "comparisons": [{"name": "name", "column": "name", "levels": [{"kind": "exact"}]},
                            {"name": "email", "column": "email", "levels": [{"kind": "exact"}]}],
            "threshold": 0.9, "prior": 0.1, "u_sample_pairs": 500}


@pytest.mark.parametrize(("change", "words"), [
    ("fingerprint", "rules changed"),
    ("version", "abm version changed"),
    ("comparisons", "comparisons of linkage spec 'toy'"),
    ("full", "--full"),
    ("garbage", "unreadable"),
    ("missing", "no stored comparisons"),
    ("columns", "unexpected columns"),
    ("dangling", "inconsistent"),
])
def test_what_forces_a_full_run_is_said_and_the_result_is_a_full_runs(tmp_path, monkeypatch, change, words):
    _night(tmp_path, BASE)
    path = tmp_path / "pairs-toy.parquet"
    fingerprint, full, spec = "fp", False, SPEC
    if change == "fingerprint":
        fingerprint = "other"
    elif change == "version":
        monkeypatch.setattr("abm.linkage.reuse.__version__", "99.0")
    elif change == "comparisons":
        doc = {**_doc(), "comparisons": [{"name": "name", "column": "name", "levels": [{"kind": "exact"}]}]}
        spec = parse_spec(doc | {"name": "toy"}, "toy.yaml")
    elif change == "full":
        full = True
    elif change == "garbage":
        path.write_bytes(b"PAR1 not a parquet file")
    elif change == "missing":
        path.unlink()
    elif change == "columns":
        meta = pl.read_parquet_metadata(path)
        pl.read_parquet(path).rename({"gamma_city": "gamma_town"}).write_parquet(path, metadata=meta)
    elif change == "dangling":   # a pair naming a unit the store does not hold
        meta = pl.read_parquet_metadata(path)
        pl.read_parquet(path).with_columns(pl.col("__pair") + (1 << 40)).write_parquet(path, metadata=meta)
    result, s = _night(tmp_path, BASE, fingerprint, full, spec)
    assert s["mode"] == "full" and words in s["reason"]
    assert s["pairs_reused"] == 0 and s["pairs_compared"] == result.pairs.height
    _same(result, _link(BASE, spec=spec))
    _, again = _night(tmp_path, BASE, fingerprint, False, spec)   # and the store it wrote serves the next run
    assert again["mode"] == "incremental"


def test_the_store_keeps_only_the_last_runs_pairs_and_a_failed_run_keeps_the_previous(tmp_path):
    _night(tmp_path, BASE)
    path = tmp_path / "pairs-toy.parquet"
    first = pl.read_parquet(path).filter(pl.col("__pair").is_not_null()).height
    fewer = BASE.head(10)
    result, _ = _night(tmp_path, fewer)
    stored = pl.read_parquet(path)
    distinct = fewer.unique(["name", "email", "city"]).height
    # tonight's candidate pairs and u's sample pairs (here every pair), one per pair of distinct units
    assert result.pairs.height <= stored.filter(pl.col("__pair").is_not_null()).height \
        <= distinct * (distinct + 1) // 2 < first
    assert stored.filter(pl.col("__h0").is_not_null()).height == distinct
    before = path.read_bytes()
    store = PairStore(tmp_path)
    store.open("fp")
    _link(BASE, store)
    store.discard()
    assert path.read_bytes() == before and not list(tmp_path.glob("*.tmp-*"))


EDITS = st.lists(st.tuples(st.sampled_from(["add", "delete", "name", "email", "city"]),
                           st.integers(0, 200), st.sampled_from(NAMES)), min_size=1, max_size=6)


def _apply(units: pl.DataFrame, edits: list[tuple[str, int, str]], night: int) -> pl.DataFrame:
    for k, (op, i, value) in enumerate(edits):
        if units.height == 0:
            op = "add"
        row = units.row(i % max(units.height, 1), named=True) if units.height else {"city": "c0", "email": None}
        if op == "add":
            units = pl.concat([units, _units([(f"n{night}-{k}", value, row["email"], row["city"])])])
        elif op == "delete":
            units = units.filter(pl.col("id") != row["id"])
        else:
            column = {"name": "name", "email": "email", "city": "city"}[op]
            new = {"name": value, "email": f"{value}@y.jp", "city": f"c{i % 4}"}[op]
            units = units.with_columns(pl.when(pl.col("id") == row["id"]).then(pl.lit(new)).otherwise(column)
                                       .alias(column))
    return units


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nights=st.lists(EDITS, min_size=1, max_size=2))
def test_property_engine_incremental_equals_full_over_edit_sequences(nights):
    with tempfile.TemporaryDirectory() as tmp:
        units = BASE
        _night(Path(tmp), units)
        for n, edits in enumerate(nights):
            units = _apply(units, edits, n)
            result, summary = _night(Path(tmp), units)
            assert summary["mode"] == "incremental"
            _same(result, _link(units))


# --- whole runs on a generated world ------------------------------------------------------------

CHANGES = ["add", "delete", "name", "email", "rename", "move"]


@pytest.fixture(scope="module")
def quick_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's rules with a smaller random sample for u (the tiny world has a few hundred units)."""
    target = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    for name in ("linkage_accounts.yaml", "linkage_persons.yaml"):
        path = target / name
        path.write_text(path.read_text(encoding="utf-8").replace("u_sample_pairs: 200000", "u_sample_pairs: 4000"),
                        encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("world8") / "in"
    generate_world(target, companies=8, seed=23)
    return target


def _read(path: Path) -> tuple[pl.DataFrame, str]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "cp932"):
        try:
            return pl.read_csv(raw.decode(enc).encode(), infer_schema=False), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError(path)


def _edit_world(world: Path, change: str, i: int, k: int) -> None:
    """One change to the input files, as a night brings: a record added or deleted, a name or an
    e-mail edited, a company renamed in the CRM, a person moved to another company (a new card)."""
    path = world / ("crm_accounts.csv" if change == "rename" else "cards_2026.csv")
    df, enc = _read(path)
    row = df.row(i % df.height, named=True)
    if change == "add":
        df = pl.concat([df, pl.DataFrame([{**row, "card_id": f"MCN{k:04d}", "department": "新規事業部"}],
                                         schema=df.schema)])
    elif change == "delete":
        df = df.filter(pl.col("card_id") != row["card_id"])
    elif change in ("name", "email", "rename"):
        column, value = {"name": ("family_name", "改名"), "email": ("email", f"n{k}.{row.get('email') or 'a@b.jp'}"),
                         "rename": ("name", f"新社名{k}株式会社")}[change]
        idc = df.columns[0]
        df = df.with_columns(pl.when(pl.col(idc) == row[idc]).then(pl.lit(value)).otherwise(column).alias(column))
    elif change == "move":
        other = df.row((i * 7 + 3) % df.height, named=True)
        company = ["company_name", "phone", "postal_code", "address", "url"]
        moved = {**row, **{c: other[c] for c in company}, "card_id": f"MCM{k:04d}",
                 "email": f"{row['family_name']}{k}@{(other['email'] or 'x@other.jp').split('@')[-1]}"}
        df = pl.concat([df, pl.DataFrame([moved], schema=df.schema)])
    path.write_bytes(df.write_csv().encode(enc))


def _outputs(out: Path) -> dict[str, pl.DataFrame]:
    records = pl.read_parquet(out / "records.parquet").select("record_key", "account_id", "person_id")
    tables = {"records": records}
    for name in ("collisions", "key_person_gaps"):
        df = pl.read_parquet(out / f"{name}.parquet")
        tables[name] = df.sort(df.columns)
    return tables


def _copy_out(src: Path, dst: Path) -> None:
    shutil.copytree(src.with_name(f".{src.name}.runs"), dst.with_name(f".{dst.name}.runs"), symlinks=True)
    shutil.copytree(src.with_name(f".{src.name}.cache"), dst.with_name(f".{dst.name}.cache"))
    dst.symlink_to(str(src.readlink()).replace(f".{src.name}.runs", f".{dst.name}.runs"))


@pytest.fixture(scope="module")
def first_night(tmp_path_factory: pytest.TempPathFactory, tiny_world: Path, quick_rules: Path) -> Path:
    out = tmp_path_factory.mktemp("night1") / "out"
    run(Settings(input_dir=tiny_world, out_dir=out, rules_dir=quick_rules, graph_files=0))
    return out


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nights=st.lists(st.lists(st.tuples(st.sampled_from(CHANGES), st.integers(0, 500)), min_size=1, max_size=3),
                       min_size=1, max_size=2))
def test_property_incremental_nights_equal_full_nights(nights, tiny_world, quick_rules, first_night):
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "in"
        shutil.copytree(tiny_world, world)
        incremental, full = Path(tmp) / "inc", Path(tmp) / "full"
        _copy_out(first_night, incremental)
        _copy_out(first_night, full)
        k = 0
        for edits in nights:
            for change, i in edits:
                _edit_world(world, change, i, k)
                k += 1
            a = run(Settings(input_dir=world, out_dir=incremental, rules_dir=quick_rules, graph_files=0))
            b = run(Settings(input_dir=world, out_dir=full, rules_dir=quick_rules, graph_files=0, full=True))
            assert a.incremental["mode"] == "incremental" and a.incremental["pairs_reused"] > 0
            assert a.incremental["u_sample_pairs_reused"] > 0   # u's random pairs, chosen by id, mostly stay
            assert b.incremental["mode"] == "full" and b.incremental["reason"] == "--full"
            got, want = _outputs(incremental), _outputs(full)
            for name in want:
                assert got[name].equals(want[name]), name
            doc = json.loads((incremental / "run.json").read_text(encoding="utf-8"))
            assert doc["incremental"]["pairs_reused"] == a.incremental["pairs_reused"]


def test_a_rules_change_between_nights_forces_a_full_run_and_says_so(tmp_path, tiny_world, quick_rules, first_night):
    out = tmp_path / "out"
    _copy_out(first_night, out)
    rules = tmp_path / "rules"
    shutil.copytree(quick_rules, rules)
    with (rules / "linkage_accounts.yaml").open("a", encoding="utf-8") as f:
        f.write("\n# a comment is a change too\n")
    result = run(Settings(input_dir=tiny_world, out_dir=out, rules_dir=rules, graph_files=0))
    assert result.incremental["mode"] == "full" and "rules changed" in result.incremental["reason"]
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["incremental"]["mode"] == "full"


@pytest.mark.parametrize(("sql", "columns"), [
    ("l.city <> r.city", ["city"]),
    ('l."email" = r.EMAIL AND l.name <> r.name', ["email", "name"]),
    ("l.* IS NOT NULL", "every"),
    ("l.nowhere = r.nowhere", "every"),
    ("p.__rid_l < p.__rid_r", "every"),
    ("jaro_winkler_similarity(url.x, 'a') > 0 AND l.city = r.city", ["city"]),
])
def test_a_unit_hash_for_guards_covers_exactly_the_columns_the_guards_read(sql, columns):
    from abm.linkage.reuse_guards import guard_columns
    spec = parse_spec({**_doc(), "guards": [{"name": "g", "kind": "sql", "sql": sql}]}, "toy.yaml")
    prepared = BASE.with_row_index("__rid").with_columns(pl.lit(1).alias("row_number"))
    every = [c for c in prepared.columns if c != "__rid"]
    assert guard_columns(spec, prepared) == (every if columns == "every" else columns)


def test_guard_results_survive_a_change_of_a_column_no_guard_reads(tmp_path):
    _night(tmp_path, BASE.with_columns(pl.lit(1).alias("row_number")))
    shifted = BASE.with_columns(pl.int_range(pl.len()).alias("row_number"))   # every row moved
    result, s = _night(tmp_path, shifted)
    assert s["guard_pairs_reused"] == result.pairs.height
    _same(result, _link(shifted))


def test_the_stores_are_written_with_the_fast_codec_and_read_back(tmp_path):
    """Both stores are lz4 (about half zstd's CPU to write, every run) and the next night reads them."""
    import pyarrow.parquet as pq

    from abm.linkage.reuse_guards import STORE_COMPRESSION
    first, _ = _night(tmp_path, BASE)
    for name in ("pairs-toy.parquet", "guards-toy.parquet"):
        meta = pq.ParquetFile(tmp_path / name).metadata
        codecs = {meta.row_group(g).column(c).compression for g in range(meta.num_rows and meta.num_row_groups)
                  for c in range(meta.num_columns)}
        assert codecs == {STORE_COMPRESSION.upper()}
    _, s = _night(tmp_path, BASE)
    assert (s["pairs_reused"], s["guard_pairs_reused"]) == (first.pairs.height, first.pairs.height)
