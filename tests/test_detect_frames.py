"""Hand-made resolved-records frames for the detect / graph tests (NORMALIZED_SCHEMA + ids)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from abm.contract import NORMALIZED_SCHEMA

_TYPES = {"str": pl.String, "int": pl.Int64, "bool": pl.Boolean, "date": pl.Date, "float": pl.Float64}
SCHEMA: dict[str, Any] = {name: _TYPES[t] for name, t in NORMALIZED_SCHEMA.items()}
SCHEMA |= {"account_id": pl.String, "person_id": pl.String}
AS_OF = date(2025, 6, 30)


def d(text: str) -> date:
    return date.fromisoformat(text)


def make_records(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A resolved records frame: every schema column, nulls where a row does not say.

    Each row needs kind and source_id; record_key is derived, makes_touch defaults to true,
    rank to 0, and ISO date strings are accepted.
    """
    full = []
    for row in rows:
        r = {k: None for k in SCHEMA} | {"makes_touch": True, "rank": 0} | row
        r["record_key"] = r["record_key"] or f"{r['kind']}:{r['source_id']}"
        for col in ("record_date", "last_activity_on", "close_on"):
            if isinstance(r[col], str):
                r[col] = d(r[col])
        full.append(r)
    return pl.DataFrame(full, schema=SCHEMA)


def card(sid: str, account: str, person: str | None, dept: str | None, internal: str | None, on: str,
         rank: int = 0, title: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"kind": "cards", "source_id": sid, "account_id": account, "person_id": person, "department": dept,
            "internal_department": internal, "record_date": on, "rank": rank, "title": title,
            "has_person": person is not None} | extra


def contact(sid: str, account: str, person: str, dept: str | None, internal: str | None, on: str,
            rank: int = 0, title: str | None = None, **extra: Any) -> dict[str, Any]:
    return card(sid, account, person, dept, internal, on, rank, title, **extra) | {"kind": "crm_contacts"}


def opportunity(sid: str, account: str, contact_sid: str | None, internal: str | None, on: str,
                closed: bool | None = False, product: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"kind": "crm_opportunities", "source_id": sid, "account_id": account,
            "contact_ref": f"crm_contacts:{contact_sid}" if contact_sid else None, "internal_department": internal,
            "record_date": on, "is_closed": closed, "product": product} | extra


def ma_lead(sid: str, account: str, person: str, dept: str | None, on: str, rank: int = 0) -> dict[str, Any]:
    return card(sid, account, person, dept, None, on, rank) | {"kind": "ma_leads"}


def activity(sid: str, account: str, lead_sid: str, person: str | None, internal: str | None,
             on: str) -> dict[str, Any]:
    return {"kind": "ma_activities", "source_id": sid, "account_id": account, "person_id": person,
            "account_ref": f"ma_leads:{lead_sid}", "internal_department": internal, "record_date": on}


def test_make_records_has_every_schema_column() -> None:
    frame = make_records([{"kind": "cards", "source_id": "C1", "record_date": "2025-01-02"}])
    assert frame.columns == list(SCHEMA)
    assert frame.row(0, named=True)["record_key"] == "cards:C1"
    assert frame.schema["record_date"] == pl.Date
    assert make_records([]).height == 0
