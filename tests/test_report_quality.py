"""The report's data-quality section: findings and CRM merge groups, capped, named where the rest is."""

from __future__ import annotations

import polars as pl

from abm.report import quality


def _dups(n_groups: int) -> pl.DataFrame:
    rows = []
    for g in range(n_groups):
        for i in (1, 2):
            rows.append({"kind": "crm_accounts", "crm_id": f"crm_accounts:D{g}-{i}", "duplicate_of": f"crm_accounts:S{g}",
                         "account_id": "A1", "person_id": None, "evidence": ["x"], "survivor_rule": "has_corporate_number",
                         "merge_group": f"S{g}-1", "shared": ["phone", "name"] if i == 1 else ["name"]})
    return pl.DataFrame(rows)


def test_merge_groups_are_one_row_each_with_the_account_name():
    tables = {"crm_duplicates": _dups(2),
              "accounts": pl.DataFrame({"account_id": ["A1"], "name": ["<b>東和製薬</b>"]})}
    out = quality.build_quality(tables)
    assert len(out["duplicates"]) == 2 and out["duplicates_more"] == 0
    first = out["duplicates"][0]
    assert first["crm_ids"] == "crm_accounts:D0-1, crm_accounts:D0-2"
    assert first["shared"] == "name, phone" and first["account_name"] == "<b>東和製薬</b>"


def test_long_lists_are_capped_and_counted(monkeypatch):
    monkeypatch.setattr(quality, "SHOWN", 3)
    findings = pl.DataFrame({"finding": ["sync_conflict"] * 5, "record_key": [f"ma_leads:{i}" for i in range(5)],
                             "detail": ["d"] * 5})
    out = quality.build_quality({"data_quality": findings, "crm_duplicates": _dups(5)})
    assert len(out["findings"]) == 3 and out["findings_more"] == 2
    assert len(out["duplicates"]) == 3 and out["duplicates_more"] == 2


def test_nothing_to_show_is_empty():
    assert quality.build_quality({}) == {"findings": [], "findings_more": 0, "duplicates": [], "duplicates_more": 0}

