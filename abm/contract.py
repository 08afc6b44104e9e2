"""docs/contract.md as code: input kinds and their columns, output tables.

Every stage refers to these names instead of repeating string literals.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The version of docs/contract.md this code implements in full (written to run.json).
CONTRACT_VERSION = "1.2"

#: kind -> canonical columns; the first column is the kind's id (unique within the kind).
KINDS: dict[str, tuple[str, ...]] = {
    "cards": (
        "card_id", "company_name", "department", "title", "family_name", "given_name",
        "family_name_kana", "given_name_kana", "email", "phone", "mobile", "postal_code", "address",
        "url", "exchanged_on", "owner_name", "owner_department", "vendor_person_id",
    ),
    "crm_accounts": (
        "account_id", "name", "name_kana", "corporate_number", "website", "phone", "postal_code",
        "address", "parent_account_id", "owner_name", "owner_department",
    ),
    "crm_contacts": (
        "contact_id", "account_id", "family_name", "given_name", "family_name_kana", "given_name_kana",
        "department", "title", "email", "phone", "mobile", "owner_name", "owner_department",
        "created_on", "last_activity_on",
    ),
    "crm_leads": (
        "lead_id", "company_name", "department", "title", "family_name", "given_name", "email", "phone",
        "status", "owner_name", "owner_department", "created_on", "is_converted", "converted_account_id",
        "converted_contact_id", "converted_on",
    ),
    "crm_opportunities": (
        "opportunity_id", "account_id", "contact_id", "name", "product", "stage", "amount", "is_closed",
        "owner_name", "owner_department", "created_on", "close_on",
    ),
    "ma_leads": (
        "lead_id", "email", "company_name", "department", "title", "full_name", "phone", "score",
        "created_on", "crm_lead_id", "crm_contact_id", "crm_account_id",
    ),
    "ma_activities": ("activity_id", "lead_id", "activity_on", "activity_type", "program", "program_department"),
}


@dataclass(frozen=True)
class Kind:
    """What one input kind is, said once; the per-kind constants below and in the stages derive from it."""

    id: str
    #: canonical columns; the first is the kind's id (unique within the kind)
    columns: tuple[str, ...]
    #: the column that dates a record (``records_normalized.record_date``); None: the kind has none
    record_date: str | None
    #: further date columns the loader parses to ISO dates
    other_dates: tuple[str, ...] = ()
    #: the column that names a company in the record's own fields (None: it names none)
    company_column: str | None = None
    #: the record is about one person
    about_person: bool = False
    #: the columns naming OUR side of a touch; empty: the kind makes no touches
    touch_owner: tuple[str, ...] = ()
    #: the record a touch's counterpart is taken from (a normalized ref column); None: the record itself
    touch_via: str | None = None
    #: references to other records: (id column here, kind referred to, normalized ref column)
    refs: tuple[tuple[str, str, str], ...] = ()
    #: when a cluster's ID is chosen, records of kinds with a lower rank anchor it (CRM ids outlive a card)
    anchor_rank: int = 99

    @property
    def date_columns(self) -> tuple[str, ...]:
        return ((self.record_date,) if self.record_date else ()) + self.other_dates

    @property
    def account_unit(self) -> bool:
        """Its own fields name a company: it is an account linkage unit."""
        return self.company_column is not None

    @property
    def makes_touches(self) -> bool:
        return bool(self.touch_owner)


_OWNER = ("owner_name", "owner_department")
#: Every input kind, in contract order.
KIND_TABLE: tuple[Kind, ...] = (
    Kind("cards", KINDS["cards"], record_date="exchanged_on", company_column="company_name", about_person=True,
         touch_owner=_OWNER, anchor_rank=2),
    Kind("crm_accounts", KINDS["crm_accounts"], record_date=None, company_column="name",
         refs=(("parent_account_id", "crm_accounts", "parent_account_ref"),), anchor_rank=0),
    Kind("crm_contacts", KINDS["crm_contacts"], record_date="created_on", other_dates=("last_activity_on",),
         about_person=True, touch_owner=_OWNER, refs=(("account_id", "crm_accounts", "account_ref"),),
         anchor_rank=1),
    Kind("crm_leads", KINDS["crm_leads"], record_date="created_on", other_dates=("converted_on",),
         company_column="company_name", about_person=True, touch_owner=_OWNER,
         refs=(("converted_account_id", "crm_accounts", "converted_account_ref"),
               ("converted_contact_id", "crm_contacts", "converted_contact_ref")), anchor_rank=3),
    Kind("crm_opportunities", KINDS["crm_opportunities"], record_date="created_on", other_dates=("close_on",),
         touch_owner=_OWNER, touch_via="contact_ref",
         refs=(("account_id", "crm_accounts", "account_ref"), ("contact_id", "crm_contacts", "contact_ref")),
         anchor_rank=5),
    Kind("ma_leads", KINDS["ma_leads"], record_date="created_on", company_column="company_name", about_person=True,
         refs=(("crm_lead_id", "crm_leads", "crm_lead_ref"), ("crm_contact_id", "crm_contacts", "crm_contact_ref"),
               ("crm_account_id", "crm_accounts", "crm_account_ref")), anchor_rank=4),
    Kind("ma_activities", KINDS["ma_activities"], record_date="activity_on",
         touch_owner=("program", "program_department"), touch_via="account_ref",
         refs=(("lead_id", "ma_leads", "account_ref"),), anchor_rank=6),
)
KIND_BY_ID: dict[str, Kind] = {k.id: k for k in KIND_TABLE}
_BY_ANCHOR = sorted(KIND_TABLE, key=lambda k: k.anchor_rank)

#: Kinds whose records are about one person.
PERSON_KINDS = tuple(k.id for k in KIND_TABLE if k.about_person)
#: Date-valued columns per kind (parsed to ISO dates by the loader).
DATE_COLUMNS: dict[str, tuple[str, ...]] = {k.id: k.date_columns for k in KIND_TABLE if k.date_columns}
#: Kinds whose rows are touches, and the columns that name OUR side of the touch.
TOUCH_OWNER: dict[str, tuple[str, ...]] = {k.id: k.touch_owner for k in KIND_TABLE if k.touch_owner}
#: Kinds whose touch counterpart is another record: kind -> the normalized ref column naming it.
TOUCH_VIA: dict[str, str] = {k.id: k.touch_via for k in KIND_TABLE if k.touch_via}
#: Kinds whose own fields name a company (they are account linkage units), in anchor order.
ACCOUNT_UNIT_KINDS = tuple(k.id for k in _BY_ANCHOR if k.account_unit)
#: When a cluster's ID is chosen, records of earlier kinds anchor it.
ID_ANCHOR_ORDER = tuple(k.id for k in _BY_ANCHOR)


def id_column(kind: str) -> str:
    return KINDS[kind][0]


#: Output tables (file stem -> required columns), in the order the pipeline writes them.
OUTPUTS: dict[str, tuple[str, ...]] = {
    "records": ("record_key", "kind", "account_id", "person_id"),
    "accounts": ("account_id", "name", "corporate_number", "domains", "n_records"),
    "persons": ("person_id", "account_id", "name", "department", "title", "rank"),
    "touches": ("account_id", "person_id", "counterpart_department", "internal_department", "touched_on",
                "record_key", "kind", "owner_name"),
    "committee_edges": ("account_id", "src", "dst", "relation"),
    "collisions": ("flag_id", "level", "account_id", "counterpart_department", "person_id", "internal_departments",
                   "internal_owners", "window_start", "window_end", "severity", "evidence", "status",
                   "first_seen_on"),
    "key_person_gaps": ("flag_id", "account_id", "counterpart_department", "gap_type", "person_id", "evidence",
                        "status", "first_seen_on"),
    "flag_history": ("flag_id", "flag_type", "account_id", "status", "as_of", "run_at"),
    "runs": ("run_at", "as_of", "input_rows", "records", "accounts", "persons", "collisions", "gaps",
             "abm_version"),
    "quarantine": ("source_file", "row_number", "kind", "reason", "raw"),
    "id_history": ("id", "kind", "change", "new_id", "run_at"),
    "crm_duplicates": ("kind", "crm_id", "duplicate_of", "account_id", "person_id", "evidence"),
    "data_quality": ("finding", "record_key", "detail"),
}


# --- internal stage tables ---------------------------------------------------------------------
# `loaded` (load stage): one polars DataFrame per kind with that kind's canonical columns, all Utf8
# (dates already ISO 'YYYY-MM-DD' or null), plus the lineage columns below.
LINEAGE_COLUMNS = ("source_file", "row_number", "makes_touch")

#: `records_normalized` (normalize stage): one row per input record of every kind, the columns
#: every later stage reads. Unused fields of a kind are null. Strings are already normalised.
NORMALIZED_SCHEMA: dict[str, str] = {
    # identity / lineage
    "record_key": "str",           # "<kind>:<id>"
    "kind": "str",
    "source_id": "str",
    "source_file": "str",
    "row_number": "int",           # 1-based data row in its file (header excluded)
    # references to other records (record keys); resolved by the pipeline
    "account_ref": "str",          # contacts/opportunities -> "crm_accounts:<id>"; activities -> "ma_leads:<id>"
    "contact_ref": "str",          # opportunities -> "crm_contacts:<id>"
    "parent_account_ref": "str",   # crm_accounts.parent_account_id -> "crm_accounts:<id>"
    # links the systems already record (contract v1.2), as record keys; strong evidence, not law
    "converted_account_ref": "str",  # converted CRM lead -> "crm_accounts:<converted_account_id>"
    "converted_contact_ref": "str",  # converted CRM lead -> "crm_contacts:<converted_contact_id>"
    "is_converted": "bool",
    "crm_lead_ref": "str",         # synced MA lead -> "crm_leads:<crm_lead_id>"
    "crm_contact_ref": "str",      # synced MA lead -> "crm_contacts:<crm_contact_id>"
    "crm_account_ref": "str",      # synced MA lead -> "crm_accounts:<crm_account_id>"
    "vendor_person_id": "str",     # the card service's own person key (Sansan 人物ID)
    # company evidence
    "company_name": "str",         # display form: NFKC, width, legal form removed, spaces collapsed
    "company_key": "str",          # matching key: company_name folded (variant kanji, case, no spaces/punct)
    "company_romaji": "str",       # a-z0-9 reading key (kana/kanji via pykakasi, English words via rules)
    "company_gist": "str",         # cross-script reading: loan words read, business words as groups (reading.py)
    "company_kana": "str",         # crm_accounts.name_kana folded to katakana, no legal form
    "legal_form": "str",           # canonical legal form ("株式会社", "有限会社", …) or null
    "corporate_number": "str",     # 13-digit 法人番号 with a valid check digit, else null
    "corporate_number_invalid": "bool",  # a value was given but failed validation (counted)
    "email_domain": "str",         # registrable domain of the e-mail address
    "is_free_mail": "bool",
    "company_domain": "str",       # registrable domain from a non-free e-mail, url or website
    "phone": "str",                # landline (代表/direct) as national digits, e.g. "0312345678"
    "mobile": "str",               # 070/080/090 mobile as national digits
    "postal_code": "str",          # 7 digits
    "prefecture": "str",           # 東京都, 大阪府, … (from address or postal code)
    # person evidence
    "family_name": "str",          # normalised (NFKC, variant kanji folded), no spaces
    "given_name": "str",
    "person_name": "str",          # display full name, e.g. "山田 太郎" / "Taro Yamada"
    "person_name_key": "str",      # kanji/kana/latin full name, folded, no spaces
    "name_kana": "str",            # full reading in katakana, no spaces ("ヤマダタロウ")
    "name_romaji": "str",          # hepburn tokens sorted + joined by space ("taro yamada")
    "email": "str",                # lower-cased full address
    "has_person": "bool",          # the record is about one person
    # organisation
    "department": "str",           # counterpart department, normalised (abm.normalize.departments)
    "department_raw": "str",
    "title": "str",                # as written (NFKC)
    "rank": "int",                 # 0-9 from the contract's rank table
    "internal_department": "str",  # OUR department (owner_department / program_department), normalised
    "owner_name": "str",
    "makes_touch": "bool",         # false for rows whose owner is unknown (e.g. Eight export without sources.yaml)
    # dates (ISO strings) and opportunity / activity facts
    "record_date": "date",         # exchanged_on / created_on / activity_on
    "last_activity_on": "date",
    "close_on": "date",
    "product": "str",
    "stage": "str",
    "amount": "float",
    "is_closed": "bool",
    "activity_type": "str",
    "program": "str",
}
