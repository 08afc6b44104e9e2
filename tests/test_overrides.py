"""Overrides: the file is validated, contradictions stop the run, constraints hold through chains,
and a correction sticks night after night while changing nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from abm.cli import main
from abm.errors import InputError
from abm.linkage.cluster import cluster
from abm.linkage.engine import link
from abm.linkage.spec import parse_spec
from abm.overrides import Override, load_overrides, write_overrides
from abm.pipeline import run
from abm.settings import Settings

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "row", "column", "words"), [
    ("- {link: maybe, level: account, a: 'cards:1', b: 'cards:2'}", 1, "link", "not one of"),
    ("- {link: must, level: company, a: 'cards:1', b: 'cards:2'}", 1, "level", "not one of"),
    ("- {link: must, level: person, a: 'C1', b: 'cards:2'}", 1, "a", "not a record key"),
    ("- {link: must, level: person, a: 'notakind:1', b: 'cards:2'}", 1, "a", "not a record key"),
    ("- {link: must, level: person, a: 'cards:1', b: 'cards:1'}", 1, "b", "same record"),
    ("- {link: must, level: person, a: 'cards:1'}", 1, "b", "required"),
    ("- {link: must, level: person, a: 'cards:1', b: 'cards:2', on: 'yesterday'}", 1, "on", "not a date"),
    ("- {link: must, level: person, a: 'cards:1', b: 'cards:2', colour: red}", 1, "colour", "unknown field"),
    ("- {link: must, level: person, a: 'cards:1', b: 'cards:2'}\n- just text", 2, "<entry>", "mapping"),
])
def test_a_bad_entry_names_the_file_entry_and_field(tmp_path, text, row, column, words):
    with pytest.raises(InputError) as err:
        load_overrides(_write(tmp_path, text))
    assert (err.value.row, err.value.column) == (row, column)
    assert words in err.value.message() and "overrides.yaml" in err.value.message()


@pytest.mark.parametrize("text", ["{a: 1}", "link: must", "- [unclosed"])
def test_a_file_that_is_not_a_list_is_refused(tmp_path, text):
    with pytest.raises(InputError):
        load_overrides(_write(tmp_path, text))


def test_empty_file_is_no_overrides(tmp_path):
    assert load_overrides(_write(tmp_path, "")) == []
    assert load_overrides(None) == []


def test_contradiction_names_every_override_involved(tmp_path):
    text = ("- {link: must, level: person, a: 'cards:A', b: 'cards:B'}\n"
            "- {link: must, level: account, a: 'cards:A', b: 'cards:C'}\n"   # other level: no chain
            "- {link: must, level: person, a: 'cards:B', b: 'cards:C'}\n"
            "- {link: cannot, level: person, a: 'cards:A', b: 'cards:C', by: 佐藤}\n")
    with pytest.raises(InputError) as err:
        load_overrides(_write(tmp_path, text))
    message = err.value.message()
    assert "override 4" in message and "override 1" in message and "override 3" in message
    assert "override 2" not in message


def test_written_file_reads_back(tmp_path):
    path = tmp_path / "overrides.yaml"
    items = [Override(1, "cannot", "person", "cards:1", "crm_contacts:2", "山田 太郎", None, "別人です: 同姓同名")]
    write_overrides(path, items)
    assert load_overrides(path) == items


def _chain_spec() -> dict:
    return {
        "name": "toy", "id_column": "id", "blocking": [{"name": "city", "keys": ["city"]}],
        "comparisons": [{"name": "name", "column": "name", "levels": [{"kind": "exact"}]},
                        {"name": "email", "column": "email", "levels": [{"kind": "exact"}]}],
        "threshold": 0.5, "prior": 0.3, "u_sample_pairs": 1000,
        "fixed_m": None,
    }


@pytest.mark.parametrize(("weights", "kept_with_0"), [((10.0, 2.0), 1), ((2.0, 10.0), None)])
def test_cannot_link_cuts_a_chain_at_its_weakest_link(weights, kept_with_0):
    # 0 – 1 – 2 chained by two links; 0 and 2 must differ: the weaker link is the one cut
    links = pl.DataFrame({"__rid_l": [0, 1], "__rid_r": [1, 2], "match_weight": list(weights)},
                         schema={"__rid_l": pl.UInt32, "__rid_r": pl.UInt32, "match_weight": pl.Float64})
    cannot = pl.DataFrame({"__rid_l": [0], "__rid_r": [2], "cannot_link": ["override 1"]},
                          schema={"__rid_l": pl.UInt32, "__rid_r": pl.UInt32, "cannot_link": pl.Utf8})
    result = cluster(3, links, {}, cannot)
    labels = result.labels.tolist()
    assert labels[0] != labels[2]
    assert (labels[1] == labels[0]) == (kept_with_0 == 1)
    assert result.refused["refused_by"].to_list() == ["override 1"]
    assert result.refused["match_weight"].to_list() == [min(weights)]


def test_cannot_link_keeps_identical_records_apart():
    data = pl.DataFrame([{"id": i, "name": "acme", "email": "x@a.jp", "city": "t"} for i in ("a", "b", "c")])
    doc = _chain_spec()
    doc.pop("fixed_m")
    cannot = pl.DataFrame({"id_l": ["a"], "id_r": ["b"], "override": ["override 1"]})
    result = link(data, parse_spec(doc, "toy.yaml"), cannot_link=cannot)
    clusters = dict(zip(*result.units.select("id", "cluster"), strict=True))
    assert clusters["a"] != clusters["b"]


# --- end to end on the demo world --------------------------------------------------------------

def _night(tmp_path: Path, name: str, overrides: list[dict] | None) -> tuple[Path, Path]:
    src = tmp_path / f"in-{name}"
    shutil.copytree(DEMO, src, ignore=shutil.ignore_patterns("truth"))
    if overrides is not None:
        (src / "overrides.yaml").write_text(json.dumps(overrides, ensure_ascii=False), encoding="utf-8")
    return src, tmp_path / f"out-{name}"


def _records(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "records.parquet").select("record_key", "account_id", "person_id").sort("record_key")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> pl.DataFrame:
    tmp = tmp_path_factory.mktemp("base")
    src, out = _night(tmp, "base", None)
    run(Settings(input_dir=src, out_dir=out, graph_files=0))
    return _records(out)


def _split_account_pair(baseline: pl.DataFrame) -> tuple[str, str]:
    """Two card/CRM records of one true company that the run left in two accounts."""
    truth = pl.read_csv(DEMO / "truth" / "records.csv")
    joined = baseline.join(truth, on="record_key").filter(
        pl.col("record_key").str.starts_with("cards:") | pl.col("record_key").str.starts_with("crm_accounts:"))
    split = joined.group_by("account").agg(pl.col("account_id").n_unique().alias("k")).filter(pl.col("k") > 1)
    rows = joined.join(split.select("account").head(1), on="account").unique("account_id", keep="first")
    return rows["record_key"][0], rows["record_key"][1]


def test_must_and_cannot_links_fix_exactly_their_pairs_and_stick(tmp_path, baseline):
    a, b = _split_account_pair(baseline)
    # two records of one person in one account, to be declared different people
    person = baseline.filter(pl.col("person_id").is_not_null() & pl.col("record_key").str.starts_with("cards:")) \
        .group_by("person_id").agg(pl.col("record_key").sort()).filter(pl.col("record_key").list.len() >= 2) \
        .sort("person_id").row(0, named=True)["record_key"]
    c, d = person[0], person[1]
    overrides = [
        {"link": "must", "level": "account", "a": a, "b": b, "by": "田中", "reason": "同じ会社 (旧社名)"},
        {"link": "cannot", "level": "person", "a": c, "b": d, "by": "鈴木", "reason": "別人"},
        {"link": "cannot", "level": "account", "a": "cards:NOPE", "b": a, "by": "x"},
    ]
    src, out = _night(tmp_path, "fixed", overrides)
    result = run(Settings(input_dir=src, out_dir=out, graph_files=0))
    after = _records(out)
    acc = dict(zip(after["record_key"], after["account_id"], strict=True))
    per = dict(zip(after["record_key"], after["person_id"], strict=True))
    assert acc[a] == acc[b]
    assert per[c] != per[d]
    # nothing else moved: every pair of records that shared an account before still does, except the
    # two accounts joined by the must-link; persons likewise except the records of the split person
    old_a, old_b = baseline.filter(pl.col("record_key").is_in([a, b]))["account_id"].to_list()
    changed = baseline.join(after, on="record_key", suffix="_new").filter(
        pl.col("account_id").is_in([old_a, old_b]).not_())
    regroup = changed.group_by("account_id").agg(pl.col("account_id_new").n_unique().alias("k"))
    assert regroup["k"].max() == 1
    assert after["account_id"].n_unique() == baseline["account_id"].n_unique() - 1
    table = pl.read_parquet(out / "overrides.parquet").sort("override")
    assert table["status"].to_list() == ["applied", "applied", "stale"]
    assert "cards:NOPE" in table["detail"][2]
    assert result.counts["resolution"]["overrides_stale"] == 1

    # a second night with a new card for the split person's company: the corrections still hold
    extra = pl.read_csv(src / "cards_2026.csv", infer_schema_length=0)
    row = extra.filter(pl.col("card_id") == d.split(":", 1)[1]).with_columns(pl.lit("MCNEW0001").alias("card_id"))
    pl.concat([extra, row]).write_csv(src / "cards_2026.csv")
    run(Settings(input_dir=src, out_dir=out, graph_files=0))
    night2 = _records(out)
    acc2 = dict(zip(night2["record_key"], night2["account_id"], strict=True))
    per2 = dict(zip(night2["record_key"], night2["person_id"], strict=True))
    assert acc2[a] == acc2[b] and per2[c] != per2[d]


def test_contradictory_overrides_stop_the_run_naming_them(tmp_path, baseline):
    a, b = _split_account_pair(baseline)
    other = baseline.filter(pl.col("record_key").str.starts_with("crm_accounts:"))["record_key"][0]
    overrides = [{"link": "must", "level": "account", "a": a, "b": other},
                 {"link": "must", "level": "account", "a": other, "b": b},
                 {"link": "cannot", "level": "account", "a": a, "b": b}]
    src, out = _night(tmp_path, "contra", overrides)
    res = CliRunner().invoke(main, ["run", str(src), "--out", str(out)])
    assert res.exit_code == 2
    assert "override 3" in res.output and "override 1" in res.output and "override 2" in res.output
    assert not out.exists()


def test_override_commands_add_list_remove_and_resolve_names(tmp_path, baseline, monkeypatch):
    src, out = _night(tmp_path, "cli", None)
    run(Settings(input_dir=src, out_dir=out, graph_files=0))
    accounts = pl.read_parquet(out / "accounts.parquet")
    name_counts = accounts.group_by("name").len()
    unique_name = name_counts.filter(pl.col("len") == 1).sort("name")["name"][0]
    the_id = accounts.filter(pl.col("name") == unique_name)["account_id"][0]
    file = src / "overrides.yaml"
    runner = CliRunner()
    card = baseline.filter(pl.col("record_key").str.starts_with("cards:")
                           & (pl.col("account_id") != the_id))["record_key"][0]
    res = runner.invoke(main, ["override", "add", "--cannot-link", unique_name, card, "--level", "account",
                               "--by", "佐藤", "--reason", "別会社", "--file", str(file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert the_id in res.output and "anchor record" in res.output
    res = runner.invoke(main, ["override", "add", "--must-link", the_id, card, "--level", "account",
                               "--by", "x", "--reason", "y", "--file", str(file), "--out", str(out)])
    assert res.exit_code == 2 and "contradicts" in res.output
    assert len(load_overrides(file)) == 1
    res = runner.invoke(main, ["override", "list", "--file", str(file), "--out", str(out)])
    assert res.exit_code == 0 and "not yet run" in res.output and "cannot-link account" in res.output
    run(Settings(input_dir=src, out_dir=out, graph_files=0))
    res = runner.invoke(main, ["override", "list", "--file", str(file), "--out", str(out)])
    assert "applied" in res.output
    res = runner.invoke(main, ["override", "remove", "2", "--file", str(file)])
    assert res.exit_code == 2 and "no number 2" in res.output
    res = runner.invoke(main, ["override", "remove", "1", "--file", str(file)])
    assert res.exit_code == 0 and load_overrides(file) == []


def test_override_add_with_an_ambiguous_or_unknown_name_says_so(tmp_path, baseline):
    src, out = _night(tmp_path, "amb", None)
    run(Settings(input_dir=src, out_dir=out, graph_files=0))
    runner = CliRunner()
    args = ["--level", "account", "--by", "x", "--reason", "y", "--file", str(tmp_path / "o.yaml"), "--out", str(out)]
    res = runner.invoke(main, ["override", "add", "--must-link", "存在しない会社名XYZ", "cards:MC000001", *args])
    assert res.exit_code == 2 and "no record key" in res.output
    res = runner.invoke(main, ["override", "add", "--must-link", "cards:MC000001", *args])
    assert res.exit_code == 2


def test_report_lists_the_corrections_escaped(tmp_path, baseline):
    a, b = _split_account_pair(baseline)
    overrides = [{"link": "must", "level": "account", "a": a, "b": b, "by": "<script>alert(1)</script>",
                  "reason": "旧社名 & 新社名"}]
    src, out = _night(tmp_path, "report", overrides)
    run(Settings(input_dir=src, out_dir=out, graph_files=0))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="corrections"' in html and a in html and "適用" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
