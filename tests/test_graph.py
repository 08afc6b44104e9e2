"""Department resolution within an account and the buying-committee graph (abm.graph)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl
import pytest

from abm.contract import OUTPUTS
from abm.detect.current import current_persons
from abm.detect.touches import build_touches
from abm.graph import account_graph, committee_edges, resolve_departments, write_graphs
from tests.test_detect_frames import AS_OF, card, d, make_records


def _departments(rows: list[dict[str, Any]]) -> dict[str, str | None]:
    out = resolve_departments(make_records(rows))
    return dict(zip(out.get_column("record_key"), out.get_column("department"), strict=True))


def test_leaf_department_takes_the_full_path_known_in_the_account() -> None:
    got = _departments([
        card("C1", "A", "P1", "営業本部/第一営業部", None, "2025-01-01"),
        card("C2", "A", "P2", "第一営業部", None, "2025-01-01"),
        card("C3", "B", "P3", "第一営業部", None, "2025-01-01"),          # another account: untouched
        card("C4", "A", "P4", "営業本部", None, "2025-01-01"),            # a parent stays the parent
        card("C5", "A", "P5", None, None, "2025-01-01"),
    ])
    assert got == {"cards:C1": "営業本部/第一営業部", "cards:C2": "営業本部/第一営業部", "cards:C3": "第一営業部",
                   "cards:C4": "営業本部", "cards:C5": None}


def test_ambiguous_leaf_is_left_alone_and_nested_paths_resolve_to_the_longest() -> None:
    got = _departments([
        card("C1", "A", None, "営業本部/第一営業部", None, "2025-01-01"),
        card("C2", "A", None, "技術本部/第一営業部", None, "2025-01-01"),
        card("C3", "A", None, "第一営業部", None, "2025-01-01"),
        card("C4", "A", None, "本社/管理本部/経理部", None, "2025-01-01"),
        card("C5", "A", None, "管理本部/経理部", None, "2025-01-01"),
        card("C6", "A", None, "経理部", None, "2025-01-01"),
    ])
    assert got["cards:C3"] == "第一営業部"
    assert got["cards:C5"] == got["cards:C6"] == "本社/管理本部/経理部"


def _world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    records = make_records([
        card("C1", "A", "P1", "営業本部", "第一営業部", "2025-01-01", rank=6),
        card("C2", "A", "P2", "営業本部/第一営業部", "第一営業部", "2025-02-01", rank=5),
        card("C3", "A", "P3", "営業本部/第一営業部", "第二営業部", "2025-03-01", rank=3),
        card("C4", "A", "P3", "営業本部/第一営業部", "第二営業部", "2025-04-01", rank=3),
        card("C5", "A", "P4", "営業本部/第一営業部/第二課", None, "2025-04-01", rank=2),
        card("C6", "A", "P5", "総務部", None, "2025-04-01", rank=0),
        card("C7", "A", "P6", None, "第三営業部", "2025-04-01", rank=1),
        card("C8", "A", "P7", "営業本部/第一営業部", None, "2025-04-02", rank=5),   # same rank as P2
    ])
    persons = current_persons(records)
    return records, persons, build_touches(records, AS_OF)


def _edges(relation: str) -> set[tuple[str, str]]:
    edges = committee_edges(*_world())
    return {(r["src"], r["dst"]) for r in edges.filter(pl.col("relation") == relation).iter_rows(named=True)}


def test_edge_table_columns_and_order() -> None:
    edges = committee_edges(*_world())
    assert tuple(edges.columns[:4]) == OUTPUTS["committee_edges"]
    assert {"weight", "first_on", "last_on"} <= set(edges.columns)
    assert edges.equals(edges.sort(["account_id", "relation", "src", "dst"]))


def test_member_of_and_part_of() -> None:
    assert ("person:P3", "dept:A/営業本部/第一営業部") in _edges("member_of")
    assert ("person:P6", "account:A") in _edges("member_of")       # no department: the account
    assert _edges("part_of") == {
        ("dept:A/営業本部", "account:A"), ("dept:A/営業本部/第一営業部", "dept:A/営業本部"),
        ("dept:A/営業本部/第一営業部/第二課", "dept:A/営業本部/第一営業部"), ("dept:A/総務部", "account:A")}


def test_reports_to_the_highest_ranked_person_above_in_the_line() -> None:
    reports = _edges("reports_to")
    # P3 (3), P4 (2, a sub-section) and P2 / P7 (5) all report to the division head P1 (6)
    assert {("person:P3", "person:P1"), ("person:P4", "person:P1"), ("person:P2", "person:P1"),
            ("person:P7", "person:P1")} <= reports
    # nobody above the top; unknown rank (P5) and people outside the line (P6) report to nobody
    assert not any(src in {"person:P1", "person:P5", "person:P6"} for src, _ in reports)
    assert len(reports) == 4


def test_knows_counts_touches_with_first_and_last_dates() -> None:
    edges = committee_edges(*_world())
    row = edges.filter((pl.col("relation") == "knows") & (pl.col("src") == "internal:第二営業部")).row(0, named=True)
    assert (row["dst"], row["weight"], row["first_on"], row["last_on"]) == \
        ("person:P3", 2, d("2025-03-01"), d("2025-04-01"))


def test_account_graph_and_exports(tmp_path: Path) -> None:
    edges = committee_edges(*_world())
    graph = account_graph(edges, "A")
    assert isinstance(graph, nx.DiGraph)
    assert graph.nodes["dept:A/営業本部/第一営業部"] == {"kind": "department", "label": "営業本部/第一営業部"}
    assert graph.nodes["internal:第二営業部"]["kind"] == "internal"
    assert graph.edges["internal:第二営業部", "person:P3"]["weight"] == 2
    odd = edges.with_columns(pl.lit("株式会社/A").alias("account_id"))
    paths = write_graphs(pl.concat([edges, odd]), tmp_path)
    assert len(paths) == 4 and all(p.parent == tmp_path for p in paths)
    back = nx.read_graphml(tmp_path / "A.graphml")
    assert back.number_of_edges() == graph.number_of_edges()
    data = json.loads((tmp_path / "A.json").read_text(encoding="utf-8"))
    assert len(data["edges"]) == graph.number_of_edges()


def test_empty_inputs() -> None:
    records = make_records([])
    persons = current_persons(records)
    edges = committee_edges(records, persons, build_touches(records, AS_OF))
    assert edges.height == 0 and tuple(edges.columns[:4]) == OUTPUTS["committee_edges"]
    assert resolve_departments(records).height == 0


def _merged(rows: list[tuple[str, str, str | None, str | None]]) -> dict[str, str | None]:
    """rows: (card id, account, department, department as written) -> department after resolution."""
    return _departments([card(sid, acc, None, dept, None, "2025-01-01", department_raw=raw)
                         for sid, acc, dept, raw in rows])


UNIT_VARIANTS = [
    # one stem written with 室 and 部 in one account is one department: the unit written in Japanese wins
    ([("1", "A", "経営企画室", "経営企画室"), ("2", "A", "経営企画部", "Corporate Planning Dept."),
      ("3", "A", "経営企画部", "経営企画")],
     {"1": "経営企画室", "2": "経営企画室", "3": "経営企画室"}),
    ([("1", "A", "DX推進室", "DX推進室"), ("2", "A", "DX推進部", "DX推進部"), ("3", "A", "DX推進部", "デジタル推進部"),
      ("4", "A", "DX推進部", "ＤＸ推進部")],
     {"1": "DX推進部", "2": "DX推進部", "3": "DX推進部", "4": "DX推進部"}),
    # a tie of written units: the default unit (部), however many English names say "Office"
    ([("1", "A", "品質保証室", "品質保証室"), ("2", "A", "品質保証部", "品質保証部"),
      ("3", "A", "品質保証室", "Quality Assurance Office"), ("4", "A", "品質保証室", "QA Office")],
     {"1": "品質保証部", "2": "品質保証部", "3": "品質保証部", "4": "品質保証部"}),
    # nothing written in Japanese: the default unit
    ([("1", "A", "経営企画室", "Corporate Planning Office"), ("2", "A", "経営企画部", "Corporate Planning Dept.")],
     {"1": "経営企画部", "2": "経営企画部"}),
    # the variant under a parent path follows the unit; the parent path then takes the leaf
    ([("1", "A", "管理本部/経営企画部", "管理本部 経営企画部"), ("2", "A", "経営企画室", "経営企画室")],
     {"1": "管理本部/経営企画部", "2": "管理本部/経営企画部"}),
    # under two different parents they are two departments; under one parent and none, one
    ([("1", "A", "営業本部/企画室", "営業本部 企画室"), ("2", "A", "管理本部/企画部", "管理本部 企画部")],
     {"1": "営業本部/企画室", "2": "管理本部/企画部"}),
    ([("1", "A", "営業本部/企画室", "営業本部 企画室"), ("2", "A", "企画部", "企画部"), ("3", "A", "企画部", "企画部")],
     {"1": "営業本部/企画部", "2": "営業本部/企画部", "3": "営業本部/企画部"}),
    # one nested under the other are two departments; other accounts and other stems are untouched
    ([("1", "A", "経営企画部/経営企画室", "経営企画部 経営企画室"), ("2", "A", "経営企画部", "経営企画部"),
      ("3", "B", "経営企画室", "経営企画室"), ("4", "A", "総務部", "総務部"), ("5", "A", "社長室", "社長室")],
     {"1": "経営企画部/経営企画室", "2": "経営企画部", "3": "経営企画室", "4": "総務部", "5": "社長室"}),
    # 本部 is not 部: 営業本部 and 営業部 are two levels
    ([("1", "A", "営業本部", "営業本部"), ("2", "A", "営業室", "営業室")], {"1": "営業本部", "2": "営業室"}),
]


@pytest.mark.parametrize(("rows", "expected"), UNIT_VARIANTS)
def test_unit_variants_of_one_stem_are_one_department_per_account(
        rows: list[tuple[str, str, str | None, str | None]], expected: dict[str, str]) -> None:
    got = _merged(rows)
    assert got == {f"cards:{k}": v for k, v in expected.items()}
