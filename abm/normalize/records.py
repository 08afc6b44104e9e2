"""Build ``records_normalized``: one row per input record of every kind, NORMALIZED_SCHEMA's columns.

Each pure normaliser runs once per UNIQUE input value (or tuple of values) and is joined back,
so the cost grows with the number of distinct names/addresses, not with the number of rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import polars as pl

from abm.contract import KIND_BY_ID, KINDS, NORMALIZED_SCHEMA, PERSON_KINDS, id_column
from abm.normalize.address_columns import address_columns
from abm.normalize.companies import companies_later, company_column
from abm.normalize.company import CompanyRules, company_rules
from abm.normalize.company_columns import company_kana_column
from abm.normalize.contact import (
    EXTENSION,
    INTL_JP,
    JP_DIGITS,
    PHONE_NOISE,
    PLAIN_EMAIL,
    PLAIN_POSTAL,
    ContactRules,
    contact_rules,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    prefecture_from_postal,
)
from abm.normalize.corporate_columns import corporate_number_columns
from abm.normalize.departments import (
    DepartmentRules,
    department_rules,
    normalize_department,
    normalize_internal_department,
)
from abm.normalize.domain_columns import domain_columns
from abm.normalize.person import NamePart, PersonRules, name_part, normalize_person, person_rules
from abm.normalize.reading import (
    ReadingRules,
    reading_rules,
)
from abm.normalize.text import clean
from abm.normalize.titles import TitleRules, title_rank, title_rules
from abm.normalize.unique import apply_unique, stop_workers
from abm.normalize.values import RecordsRules, parse_amount, parse_bool, parse_dates, records_rules
from abm.rules import Rules

log = logging.getLogger(__name__)

POLARS_TYPES: Mapping[str, Any] = MappingProxyType(
    {"str": pl.Utf8, "int": pl.Int64, "bool": pl.Boolean, "date": pl.Date, "float": pl.Float64}
)
#: records_normalized column -> polars dtype
NORMALIZED_DTYPES: Mapping[str, Any] = MappingProxyType({c: POLARS_TYPES[t] for c, t in NORMALIZED_SCHEMA.items()})


# --- normalisers, each applied once per unique value (abm.normalize.unique) ----------------

@dataclass(frozen=True)
class _Ctx:
    company: CompanyRules
    contact: ContactRules
    person: PersonRules
    titles: TitleRules
    departments: DepartmentRules
    records: RecordsRules
    reading: ReadingRules


def _email(df: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
    # lower-cased once as a column (an expression used twice is evaluated twice by ``with_columns``)
    df = df.with_columns(pl.col("email").str.to_lowercase().alias("_email_low"))
    low = pl.col("_email_low")
    plain = low.str.contains(PLAIN_EMAIL) & (low.str.len_chars() <= 254)
    df = df.with_columns(pl.when(plain).then(low).alias("_email_fast")).drop("_email_low")
    df = apply_unique(df, ["email"], lambda v: (normalize_email(v),), {"_email_slow": pl.Utf8},
                      only=pl.col("_email_fast").is_null())
    df = df.with_columns(pl.coalesce("_email_fast", "_email_slow").alias("email_n"))
    df = df.with_columns(pl.col("email_n").str.split("@").list.last().alias("_host"))
    return domain_columns(df, "_host", ctx.contact, "email_domain", "is_free_mail")


_FULL_WIDTH = list("０１２３４５６７８９－（）＋　")
_HALF_WIDTH = list("0123456789-()+ ")


def _phone(values: pl.DataFrame, col: str) -> pl.DataFrame:
    """``_{col}_n`` (the number) and ``_{col}_k`` (its kind) of distinct ``col`` values: plain
    Japanese numbers by expression, the others by ``normalize_phone`` once per value."""
    # the digits are a column, not an expression: eager ``with_columns`` re-evaluates a repeated
    # sub-expression at each use (its five string passes ran four times; ~0.3 s CPU per 150 k numbers)
    values = values.with_columns(
        pl.col(col).str.replace_many(_FULL_WIDTH, _HALF_WIDTH).str.replace(EXTENSION, "")
        .str.strip_chars().str.replace(INTL_JP, "0").str.replace_all(PHONE_NOISE, "").alias("_digits"))
    digits = pl.col("_digits")
    values = values.with_columns(digits.str.contains(f"^{JP_DIGITS}$").alias("_fast"))
    fast = pl.col("_fast")
    kind = pl.when((digits.str.len_chars() == 11) & digits.str.contains("^0[789]0")).then(pl.lit("mobile"))
    values = values.with_columns(pl.when(fast).then(digits).alias(f"_{col}_f"),
                                 pl.when(fast).then(kind.otherwise(pl.lit("landline"))).alias(f"_{col}_fk"))
    values = apply_unique(values, [col], normalize_phone, {f"_{col}_s": pl.Utf8, f"_{col}_sk": pl.Utf8},
                          only=pl.col(f"_{col}_f").is_null())
    return values.select(col, pl.coalesce(f"_{col}_f", f"_{col}_s").alias(f"_{col}_n"),
                         pl.coalesce(f"_{col}_fk", f"_{col}_sk").alias(f"_{col}_k"))


def _phones(df: pl.DataFrame) -> pl.DataFrame:
    for col in ("phone", "mobile"):   # once per distinct number (a company's switchboard repeats)
        df = df.join(_phone(df.select(pl.col(col).unique()), col), on=col, how="left", nulls_equal=True,
                     maintain_order="left")

    def pick(kind: str) -> pl.Expr:
        first, second = ("mobile", "phone") if kind == "mobile" else ("phone", "mobile")
        return pl.coalesce(
            pl.when(pl.col(f"_{c}_k") == kind).then(pl.col(f"_{c}_n")) for c in (first, second)
        )
    return df.with_columns(pick("landline").alias("phone_n"), pick("mobile").alias("mobile_n"))


def _address(df: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
    raw = pl.col("postal_code")
    df = df.with_columns(pl.when(raw.str.contains(PLAIN_POSTAL)).then(raw.str.replace("-", "")).alias("_postal_f"))
    df = apply_unique(df, ["postal_code"], lambda v: (normalize_postal_code(v),), {"_postal_s": pl.Utf8},
                      only=pl.col("_postal_f").is_null())
    df = address_columns(df, "address", ctx.contact)  # prefecture at the start: by expression
    df = df.with_columns(pl.coalesce("_postal_f", "_postal_s", "_postal_a").alias("postal_n"))
    df = df.with_columns(pl.col("postal_n").str.slice(0, 3).alias("_postal3"))
    df = apply_unique(df, ["_postal3"], lambda c: (prefecture_from_postal(c and c + "0000", ctx.contact),),
                      {"_pref_p": pl.Utf8}, only=pl.col("_pref_a").is_null())
    return df.with_columns(pl.coalesce("_pref_a", "_pref_p").alias("prefecture"))


#: NamePart field -> dtype; the columns are named after the fields (checked at import: a field added,
#: renamed or reordered in NamePart cannot silently feed the wrong column)
_PART_COLUMNS: Mapping[str, Any] = MappingProxyType({
    "simple": pl.Boolean, "part": pl.Utf8, "key": pl.Utf8, "kana_col": pl.Utf8, "kana_self": pl.Utf8,
    "tokens_col": pl.List(pl.Utf8), "tokens_self": pl.List(pl.Utf8), "kana_col_spaced": pl.Boolean,
})
assert tuple(_PART_COLUMNS) == NamePart._fields, "_PART_COLUMNS must list NamePart's fields in order"
_PERSON_OUT = {"family_n": pl.Utf8, "given_n": pl.Utf8, "person_name": pl.Utf8, "person_name_key": pl.Utf8,
               "name_kana": pl.Utf8, "name_romaji": pl.Utf8}


_PERSON_IN = ("family_name", "given_name", "family_name_kana", "given_name_kana")


def _person(df: pl.DataFrame, ctx: _Ctx, full: bool) -> pl.DataFrame:
    """Person fields, worked out once per distinct tuple of the name columns and joined back: every
    output is a function of these five columns alone, and a person is named on many rows (cards:
    95 k rows, 28 k distinct tuples), so the list and string columns below are built per tuple."""
    df = df.with_columns((pl.col("full_name") if full else pl.lit(None, pl.Utf8)).alias("_full"))
    keys = [*_PERSON_IN, "_full"]
    names = _person_names(df.select(keys).unique(), ctx).select(*keys, *_PERSON_OUT)
    return df.join(names, on=keys, how="left", nulls_equal=True, maintain_order="left")


def _person_names(df: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
    """``_PERSON_OUT`` of distinct name tuples. Tuples with a Japanese family AND given name (the
    usual card/CRM row) are assembled from per-column pieces, so the cost follows the distinct family
    and given names, not the distinct pairs; the others go through ``normalize_person`` once each."""
    cols = list(_PERSON_IN)
    for side, name_col, kana_col in (("f", "family_name", "family_name_kana"), ("g", "given_name", "given_name_kana")):
        out = {f"_{side}_{c}": t for c, t in _PART_COLUMNS.items()}
        df = apply_unique(df, [name_col, kana_col], lambda v, k: tuple(name_part(v, k, ctx.person)), out,
                          cache=f"name_part_{side}")
    f, g = (lambda c: pl.col(f"_f_{c}")), (lambda c: pl.col(f"_g_{c}"))
    # the two conditions are columns, not expressions: eager ``with_columns`` re-evaluates a
    # repeated sub-expression at each use (``fast`` is used seven times below)
    df = df.with_columns(
        (f("kana_col").is_null() & g("kana_col").is_null()).alias("_no_kana"),
        (f("simple") & g("simple") & pl.col("_full").is_null()
         & ~(f("kana_col").is_not_null() & g("kana_col").is_null() & f("kana_col_spaced"))).fill_null(False)
        .alias("_fast_person"))
    no_kana, fast = pl.col("_no_kana"), pl.col("_fast_person")
    tokens = pl.concat_list(
        pl.when(no_kana).then(f("tokens_self")).otherwise(f("tokens_col")),
        pl.when(no_kana).then(g("tokens_self")).otherwise(g("tokens_col")),
    ).list.sort().list.join(" ").alias("_tokens")
    kana = pl.concat_str(
        [pl.when(no_kana).then(f("kana_self")).otherwise(f("kana_col")),
         pl.when(no_kana).then(g("kana_self")).otherwise(g("kana_col"))], ignore_nulls=True).alias("_kana")
    df = df.with_columns(tokens, kana)
    tokens, kana = pl.col("_tokens"), pl.col("_kana")
    df = df.with_columns(
        pl.when(fast).then(f("part")).alias("_fast_family"),
        pl.when(fast).then(g("part")).alias("_fast_given"),
        pl.when(fast).then(pl.concat_str([f("part"), g("part")], separator=" ")).alias("_fast_display"),
        pl.when(fast).then(f("key") + g("key")).alias("_fast_key"),
        pl.when(fast & (kana.str.len_chars() > 0)).then(kana).alias("_fast_kana"),
        pl.when(fast & (tokens.str.len_chars() > 0)).then(tokens).alias("_fast_romaji"),
    )

    def slow(fam: Any, giv: Any, fk: Any, gk: Any, full_name: Any) -> tuple[Any, ...]:
        return tuple(normalize_person(fam, giv, fk, gk, full_name, ctx.person))

    df = apply_unique(df, [*cols, "_full"], slow, {f"_slow{c}": t for c, t in _PERSON_OUT.items()},
                      only=~pl.col("_fast_person"), cache="person")
    fast_names = ("_fast_family", "_fast_given", "_fast_display", "_fast_key", "_fast_kana", "_fast_romaji")
    return df.with_columns(
        pl.when(pl.col("_fast_person")).then(pl.col(fn)).otherwise(pl.col(f"_slow{out}")).alias(out)
        for fn, out in zip(fast_names, _PERSON_OUT, strict=True)
    )


def _org(df: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
    def dept(raw: str | None) -> tuple[Any, ...]:
        return clean(raw), _safe(normalize_department, raw, ctx.departments)

    def title(raw: str | None) -> tuple[Any, ...]:
        t = clean(raw)
        rank = _safe(title_rank, t, ctx.titles) if t else 0
        return t, int(rank) if isinstance(rank, int) else 0

    df = apply_unique(df, ["department"], dept, {"department_raw": pl.Utf8, "department_n": pl.Utf8})
    return apply_unique(df, ["title"], title, {"title_n": pl.Utf8, "rank": pl.Int64})


def _safe(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # another stage's bug must not lose a row; it shows as a null
        # the type only: the message could quote the (personal) value
        log.warning("%s failed on one value (%s)", getattr(fn, "__name__", fn), type(exc).__name__)
        return None


def _map_clean(df: pl.DataFrame, cols: Sequence[str]) -> pl.DataFrame:
    for col in cols:
        df = apply_unique(df, [col], lambda v: (clean(v),), {f"{col}_n": pl.Utf8})
    return df


def _internal(df: pl.DataFrame, col: str, ctx: _Ctx) -> pl.DataFrame:
    return apply_unique(df, [col], lambda v: (_safe(normalize_internal_department, v, ctx.departments),),
                        {"internal_department": pl.Utf8})


def _ref(kind: str, col: str) -> pl.Expr:
    v = pl.col(col).str.strip_chars()
    return pl.when(v.str.len_chars() > 0).then(pl.lit(f"{kind}:") + v).otherwise(None)


# --- per kind ---------------------------------------------------------------------------------

def _prepare(kind: str, df: pl.DataFrame) -> pl.DataFrame:
    cols = []
    for c in KINDS[kind]:
        cols.append(pl.col(c).cast(pl.Utf8) if c in df.columns else pl.lit(None, pl.Utf8).alias(c))
    n = df.height
    cols.append(pl.col("source_file").cast(pl.Utf8) if "source_file" in df.columns else pl.lit(None, pl.Utf8).alias("source_file"))
    cols.append(pl.col("row_number").cast(pl.Int64, strict=False) if "row_number" in df.columns
                else pl.int_range(1, n + 1, dtype=pl.Int64).alias("row_number"))
    cols.append(pl.col("makes_touch").cast(pl.Boolean, strict=False).fill_null(True) if "makes_touch" in df.columns
                else pl.lit(True).alias("makes_touch"))
    return df.select(cols)


def _normalize_kind(kind: str, df: pl.DataFrame, ctx: _Ctx) -> tuple[pl.DataFrame, dict[str, pl.Expr]]:
    """Every column of ``kind`` but the company ones: the frame and the output expressions (the
    company columns are joined on ``_company_raw`` by ``_finish_kind``)."""
    df = _prepare(kind, df)
    sid = pl.col(id_column(kind)).str.strip_chars()
    sel: dict[str, pl.Expr] = {
        "record_key": pl.lit(f"{kind}:") + sid, "kind": pl.lit(kind), "source_id": sid,
        "source_file": pl.col("source_file"), "row_number": pl.col("row_number"),
        "makes_touch": pl.col("makes_touch"),
    }
    cols = set(KINDS[kind])
    if "company_name" in cols or kind == "crm_accounts":
        df = df.rename({company_column(kind): "_company_raw"})
        sel.update({c: pl.col(c) for c in ("company_name", "company_key", "company_romaji", "legal_form",
                                            "company_gist")})
    if "email" in cols:
        df = _email(df, ctx)
        sel.update(email=pl.col("email_n"), email_domain=pl.col("email_domain"), is_free_mail=pl.col("is_free_mail"))
        sel["company_domain"] = pl.when(pl.col("is_free_mail").not_()).then(pl.col("email_domain"))
    site = "url" if kind == "cards" else "website" if kind == "crm_accounts" else None
    if site:
        df = domain_columns(df, site, ctx.contact, "_site")
        sel["company_domain"] = pl.coalesce(sel["company_domain"], pl.col("_site")) if "company_domain" in sel \
            else pl.col("_site")
    if "phone" in cols:
        if "mobile" not in cols:
            df = df.with_columns(pl.lit(None, pl.Utf8).alias("mobile"))
        df = _phones(df)
        sel.update(phone=pl.col("phone_n"), mobile=pl.col("mobile_n"))
    if "postal_code" in cols:
        df = _address(df, ctx)
        sel.update(postal_code=pl.col("postal_n"), prefecture=pl.col("prefecture"))
    if kind == "crm_accounts":
        df = company_kana_column(df, "name_kana", "company_kana", ctx.company)
        df = corporate_number_columns(df, "corporate_number", "corp_n", "corp_bad")
        sel.update(company_kana=pl.col("company_kana"), corporate_number=pl.col("corp_n"),
                   corporate_number_invalid=pl.col("corp_bad").fill_null(False))
    if kind in PERSON_KINDS:
        for c in ("family_name", "given_name", "family_name_kana", "given_name_kana"):
            if c not in df.columns:
                df = df.with_columns(pl.lit(None, pl.Utf8).alias(c))
        df = _person(df, ctx, full=kind == "ma_leads")
        sel.update(family_name=pl.col("family_n"), given_name=pl.col("given_n"),
                   **{c: pl.col(c) for c in ("person_name", "person_name_key", "name_kana", "name_romaji")})
        sel["has_person"] = pl.any_horizontal(
            pl.col(c).is_not_null() for c in ("person_name_key", "name_kana", "email_n")
        )
    else:
        sel["has_person"] = pl.lit(False)
    if "department" in cols:
        df = _org(df, ctx)
        sel.update(department=pl.col("department_n"), department_raw=pl.col("department_raw"),
                   title=pl.col("title_n"), rank=pl.col("rank"))
    internal = "program_department" if kind == "ma_activities" else "owner_department" if "owner_department" in cols else None
    if internal:
        df = _internal(df, internal, ctx)
        sel["internal_department"] = pl.col("internal_department")
    text_cols = [c for c in ("owner_name", "product", "stage", "activity_type", "program") if c in cols]
    df = _map_clean(df, text_cols)
    sel.update({c: pl.col(f"{c}_n") for c in text_cols})
    for col, target, ref in KIND_BY_ID[kind].refs:  # references to other records, as their record keys
        sel[ref] = _ref(target, col)
    if kind == "crm_opportunities":
        df = apply_unique(df, ["amount"], lambda v: (parse_amount(v),), {"_amount": pl.Float64})
        df = apply_unique(df, ["is_closed"], lambda v: (parse_bool(v, ctx.records),), {"_closed": pl.Boolean})
        sel.update(amount=pl.col("_amount"), is_closed=pl.col("_closed"), close_on=pl.col("_close_on"))
        df = df.with_columns(parse_dates(df["close_on"]).alias("_close_on"))
    if kind == "crm_leads":  # a converted lead names the account and contact it became (unless marked not converted)
        df = apply_unique(df, ["is_converted"], lambda v: (parse_bool(v, ctx.records),), {"_converted": pl.Boolean})
        kept = pl.col("_converted").fill_null(True)
        sel.update(is_converted=pl.col("_converted"),
                   converted_account_ref=pl.when(kept).then(sel["converted_account_ref"]),
                   converted_contact_ref=pl.when(kept).then(sel["converted_contact_ref"]))
    if kind == "cards":
        sel["vendor_person_id"] = pl.col("vendor_person_id").str.strip_chars().replace("", None)
    date_col = KIND_BY_ID[kind].record_date
    if date_col:
        df = df.with_columns(parse_dates(df[date_col]).alias("_record_date"))
        sel["record_date"] = pl.col("_record_date")
    if kind == "crm_contacts":
        df = df.with_columns(parse_dates(df["last_activity_on"]).alias("_last_activity"))
        sel["last_activity_on"] = pl.col("_last_activity")
    return df, sel


def _finish_kind(df: pl.DataFrame, sel: Mapping[str, pl.Expr], companies: pl.DataFrame) -> pl.DataFrame:
    """The kind's NORMALIZED_SCHEMA columns, with the company columns of its raw company names."""
    if "_company_raw" in df.columns:
        df = df.join(companies, on="_company_raw", how="left", nulls_equal=True, maintain_order="left")
    exprs = [
        sel[c].cast(t).alias(c) if c in sel else pl.lit(None, t).alias(c) for c, t in NORMALIZED_DTYPES.items()
    ]
    return df.select(exprs)


def empty_normalized() -> pl.DataFrame:
    return pl.DataFrame(schema=dict(NORMALIZED_DTYPES))


def normalize_records(tables: Mapping[str, pl.DataFrame], rules: Rules) -> pl.DataFrame:
    """The ``records_normalized`` table: every row of every kind in ``tables``, in input order
    (kinds in contract order), with NORMALIZED_SCHEMA's columns and dtypes. It does not depend on the
    as-of date: dates after it are kept here and filtered by the stages that use windows."""
    ctx = _Ctx(
        company=rules.view(company_rules), contact=rules.view(contact_rules), person=rules.view(person_rules),
        titles=rules.view(title_rules), departments=rules.view(department_rules),
        records=rules.view(records_rules), reading=rules.view(reading_rules),
    )
    start = time.perf_counter()
    # company keys in worker processes while this process normalises every kind's other columns
    finish_companies = companies_later(tables, ctx.company, ctx.reading)
    parts = []
    try:
        for kind in (*KINDS, *sorted(set(tables) - set(KINDS))):
            if kind not in tables:
                continue
            if kind not in KINDS:
                log.warning("normalize: unknown kind %r ignored", kind)
                continue
            parts.append(_normalize_kind(kind, tables[kind], ctx))
            log.info("normalize: %s, %d rows", kind, tables[kind].height)
        companies = finish_companies()
    except BaseException:
        stop_workers()  # the company workers started above: not left running until garbage-collected
        raise
    log.info("normalize: %d distinct company names; every kind in %.2fs", companies.height,
             time.perf_counter() - start)
    frames = [_finish_kind(df, sel, companies) for df, sel in parts]
    return pl.concat(frames, how="vertical") if frames else empty_normalized()
