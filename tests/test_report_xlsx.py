"""report.xlsx: text stays text (no formulas, no numberized IDs), frozen header, autofilter, one-line sheets."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import polars as pl

from abm.report.xlsx import SHEETS, Sheet, write_xlsx

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1-2", "@SUM(A1)", "-3", "0312345678", "0123456789012", "<b>x</b>"]


def _tables() -> dict[str, pl.DataFrame]:
    accounts = pl.DataFrame({
        "account_id": ["A1", "A2"], "name": ["共栄デジタル", HOSTILE[0]], "corporate_number": ["0123456789012", None],
        "prefecture": ["大阪府", "福岡県"], "domains": [["kyoei.co.jp"], []], "postal_codes": [["0600001"], []],
        "phones": [["0312345678"], []], "n_records": [3, 1], "n_persons": [2, 0],
    })
    persons = pl.DataFrame({"person_id": ["P1"], "account_id": ["A1"], "name": ["山田 太郎"], "title": ["部長"]})
    collisions = pl.DataFrame({
        "flag_id": ["F1", "F2"], "level": ["person", "account"], "account_id": ["A1", "A2"],
        "counterpart_department": ["営業部", None], "person_id": ["P1", None],
        "internal_departments": [["第一営業部", "第二営業部"], ["a", "b"]], "internal_owners": [[HOSTILE[1]], []],
        "severity": ["high", "critical"], "status": ["new", "ongoing"],
        "first_seen_on": [date(2025, 6, 1), date(2025, 5, 1)], "open_opportunity_amount": [0.0, 1.5e6],
        "evidence": [HOSTILE[2:4], ["cards:1"]],
    })
    gaps = pl.DataFrame(schema={"flag_id": pl.String, "account_id": pl.String, "gap_type": pl.String,
                                "person_id": pl.String, "counterpart_department": pl.String})
    return {"accounts": accounts, "persons": persons, "collisions": collisions, "key_person_gaps": gaps}


def test_every_text_cell_is_text_and_nothing_is_a_formula(tmp_path: Path):
    path = tmp_path / "report.xlsx"
    assert write_xlsx(path, _tables()) == ["collisions", "gaps", "accounts"]
    book = openpyxl.load_workbook(path)
    for sheet in book:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref is not None
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    acc = book["accounts"]
    header = [c.value for c in acc[1]]
    first = {h: c for h, c in zip(header, acc[2], strict=True)}
    assert first["corporate_number"].value == "0123456789012" and first["corporate_number"].data_type == "s"
    assert first["phones"].value == "0312345678" and first["postal_codes"].value == "0600001"
    assert acc.cell(3, header.index("name") + 1).value == HOSTILE[0]
    col = book["collisions"]
    col_header = [c.value for c in col[1]]
    # critical first, then by status / amount
    assert col.cell(2, col_header.index("severity") + 1).value == "critical"
    assert col.cell(3, col_header.index("person_name") + 1).value == "山田 太郎"
    assert col.cell(3, col_header.index("internal_owners") + 1).value == HOSTILE[1]


def test_a_sheet_is_one_line(tmp_path: Path):
    extra = [*SHEETS, Sheet("extra", lambda t: t.get("extra"))]
    tables = _tables() | {"extra": pl.DataFrame({"finding": ["x"], "record_key": ["cards:1"]})}
    assert write_xlsx(tmp_path / "r.xlsx", tables, extra)[-1] == "extra"
    assert write_xlsx(tmp_path / "s.xlsx", _tables(), extra)[-1] == "accounts"   # absent table: no sheet
