"""The 法人番号 registry: import (CSV, zip, folder; bad rows), anchoring (number, name + place,
ambiguity, legal form, former names, readings), status, and a run with --registry."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.cli import main
from abm.errors import InputError
from abm.evaluate import evaluate
from abm.explain import explain
from abm.normalize.company import company_kana, company_rules, display_keys, split_legal_form
from abm.pipeline import run
from abm.registry.keys import latin_probe, name_probe, probe_rules, reading_probe, skeleton
from abm.registry.layout import COLUMNS
from abm.registry.link import must_links
from abm.registry.match import anchor_records
from abm.registry.store import import_registry, open_registry
from abm.rules import load_rules
from abm.settings import Settings
from fixtures.synth.world import corporate_check_digit

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry_sample"
RULES = load_rules(None)


def number(serial: int) -> str:
    base = f"0104010{serial:05d}"
    return f"{corporate_check_digit(base)}{base}"


def row(num: str, name: str, pref: str, post: str, *, kind: str = "301", process: str = "01", latest: str = "1",
        close: str = "", cause: str = "", successor: str = "", furigana: str = "", en: str = "",
        update: str = "2026-01-05") -> list[str]:
    values = dict.fromkeys(COLUMNS, "")
    values.update(sequenceNumber="1", corporateNumber=num, process=process, correct="0", updateDate=update,
                  name=name, kind=kind, prefectureName=pref, cityName="中央区", streetNumber="1-2-3", postCode=post,
                  closeDate=close, closeCause=cause, successorCorporateNumber=successor, latest=latest,
                  enName=en, furigana=furigana, hihyoji="0")
    return [values[c] for c in COLUMNS]


N = {k: number(i) for i, k in enumerate(
    ["osaka", "tokyo", "yugen_osaka", "renamed", "closed", "absorbed", "kana"], start=1)}

ROWS = [
    row(N["osaka"], "株式会社山田電機", "大阪府", "5300001", furigana="ヤマダデンキ", en="Yamada Electric Co., Ltd."),
    row(N["tokyo"], "山田電機株式会社", "東京都", "1000001", furigana="ヤマダデンキ"),
    row(N["yugen_osaka"], "有限会社山田電機", "大阪府", "5410002", kind="302", furigana="ヤマダデンキ"),
    row(N["renamed"], "株式会社三栄電子", "愛知県", "4600001", latest="0", furigana="サンエイデンシ",
        update="2020-01-01"),
    row(N["renamed"], "株式会社サンエイテクノロジー", "愛知県", "4600001", process="11",
        furigana="サンエイテクノロジー"),
    row(N["closed"], "株式会社北辰商事", "福岡県", "8120001", process="21", close="2025-03-31", cause="01",
        furigana="ホクシンショウジ"),
    row(N["absorbed"], "株式会社南星物流", "福岡県", "8100001", process="71", close="2025-04-01", cause="11",
        successor=N["closed"], furigana="ナンセイブツリュウ"),
    row(N["kana"], "株式会社アルファ精機", "京都府", "6000001", furigana="アルファセイキ", en="Alpha Seiki Co., Ltd."),
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return path


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("registry")
    return import_registry(write_csv(tmp / "r.csv", ROWS), tmp / "cache", RULES)


# --- import -----------------------------------------------------------------------------------

def test_import_keeps_one_row_per_corporation_with_status_and_successor(registry):
    corp = pl.read_parquet(registry.path("corporations"))
    assert corp.height == len(N)
    status = dict(corp.select("corporate_number", "registry_status").iter_rows())
    assert status[N["osaka"]] == "active"
    assert status[N["closed"]] == "closed"
    assert status[N["absorbed"]] == "absorbed"
    absorbed = corp.filter(pl.col("corporate_number") == N["absorbed"]).row(0, named=True)
    assert absorbed["successor_corporate_number"] == N["closed"]
    renamed = corp.filter(pl.col("corporate_number") == N["renamed"]).row(0, named=True)
    assert renamed["official_name"] == "株式会社サンエイテクノロジー"


def test_import_keeps_former_names(registry):
    names = pl.read_parquet(registry.path("names"))
    former = names.filter((pl.col("corporate_number") == N["renamed"]) & (pl.col("name_type") == "former"))
    assert set(former["value"]) == {"株式会社三栄電子"}


@pytest.mark.parametrize("shape", ["csv", "zip", "dir"])
def test_import_reads_a_csv_a_zip_and_a_folder(tmp_path: Path, shape: str):
    first, second = write_csv(tmp_path / "a.csv", ROWS[:4]), write_csv(tmp_path / "b.csv", ROWS[4:])
    if shape == "csv":
        source = write_csv(tmp_path / "all.csv", ROWS)
    elif shape == "zip":
        source = tmp_path / "all.zip"
        with zipfile.ZipFile(source, "w") as z:
            z.write(first, "00_zenkoku_all_a.csv")
            z.write(second, "00_zenkoku_all_b.csv")
    else:
        source = tmp_path / "folder"
        source.mkdir()
        first.rename(source / first.name)
        second.rename(source / second.name)
    reg = import_registry(source, tmp_path / "cache", RULES)
    assert reg.manifest["corporations"] == len(N)
    assert reg.manifest["rejected_rows"] == 0


def test_malformed_rows_are_counted_with_file_and_line(tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", [*ROWS, ["1", "2", "3"], row("12345", "株式会社短番号", "東京都", "1000001")])
    reg = import_registry(path, tmp_path / "cache", RULES)
    rejects = pl.read_parquet(reg.path("rejects"))
    assert reg.manifest["corporations"] == len(N)
    assert reg.manifest["rejected_rows"] == 2 == rejects.height
    assert set(rejects["reason"]) >= {"corporateNumber is not 13 digits"}
    assert rejects.filter(pl.col("line").is_not_null())["line"].to_list() == [len(ROWS) + 1]


@pytest.mark.parametrize("content", [
    "corporateNumber,name\n1234567890123,株式会社山田\n",          # a header-ful export of another layout
    "\n".join(",".join(["x"] * 30) for _ in range(3)) + "\n",     # 30 columns, no 法人番号
])
def test_a_file_in_another_layout_is_refused_with_a_clear_error(tmp_path: Path, content: str):
    path = tmp_path / "other.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match="法人番号"):
        import_registry(path, tmp_path / "cache", RULES)


def test_open_reuses_the_cache_and_accepts_the_cache_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ABM_CACHE_DIR", str(tmp_path / "home"))
    source = write_csv(tmp_path / "r.csv", ROWS)
    first = open_registry(source, rules=RULES)
    assert first.root.parent == tmp_path / "home" / "registry"
    again = open_registry(source, rules=RULES)
    assert again.root == first.root and again.manifest["built_in_s"] == first.manifest["built_in_s"]
    assert open_registry(first.root).root == first.root


# --- probes -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("株式会社髙橋・システム", "高橋システム"), ("山田電機 株式会社", "山田電機"), ("ﾔﾏﾀﾞ ﾃﾞﾝｷ", "ヤマダデンキ"),
    ("やまだでんき", "ヤマダデンキ"),
])
def test_name_probe(raw: str, expected: str):
    pr = RULES.view(probe_rules)
    assert pl.select(name_probe(pl.lit(raw), pr)).item() == expected


def test_reading_probes_of_furigana_and_romaji_agree():
    pr = RULES.view(probe_rules)
    cr = RULES.view(company_rules)
    for kana, latin in [("ヤマダデンキ", "Yamada Denki"), ("トウキョウツウシン", "Tokyo Tsushin"),
                        ("キャノンショウジ", "Kyanon Shoji"), ("ヤマトコウギョウ", "Yamato Kogyo")]:
        romaji = display_keys(latin, cr)[1]
        assert pl.select(reading_probe(pl.lit(kana), pr)).item() == pl.select(skeleton(pl.lit(romaji))).item()
    assert pl.select(latin_probe(pl.lit("Yamada Electric Co., Ltd."), pr)).item() == \
        pl.select(latin_probe(pl.lit("YAMADA ELECTRIC"), pr)).item()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=20))
def test_probes_never_raise_and_are_stable(values: list[str]):
    pr = RULES.view(probe_rules)
    df = pl.DataFrame({"v": values}, schema={"v": pl.Utf8})
    first = df.select(name_probe(pl.col("v"), pr).alias("n"), reading_probe(pl.col("v"), pr).alias("r"),
                      latin_probe(pl.col("v"), pr).alias("l"))
    assert first.height == len(values)
    again = df.reverse().select(name_probe(pl.col("v"), pr).alias("n")).reverse()
    assert again["n"].to_list() == first["n"].to_list()      # row order never changes a probe


# --- anchoring ----------------------------------------------------------------------------------

def records(*rows: dict) -> pl.DataFrame:
    cr = RULES.view(company_rules)
    out = []
    for i, r in enumerate(rows):
        display, form = split_legal_form(r.get("name"), cr)
        key, rom = display_keys(display, cr) if display else (None, None)
        out.append({"record_key": r.get("key", f"cards:C{i}"), "company_name": display, "company_key": key,
                    "company_romaji": rom, "company_kana": company_kana(r.get("kana"), cr), "legal_form": form,
                    "prefecture": r.get("pref"), "postal_code": r.get("post"), "corporate_number": r.get("number"),
                    "email_domain": r.get("domain"), "phone": r.get("phone")})
    return pl.DataFrame(out, schema={k: pl.Utf8 for k in out[0]})


CASES = [
    # (record, expected 法人番号 key or None, method or note)
    ({"name": "山田電機", "number": N["tokyo"]}, "tokyo", "corporate_number"),
    ({"name": "株式会社山田電機", "pref": "大阪府"}, "osaka", "name"),
    ({"name": "山田電機株式会社", "pref": "東京都"}, "tokyo", "name"),
    ({"name": "有限会社山田電機", "pref": "大阪府"}, "yugen_osaka", "name"),
    ({"name": "山田電機", "pref": "大阪府"}, None, "ambiguous"),              # 株式会社 and 有限会社 in 大阪
    ({"name": "山田電機", "pref": "大阪府", "post": "5410002"}, "yugen_osaka", "name"),
    ({"name": "株式会社山田電機", "pref": "大阪府", "post": "5419999"}, None, "elsewhere"),  # a branch office
    ({"name": "山田電機"}, None, "no_place"),
    ({"name": "株式会社山田電機", "pref": "北海道"}, None, "elsewhere"),
    ({"name": "株式会社三栄電子", "pref": "愛知県"}, "renamed", "former_name"),
    ({"name": "サンエイテクノロジー", "pref": "愛知県"}, "renamed", "name"),
    ({"name": "YAMADA ELECTRIC CO., LTD.", "pref": "大阪府", "post": "5300001"}, "osaka", "furigana"),
    ({"name": "Arufa Seiki", "pref": "京都府"}, "kana", "furigana"),
    ({"name": "Alpha Seiki", "pref": "京都府"}, "kana", "english_name"),
    ({"name": "アルファ精機", "pref": "京都府"}, "kana", "name"),
    ({"name": "株式会社アルファ精機", "kana": "アルファセイキ", "pref": "京都府"}, "kana", "name"),
    ({"name": "株式会社北辰商事", "post": "8120001"}, "closed", "name"),
    ({"name": "株式会社全然別名", "pref": "大阪府"}, None, None),                # no candidate: no row
]


@pytest.fixture(scope="module")
def case_anchors(registry) -> dict[str, dict]:
    """Every case anchored alone (one record per call: no case sees another's corporation)."""
    out = {}
    for i, (record, _, _) in enumerate(CASES):
        got = anchor_records(records(record | {"key": f"cards:K{i:03d}"}), registry, RULES)
        out[f"cards:K{i:03d}"] = got.row(0, named=True) if got.height else None
    return out


@pytest.mark.parametrize(("i", "expected", "how"), [(i, e, h) for i, (_, e, h) in enumerate(CASES)])
def test_anchor(case_anchors: dict[str, dict], i: int, expected: str | None, how: str | None):
    got = case_anchors[f"cards:K{i:03d}"]
    if how is None:
        assert got is None
    elif expected is None:
        assert got["registry_number"] is None and got["anchor_note"] == how, CASES[i]
    else:
        assert got["registry_number"] == N[expected] and got["anchor_method"] == how, CASES[i]


def test_must_links_join_records_of_one_corporation():
    df = pl.DataFrame({"record_key": ["a", "b", "c", "d"], "registry_number": ["1", "1", None, "2"]})
    assert must_links(df).to_dicts() == [{"id_l": "a", "id_r": "b"}]


# --- end to end ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("registry-run") / "out"
    cache = tmp_path_factory.mktemp("registry-cache") / "cache"
    run(Settings(input_dir=SAMPLE / "world", out_dir=out, registry=SAMPLE / "registry.csv", registry_cache=cache))
    return out


def test_run_with_registry_adds_official_name_and_status(sample_run: Path):
    accounts = pl.read_parquet(sample_run / "accounts.parquet")
    for column in ("official_name", "corporate_number", "registry_status", "successor_corporate_number"):
        assert column in accounts.columns
    anchored = accounts.filter(pl.col("official_name").is_not_null())
    assert anchored.height >= 0.8 * accounts.height
    assert (anchored["name"] == anchored["official_name"]).all()
    assert set(anchored["registry_status"]) <= {"active", "closed", "absorbed"}
    world = json.loads((SAMPLE / "world" / "truth" / "world.json").read_text(encoding="utf-8"))
    numbers = {c["corporate_number"] for c in world["companies"]}
    assert set(anchored["corporate_number"]) <= numbers      # never a decoy
    counts = json.loads((sample_run / "run.json").read_text(encoding="utf-8"))["counts"]["registry"]
    assert counts["records_anchored"]["name"] > 0


def test_run_with_registry_links_renamed_companies_and_merges_no_two(sample_run: Path):
    truth = pl.read_csv(SAMPLE / "world" / "truth" / "records.csv")
    got = pl.read_parquet(sample_run / "records.parquet").join(truth, on="record_key")
    assert got.group_by("account_id").agg(pl.col("account").n_unique().alias("k"))["k"].max() == 1
    world = json.loads((SAMPLE / "world" / "truth" / "world.json").read_text(encoding="utf-8"))
    renamed = [c["id"] for c in world["companies"] if c["old_name"]]
    assert renamed
    split = got.filter(pl.col("account").is_in(renamed) & (pl.col("kind") == "cards")) \
        .group_by("account").agg(pl.col("account_id").n_unique().alias("k"))
    assert split["k"].max() == 1


def test_registry_does_not_lower_accuracy(sample_run: Path, tmp_path: Path):
    plain = tmp_path / "plain"
    run(Settings(input_dir=SAMPLE / "world", out_dir=plain))
    truth = SAMPLE / "world" / "truth"
    with_reg = evaluate(sample_run, truth)["accounts"]["pairwise_f1"]
    without = evaluate(plain, truth)["accounts"]["pairwise_f1"]
    assert with_reg >= without
    plain_accounts = pl.read_parquet(plain / "accounts.parquet")
    assert plain_accounts["registry_status"].null_count() == plain_accounts.height


def test_explain_shows_the_registry_anchor(sample_run: Path):
    anchors = pl.read_parquet(sample_run / "evidence" / "registry_anchors.parquet")
    key = anchors.filter(pl.col("registry_number").is_not_null())["record_key"][0]
    text = explain(sample_run, key)
    assert "法人番号" in text and "registry evidence" in text
    in_run = anchors.filter(pl.col("anchor_method") == "in_run")["record_key"]
    assert in_run.len() > 0                       # the sample's web forms are anchored through the run
    assert "the only one of that name anchored in this run" in explain(sample_run, in_run[0])


def test_cli_registry_import(tmp_path: Path):
    source = write_csv(tmp_path / "r.csv", ROWS)
    result = CliRunner().invoke(main, ["registry", "import", str(source), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert f"{len(N)} corporations" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["registry", "import", str(bad), "--cache", str(tmp_path / "d")])
    assert result.exit_code == 2 and "法人番号" in result.output


def test_must_links_between_exact_duplicates_are_harmless():
    """Two copies of one card collapse to one unit: a must-link between them is no self-link (it
    once broke the cluster rebuild when the component also held two 法人番号)."""
    from abm.linkage.engine import link
    from abm.linkage.spec import linkage_specs

    specs = RULES.view(linkage_specs)
    cols = specs.accounts.columns()
    rows = [("cards:A0", "山田電機", "1010401000001"), ("cards:A1", "山田電機", None), ("cards:A2", "山田電機", None),
            ("cards:C", "川上商事", "2010401000002")]
    units = pl.DataFrame([dict.fromkeys(cols) | {"record_key": k, "company_key": n, "corporate_number": c}
                          for k, n, c in rows], schema={c: pl.Utf8 for c in cols})
    must = pl.DataFrame({"id_l": ["cards:A0", "cards:A1", "cards:A1"], "id_r": ["cards:A1", "cards:A2", "cards:C"]})
    result = link(units, specs.accounts, must)
    clusters = dict(result.units.select("record_key", "cluster").iter_rows())
    assert clusters["cards:A0"] == clusters["cards:A1"] == clusters["cards:A2"] != clusters["cards:C"]


NO_PLACE = [
    # (the run's other records, expected 法人番号 key or None, method or note) for a web form "Yamada Denki"
    ([], None, "no_place"),                                                   # registry alone: never by name
    ([{"name": "株式会社山田電機", "pref": "大阪府"}], "osaka", "in_run"),    # the one 山田電機 this run knows
    ([{"name": "株式会社山田電機", "pref": "大阪府"}, {"name": "山田電機株式会社", "pref": "東京都"}],
     None, "no_place"),                                                       # two in the run: ambiguous
    ([{"name": "株式会社山田電機", "pref": "大阪府"}, {"name": "山田電機", "pref": "大阪府"}],
     None, "no_place"),                  # a 山田電機 at a place the registry could not tell apart contests it
    ([{"name": "株式会社山田電機", "pref": "大阪府"}, {"name": "山田電機", "pref": "北海道"}],
     None, "no_place"),                  # … and so does one somewhere the registry has none (a branch office)
    ([{"name": "株式会社山田電機", "pref": "大阪府", "phone": "0661234567"},
      {"name": "山田電機", "pref": "大阪府", "phone": "0661239999"}],
     "osaka", "in_run"),                 # … unless it shares an office with the corporation's records: its own
    ([{"name": "株式会社山田電機", "pref": "大阪府", "domain": "yamada.co.jp"},
      {"name": "山田電機", "pref": "大阪府", "domain": "yamada.co.jp"}], "osaka", "in_run"),
    ([{"name": "株式会社山田電機", "pref": "大阪府", "phone": "0661234567"}, {"name": "Yamada Denki", "key": "ma_leads:L9",
      "phone": "0921234567"}], "osaka", "in_run"),      # another web form's phone says nothing about this one
    ([{"name": "株式会社山田電機", "pref": "大阪府", "domain": "yamada-denki.jp"},
      {"name": "山田電機株式会社", "number": "TOKYO", "domain": "yamada.co.jp"}], None, "no_place"),
]


@pytest.mark.parametrize(("others", "expected", "how"), NO_PLACE)
def test_a_record_with_no_place_is_anchored_only_to_the_one_corporation_of_the_run(
        registry, others: list[dict], expected: str | None, how: str):
    others = [o | {"number": N["tokyo"]} if o.get("number") == "TOKYO" else o for o in others]
    batch = records({"name": "Yamada Denki", "key": "ma_leads:L1"}, *others)
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    if expected is None:
        assert got["registry_number"] is None and got["anchor_note"] == how
    else:
        assert got["registry_number"] == N[expected] and got["anchor_method"] == how


def test_a_web_form_with_another_corporations_domain_is_not_anchored_in_run(registry):
    """Rule 3: the form's corporate domain is carried by records anchored to another corporation."""
    batch = records({"name": "山田電機", "key": "ma_leads:L1", "domain": "yamada-tokyo.co.jp"},
                    {"name": "株式会社山田電機", "pref": "大阪府", "domain": "yamada-osaka.co.jp"},
                    {"name": "株式会社サンエイテクノロジー", "pref": "愛知県", "domain": "yamada-tokyo.co.jp"})
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] is None and got["anchor_note"] == "no_place"
    same = records({"name": "山田電機", "key": "ma_leads:L1", "domain": "yamada-osaka.co.jp"},
                   {"name": "株式会社山田電機", "pref": "大阪府", "domain": "yamada-osaka.co.jp"})
    got = anchor_records(same, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] == N["osaka"] and got["anchor_method"] == "in_run"


def test_report_marks_closed_and_absorbed_accounts_end_to_end(sample_run: Path):
    """accounts.parquet's registry_status reaches report.html: every flagged closed or absorbed
    account is embedded with its status (and successor); active accounts carry no mark."""
    import re

    html = (sample_run / "report.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="abm-data">(.*?)</script>', html, re.S).group(1))
    s, fields = data["s"], data["fields"]["a"]

    def text(row: list, field: str) -> str | None:
        v = row[fields.index(field)]
        return None if v is None else s[v]

    embedded = {text(r, "id"): (text(r, "registry_status"), text(r, "successor")) for r in data["a"]}
    accounts = pl.read_parquet(sample_run / "accounts.parquet").filter(pl.col("account_id").is_in(list(embedded)))
    marked = accounts.filter(pl.col("registry_status").is_in(["closed", "absorbed"]))
    assert marked.height >= 1                                   # the sample has a flagged closed account
    for row in accounts.iter_rows(named=True):
        status = row["registry_status"] if row["registry_status"] in ("closed", "absorbed") else None
        assert embedded[row["account_id"]][0] == status
        if status == "absorbed":
            assert embedded[row["account_id"]][1] == row["successor_corporate_number"]
    assert "登記閉鎖" in html and "合併により消滅" in html        # the labels travel with the page


def test_counts_keep_in_run_anchors_out_of_the_unanchored():
    from abm.registry.link import registry_counts

    anchors = pl.DataFrame({"record_key": ["a", "b", "c"], "registry_number": ["1", None, "2"],
                            "anchor_method": ["in_run", None, "name"], "anchor_note": ["former_name", "no_place", None]})
    accounts = pl.DataFrame({"registry_status": ["active", "closed", None]})
    got = registry_counts(anchors, accounts)
    assert got["records_anchored"] == {"in_run": 1, "name": 1}
    assert got["records_not_anchored"] == {"no_place": 1}
    assert got["accounts_by_status"] == {"active": 1, "closed": 1}


@pytest.mark.parametrize(("phone", "expected"), [
    ("0661235555", "osaka"),   # a direct line in the corporation's office (same area code and exchange)
    ("0921234567", None),      # a Fukuoka number: not the Osaka 山田電機 the run knows
    (None, "osaka"),           # no landline: nothing against
])
def test_a_web_forms_landline_must_be_in_an_office_of_the_corporation(registry, phone: str | None,
                                                                       expected: str | None):
    batch = records({"name": "Yamada Denki", "key": "ma_leads:L1", "phone": phone},
                    {"name": "株式会社山田電機", "pref": "大阪府", "phone": "0661234567"})
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] == (N[expected] if expected else None)


@pytest.mark.parametrize(("name", "expected"), [
    ("Yamada Denki", "osaka"),         # the furigana read literally
    ("Yamada Electric", "osaka"),      # the registry's English name
    ("山田電機", "osaka"),
])
def test_in_run_matches_literal_readings_and_english_names(registry, name: str, expected: str):
    batch = records({"name": name, "key": "ma_leads:L1"}, {"name": "株式会社山田電機", "pref": "大阪府"})
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] == N[expected] and got["anchor_method"] == "in_run"


def test_in_run_refuses_a_furigana_met_only_through_a_translated_word(registry):
    """"Yamada Electric" meets ヤマダデンキ only by reading Electric as denki (a guess: 電機 or 電気); the
    Tokyo 山田電機株式会社 has no English name, so only the translation links them: not anchored."""
    batch = records({"name": "Yamada Electric", "key": "ma_leads:L1"}, {"name": "山田電機株式会社", "pref": "東京都"})
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] is None


def test_a_web_form_sharing_its_domain_with_another_companys_record_is_not_anchored_in_run(registry):
    """有限会社山田電機's lead (no place; the legal form rules out the 株式会社) shares the web form's
    domain: the form "Yamada Denki" is that company's, not the 株式会社 the run knows."""
    batch = records({"name": "Yamada Denki", "key": "ma_leads:L1", "domain": "yamada-yugen.co.jp"},
                    {"name": "有限会社山田電機", "key": "crm_leads:L2", "domain": "yamada-yugen.co.jp"},
                    {"name": "株式会社山田電機", "pref": "大阪府"})
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] is None
    alone = batch.filter(pl.col("record_key") != "crm_leads:L2")
    got = anchor_records(alone, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] == N["osaka"]


def test_a_translated_reading_counts_when_the_landline_is_in_the_corporations_office(registry):
    batch = records({"name": "Yamada Electric", "key": "ma_leads:L1", "phone": "0312345678"},
                    {"name": "山田電機株式会社", "pref": "東京都", "phone": "0312349999"})
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] == N["tokyo"] and got["anchor_method"] == "in_run"


@pytest.mark.parametrize(("form", "others", "expected"), [
    # another domain than the one the corporation's current-name records carry: another company
    ({"name": "Yamada Denki", "domain": "yamada-denki.com"},
     [{"name": "株式会社山田電機", "pref": "大阪府", "domain": "yamada-denki.co.jp"}], None),
    ({"name": "Yamada Denki", "domain": "yamada-denki.co.jp"},
     [{"name": "株式会社山田電機", "pref": "大阪府", "domain": "yamada-denki.co.jp"}], "osaka"),
    # a renamed company: the new name's web form has the new domain, its cards the old one — linked
    ({"name": "サンエイテクノロジー", "domain": "sanei-tech.co.jp"},
     [{"name": "株式会社三栄電子", "pref": "愛知県", "domain": "sanei-denshi.co.jp"}], "renamed"),
])
def test_in_run_and_the_corporations_domain(registry, form: dict, others: list[dict], expected: str | None):
    batch = records(form | {"key": "ma_leads:L1"}, *others)
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] == (N[expected] if expected else None)


def test_in_run_a_former_names_form_is_checked_against_the_former_names_records(registry):
    """A web form written with the former name and the old domain meets a corporation whose
    current-name cards carry the new domain: not a conflict (the old domain went with the old name)."""
    batch = records({"name": "三栄電子", "key": "ma_leads:L1", "domain": "sanei-denshi.co.jp"},
                    {"name": "株式会社サンエイテクノロジー", "pref": "愛知県", "domain": "sanei-tech.co.jp"})
    got = anchor_records(batch, registry, RULES).filter(pl.col("record_key") == "ma_leads:L1").row(0, named=True)
    assert got["registry_number"] == N["renamed"]
