"""report.html: escaping, self-containment, urgency order, every flag embedded, labels per language."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from abm.errors import AbmError
from abm.report.html import render_report, script_json
from abm.report.model import model_frames
from abm.report.overview import department_pairs

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</script><script>alert(2)</script>",
           "<!--", "</SCRIPT >", "a\u2028b", "{{ 7*7 }}", "&amp;", "=HYPERLINK(\"http://x.invalid\")"]
L = pl.List(pl.String)


def build_model(tables: dict[str, pl.DataFrame]) -> dict[str, object]:
    """report.html's embedded data with each table's rows as tuples, as the page's JSON holds them."""
    return {key: value.rows() if isinstance(value, pl.DataFrame) else value
            for key, value in model_frames(tables).items()}


def _data(html: str) -> dict:
    body = re.search(r'<script type="application/json" id="abm-data">(.*?)</script>', html, re.S)
    assert body is not None
    return json.loads(body.group(1))


def _tables(name: str = "株式会社テスト", dept: str = "情報システム部", owner: str = "佐藤") -> dict[str, pl.DataFrame]:
    """Three accounts: A1 critical + new, A2 critical + ongoing with a larger opportunity, A3 a gap only."""
    accounts = pl.DataFrame({"account_id": ["A1", "A2", "A3"], "name": [name, "東西商事", "東西商事"],
                             "corporate_number": ["1234567890123", None, None],
                             "domains": [["example.co.jp"], [], []], "n_records": [3, 2, 1],
                             "prefecture": ["大阪府", "福岡県", "東京都"]}, schema_overrides={"domains": L})
    persons = pl.DataFrame({"person_id": ["P1", "P2", "P3"], "account_id": ["A1", "A2", "A3"],
                            "name": [name, "鈴木 一郎", "高橋 花子"], "department": [dept, "総務部", "経理部"],
                            "title": [name, "部長", "担当"], "rank": [1, 5, 1]})
    touches = pl.DataFrame({"account_id": ["A1"], "person_id": ["P1"], "counterpart_department": [dept],
                            "internal_department": ["第一営業部"], "touched_on": [date(2026, 1, 5)],
                            "record_key": ["cards:C1"], "kind": ["cards"], "owner_name": [owner]})
    edges = pl.DataFrame({"account_id": ["A1", "A1"], "src": ["internal:第一営業部", "internal:" + dept],
                          "dst": ["person:P1", "person:P1"], "relation": ["knows", "knows"], "weight": [2, 1]})
    collisions = pl.DataFrame({
        "flag_id": ["F1", "F2", "F3"], "level": ["person", "account", "department"],
        "account_id": ["A1", "A2", "A2"], "counterpart_department": [dept, None, "総務部"],
        "person_id": ["P1", None, None], "internal_departments": [["第一営業部", dept], ["第一営業部", "第二営業部"],
                                                               ["第二営業部", "海外営業部"]],
        "internal_owners": [[owner], ["田中"], []], "window_start": [date(2025, 10, 7)] * 3,
        "window_end": [date(2026, 1, 5)] * 3, "severity": ["critical", "critical", "low"],
        "evidence": [["cards:C1", "cards:" + name], ["crm_opportunities:O1"], ["cards:C9"]],
        "status": ["new", "ongoing", "new"], "first_seen_on": [date(2026, 1, 5), date(2025, 12, 1), date(2026, 1, 5)],
        "open_opportunities": [1, 2, 0], "open_opportunity_amount": [1000.0, 5_000_000.0, 0.0],
        "open_opportunity_products": [[name], ["製品X"], []], "open_opportunity_stages": [["提案"], ["見積"], []],
    }, schema_overrides={"internal_departments": L, "internal_owners": L, "evidence": L,
                         "open_opportunity_products": L, "open_opportunity_stages": L})
    gaps = pl.DataFrame({
        "flag_id": ["G1"], "account_id": ["A3"], "counterpart_department": ["経理部"], "gap_type": ["single_threaded"],
        "person_id": ["P3"], "evidence": [["cards:C3"]], "status": ["ongoing"], "first_seen_on": [date(2025, 12, 1)],
        "holder_internal_departments": [[]], "holder_owners": [[]], "engaging_internal_departments": [["第一営業部"]],
    }, schema_overrides={"evidence": L, "holder_internal_departments": L, "holder_owners": L,
                         "engaging_internal_departments": L})
    history = pl.DataFrame({"flag_id": ["F0", "F1"], "flag_type": ["person", "person"], "account_id": ["A2", "A1"],
                            "status": ["resolved", "new"], "as_of": [date(2026, 1, 5)] * 2,
                            "run_at": [datetime(2026, 1, 6)] * 2})
    return {"accounts": accounts, "persons": persons, "touches": touches, "committee_edges": edges,
            "collisions": collisions, "key_person_gaps": gaps, "flag_history": history}


@pytest.mark.parametrize("text", HOSTILE)
def test_script_json_never_breaks_out_and_round_trips(text: str):
    encoded = str(script_json({"v": [text]}))
    assert "<" not in encoded and ">" not in encoded and "\u2028" not in encoded
    assert json.loads(encoded) == {"v": [text]}


@given(st.text())
def test_script_json_round_trips_any_text(text: str):
    encoded = str(script_json([text]))
    assert "</" not in encoded and "<!--" not in encoded
    assert json.loads(encoded) == [text]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_stay_data(hostile: str):
    html = render_report(_tables(hostile, hostile, hostile), date(2026, 1, 5), {})
    # the only markup is ours: two script elements (data + code), no injected element or comment
    lowered = html.lower()
    assert lowered.count("<script") == 2 and lowered.count("</script") == 2
    assert "<img" not in lowered and "<!--" not in html
    assert hostile in _data(html)["s"]   # kept as data, unchanged (a template expression is not evaluated)


def test_no_network_resource_and_japanese_by_default():
    html = render_report(_tables(), date(2026, 1, 5), {})
    assert '<html lang="ja">' in html
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", html, re.I)
    assert "重大" in html and "決裁者不在" in _data(html)["m"]["gap_type"]["no_decision_maker"]


def test_english_labels_with_lang_en():
    html = render_report(_tables(), date(2026, 1, 5), {}, lang="en")
    assert '<html lang="en">' in html
    assert "Critical" in html and _data(html)["m"]["gap_type"]["single_threaded"] == "Single-threaded"


def test_unknown_language_is_a_clear_error():
    with pytest.raises(AbmError, match="messages.yaml"):
        render_report(_tables(), date(2026, 1, 5), {}, lang="xx")


def test_accounts_in_urgency_order_and_every_flag_embedded():
    model = build_model(_tables())
    s, fields = model["s"], model["fields"]
    ids = [s[row[fields["a"].index("id")]] for row in model["a"]]
    # both critical; A1 has a new critical flag, so it comes before A2's larger ongoing opportunity;
    # the gap-only account comes last
    assert ids == ["A1", "A2", "A3"]
    flag_ids = {s[row[0]] for row in model["c"]} | {s[row[0]] for row in model["g"]}
    assert flag_ids == {"F1", "F2", "F3", "G1"}
    same_name = [row[fields["a"].index("same_name")] for row in model["a"]]
    assert same_name == [False, True, True]
    assert [s[v] for row in model["r"] for v in row[:1]] == ["F0"]


def test_without_the_optional_columns_the_report_still_renders():
    """An output set with the contract's required columns only (no status, amounts, history)."""
    tables = _tables()
    tables["collisions"] = tables["collisions"].select("level", "account_id", "counterpart_department", "person_id",
                                                       "internal_departments", "window_start", "window_end",
                                                       "severity", "evidence")
    tables["key_person_gaps"] = tables["key_person_gaps"].select("account_id", "counterpart_department", "gap_type",
                                                                 "person_id", "evidence")
    del tables["flag_history"]
    html = render_report(tables, date(2026, 1, 5), {})
    assert len(_data(html)["c"]) == 3


def test_department_pairs_are_symmetric_counts():
    pairs = department_pairs(_tables()["collisions"])
    got = {(a, b): n for a, b, n in pairs.iter_rows()}
    assert got[("第一営業部", "第二営業部")] == got[("第二営業部", "第一営業部")] == 1
    assert ("第一営業部", "第一営業部") not in got


def test_demo_report_holds_every_critical_account(demo_run: Path):
    html = (demo_run / "report.html").read_text(encoding="utf-8")
    collisions = pl.read_parquet(demo_run / "collisions.parquet")
    for account_id in collisions.filter(pl.col("severity") == "critical")["account_id"].unique():
        assert account_id in html
    assert len(_data(html)["c"]) == collisions.height


def test_an_unusable_amount_does_not_stop_the_report():
    tables = _tables()
    tables["collisions"] = tables["collisions"].with_columns(
        pl.Series("open_opportunity_amount", [float("nan"), float("inf"), 1.0]))
    data = _data(render_report(tables, date(2026, 1, 5), {}))
    amounts = [row[data["fields"]["c"].index("amount")] for row in data["c"]]
    assert sorted(a for a in amounts if a is not None) == [1.0] and amounts.count(None) == 2


@pytest.mark.parametrize(("status", "successor", "mark"), [
    ("closed", None, "closed"), ("absorbed", "1234567890123", "absorbed"), ("active", None, None), (None, None, None),
])
def test_closed_and_absorbed_accounts_are_marked(status: str | None, successor: str | None, mark: str | None):
    tables = _tables()
    tables["accounts"] = tables["accounts"].with_columns(
        pl.Series("registry_status", [status, None, None], dtype=pl.String),
        pl.Series("successor_corporate_number", [successor, None, None], dtype=pl.String))
    model = build_model(tables)
    s, fields = model["s"], model["fields"]["a"]
    a1 = next(r for r in model["a"] if s[r[fields.index("id")]] == "A1")
    got = a1[fields.index("registry_status")]
    assert (None if got is None else s[got]) == mark
    succ = a1[fields.index("successor")]
    assert (None if succ is None else s[succ]) == successor


def test_message_catalogue_reads_as_the_pure_python_safe_loader_reads_it():
    """The catalogue is parsed by libyaml where PyYAML has it: the same labels as yaml.safe_load."""
    import yaml

    from abm.report.messages import _catalogue

    text = Path(__file__).parents[1].joinpath("abm", "report", "messages.yaml").read_text(encoding="utf-8")
    assert _catalogue() == yaml.load(text, Loader=yaml.SafeLoader)
