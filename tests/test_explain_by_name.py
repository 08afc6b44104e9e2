"""abm explain by name, the run summary, -q, and the account display name."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.cli import main
from abm.explain import MAX_FLAGS, find_by_name, name_key
from abm.tables import accounts_table
from tests.test_detect_frames import card, make_records


def _critical_account(out: Path) -> dict:
    col = pl.read_parquet(out / "collisions.parquet").filter(pl.col("severity") == "critical")
    accounts = pl.read_parquet(out / "accounts.parquet")
    return accounts.filter(pl.col("account_id") == col["account_id"][0]).row(0, named=True)


def test_explain_a_company_name_of_a_critical_collision(demo_run: Path):
    account = _critical_account(demo_run)
    names = pl.read_parquet(demo_run / "accounts.parquet")["name"]
    result = CliRunner().invoke(main, ["explain", str(demo_run), account["name"]])
    assert result.exit_code == 0, result.output
    assert account["account_id"] in result.output
    if (names == account["name"]).sum() == 1:
        assert "critical collision" in result.output
        assert result.output.index("collision") < result.output.index("evidence")


@pytest.mark.parametrize("decorate", [
    lambda n: n,
    lambda n: f"株式会社{n}",
    lambda n: f"{n}（株）",
    lambda n: f"  {n} ",
])
def test_a_name_matches_whatever_the_legal_form_or_spacing(demo_run: Path, decorate):
    account = _critical_account(demo_run)
    hits = find_by_name(demo_run, decorate(account["name"]))
    assert account["account_id"] in hits["id"].to_list()


def test_a_partial_name_lists_candidates_with_ids(demo_run: Path):
    accounts = pl.read_parquet(demo_run / "accounts.parquet")
    # the first two characters that more than one account name starts with
    prefixes = accounts.with_columns(pl.col("name").str.slice(0, 2).alias("p")).group_by("p").len()
    prefix = prefixes.filter(pl.col("len") > 1).sort("len", "p", descending=[True, False])["p"][0]
    result = CliRunner().invoke(main, ["explain", str(demo_run), prefix])
    assert result.exit_code == 0, result.output
    assert "match" in result.output.splitlines()[0]
    ids = accounts.filter(pl.col("name").str.starts_with(prefix))["account_id"].to_list()
    assert all(i in result.output for i in ids[:5])


def test_a_person_name_is_found(demo_run: Path):
    person = pl.read_parquet(demo_run / "persons.parquet").filter(pl.col("name").is_not_null()).row(0, named=True)
    assert person["person_id"] in find_by_name(demo_run, person["name"])["id"].to_list()


def test_explain_a_flag_id(demo_run: Path):
    flag = pl.read_parquet(demo_run / "collisions.parquet").row(0, named=True)
    result = CliRunner().invoke(main, ["explain", str(demo_run), flag["flag_id"]])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"flag {flag['flag_id']}") and flag["account_id"] in result.output


def test_an_unknown_name_fails_clearly(demo_run: Path):
    result = CliRunner().invoke(main, ["explain", str(demo_run), "存在しない会社名ＺＺＺ"])
    assert result.exit_code == 1
    assert "neither a record key" in result.output and "name of an account or person" in result.output


def test_long_flag_lists_are_cut_with_a_count(demo_run: Path):
    col = pl.read_parquet(demo_run / "collisions.parquet")
    # a record key that is evidence of more than MAX_FLAGS flags does not exist in the demo; an
    # account ID that has more flags than the cut shows the "… and N more" line
    per = col.group_by("account_id").len().sort("len", descending=True)
    result = CliRunner().invoke(main, ["explain", str(demo_run), per["account_id"][0]])
    assert result.exit_code == 0
    if per["len"][0] > MAX_FLAGS:
        assert "… and" in result.output


@pytest.mark.parametrize(("raw", "key"), [
    ("株式会社 大成製作所", "大成製作所"),
    ("大成製作所（株）", "大成製作所"),
    ("Toyo Electric Co., Ltd.", "toyoelectric"),
    ("ＴＯＹＯ　Ｅｌｅｃｔｒｉｃ", "toyoelectric"),
    ("山田 太郎", "山田太郎"),
    ("", ""),
])
def test_name_key(raw: str, key: str):
    assert name_key(raw) == key


def test_run_summary_names_critical_and_new_flags_and_q_is_silent(small_world: Path, tmp_path: Path):
    out = tmp_path / "out"
    loud = CliRunner().invoke(main, ["run", str(small_world), "--out", str(out)])
    assert loud.exit_code == 0, loud.output
    assert "critical collisions" in loud.output and "new flags" in loud.output
    quiet = CliRunner().invoke(main, ["run", str(small_world), "--out", str(out), "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""


def test_account_name_prefers_japanese_script_over_an_english_crm_name():
    rows = [
        card("C1", "A", "P1", None, None, "2025-01-01", company_name="共栄デジタル"),
        card("C2", "A", "P2", None, None, "2025-01-02", company_name="共栄デジタル"),
        {"kind": "crm_accounts", "source_id": "X1", "account_id": "A", "company_name": "KyoeiDigital Holdings"},
        {"kind": "crm_accounts", "source_id": "X2", "account_id": "A", "company_name": "KyoeiDigital Holdings"},
        {"kind": "crm_accounts", "source_id": "X3", "account_id": "B", "company_name": "Acme Trading"},
        card("C3", "B", "P3", None, None, "2025-01-01", company_name="Acme Trading", postal_code="1000001"),
    ]
    records = make_records(rows).with_columns(pl.lit(None, dtype=pl.Float64).alias("account_score"))
    accounts = accounts_table(records).sort("account_id")
    assert accounts["name"].to_list() == ["共栄デジタル", "Acme Trading"]
    assert accounts["names"][0].to_list() == ["KyoeiDigital Holdings", "共栄デジタル"]
    assert accounts["postal_codes"][1].to_list() == ["1000001"]
    for column in ("prefecture", "corporate_number", "domains", "phones"):
        assert column in accounts.columns


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_name_key_never_raises_and_has_no_spaces(text: str):
    key = name_key(text)
    assert isinstance(key, str) and not any(ch.isspace() for ch in key)
