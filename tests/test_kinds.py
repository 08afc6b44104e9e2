"""abm.contract.KIND_TABLE describes each input kind once; the per-kind constants the stages use are
derived from it and equal the literals they replaced."""

from __future__ import annotations

import pytest

from abm import contract, resolve
from abm.detect import current, touches
from abm.load import owners

_OWNER = ("owner_name", "owner_department")


@pytest.mark.parametrize(
    ("derived", "literal"),
    [
        (contract.PERSON_KINDS, ("cards", "crm_contacts", "crm_leads", "ma_leads")),
        (contract.DATE_COLUMNS, {
            "cards": ("exchanged_on",),
            "crm_contacts": ("created_on", "last_activity_on"),
            "crm_leads": ("created_on", "converted_on"),
            "crm_opportunities": ("created_on", "close_on"),
            "ma_leads": ("created_on",),
            "ma_activities": ("activity_on",),
        }),
        (owners.TOUCH_OWNER, {"cards": _OWNER, "crm_contacts": _OWNER, "crm_leads": _OWNER,
                              "crm_opportunities": _OWNER, "ma_activities": ("program", "program_department")}),
        (touches.TOUCH_KINDS, ("cards", "crm_contacts", "crm_leads", "crm_opportunities", "ma_activities")),
        (touches.REFERRING_KINDS, {"crm_opportunities": "contact_ref", "ma_activities": "account_ref"}),
        (resolve.ACCOUNT_UNIT_KINDS, ("crm_accounts", "cards", "crm_leads", "ma_leads")),
        (resolve.ID_ANCHOR_ORDER, ("crm_accounts", "crm_contacts", "cards", "crm_leads", "ma_leads",
                                   "crm_opportunities", "ma_activities")),
        (current.KIND_ORDER, {"crm_contacts": 0, "cards": 1, "crm_leads": 2, "ma_leads": 3}),
        # the record-date map normalize/records.py used to spell out
        ({k: contract.KIND_BY_ID[k].record_date for k in contract.KINDS},
         {k: {"cards": "exchanged_on", "ma_activities": "activity_on", "crm_accounts": None}.get(k, "created_on")
          for k in contract.KINDS}),
    ],
)
def test_derived_constants_equal_the_old_literals(derived, literal):
    assert derived == literal
    assert list(derived) == list(literal)  # order too: some are read in order


def test_the_table_covers_every_kind_and_names_real_columns():
    assert [k.id for k in contract.KIND_TABLE] == list(contract.KINDS)
    assert sorted(k.anchor_rank for k in contract.KIND_TABLE) == list(range(len(contract.KINDS)))
    for kind in contract.KIND_TABLE:
        named = [*kind.date_columns, *kind.touch_owner, *(c for c, _, _ in kind.refs)]
        named += [kind.company_column] if kind.company_column else []
        assert set(named) <= set(kind.columns), kind.id
        for _, target, ref in kind.refs:
            assert target in contract.KINDS and ref in contract.NORMALIZED_SCHEMA
        if kind.touch_via:
            assert kind.touch_via in {ref for _, _, ref in kind.refs}
