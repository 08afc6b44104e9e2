"""Exports: hostile strings stay data; CSV is Excel-safe; the HTML report escapes everything."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from abm.export import excel_safe, write_csv
from abm.pipeline import run
from abm.settings import Settings

HOSTILE = '<script>alert("x")</script>'
FORMULA = '=HYPERLINK("http://example.invalid","click")'


def test_excel_safe_prefixes_formulas_and_joins_lists():
    df = pl.DataFrame({"a": [FORMULA, "+81", "-1", "@x", "safe", None], "l": [["p", "q"]] * 6})
    out = excel_safe(df)
    assert out["a"].to_list()[:5] == ["'" + FORMULA, "'+81", "'-1", "'@x", "safe"]
    assert out["a"][5] is None
    assert out["l"][0] == "p | q"


def test_csv_has_bom(tmp_path: Path):
    write_csv(pl.DataFrame({"name": ["株式会社テスト"]}), tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_hostile_names_survive_as_data_and_are_escaped(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "crm_accounts.csv").write_text(
        "account_id,name,owner_department\nA1,\"" + HOSTILE.replace('"', '""') + "\",営業部\n"
        "A2,\"" + FORMULA.replace('"', '""') + "\",営業部\n", encoding="utf-8")
    (src / "crm_opportunities.csv").write_text(
        "opportunity_id,account_id,product,is_closed,owner_department,created_on\n"
        "O1,A1,<b>product</b>,false,第一営業部,2026-01-05\n"
        "O2,A1,x,false,第二営業部,2026-01-06\n", encoding="utf-8")
    run(Settings(input_dir=src, out_dir=tmp_path / "out"))
    accounts = pl.read_parquet(tmp_path / "out" / "accounts.parquet")
    assert FORMULA in accounts["name"].to_list()
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "\\u003cscript\\u003ealert" in html   # kept as data in the report's embedded JSON
    assert "<b>product</b>" not in html
    csv = pl.read_csv(tmp_path / "out" / "csv" / "accounts.csv", infer_schema=False)
    assert "'" + FORMULA in csv["name"].to_list()
