"""Anchor records to registry corporations: by 法人番号, else by name + place.

1. A record whose own 法人番号 is valid and in the registry is anchored to it (``corporate_number``).
2. Otherwise its company name is looked up by probe keys (``abm.registry.keys``) in one DuckDB
   join against the cache: the name and its kana reading against every current and former name,
   furigana and English name. The candidates are confirmed with abm's own normaliser (the exact
   ``company_key`` / ``company_romaji`` the records have), the legal form must not disagree, and
   the corporation must have been at the record's place (prefecture or postal code, any state).
3. The corporation must have been at the record's postal code (any state the registry holds) —
   or, for a record without one, in its prefecture. Exactly one corporation left → anchored
   (``name``, ``former_name``, ``furigana``, ``english_name``); several → not anchored
   (``ambiguous``); none → ``elsewhere``. A record with no place is not anchored by name against
   the registry (``no_place``): it has thousands of same-named corporations. It is anchored only
   to the one corporation of its name that this run's other records are anchored to, when no
   record at a place contests it (``in_run``, ``abm.registry.inrun``: "the only one of that name
   this run anchored" alone pulled web forms to a same-named sister; the contest rule stops that).

Returns one row per record the registry has something to say about, anchored or not, with the
reason — the evidence ``abm explain`` shows.
"""

from __future__ import annotations

import duckdb
import polars as pl

from abm.db import query
from abm.normalize.company import CompanyRules, company_kana, company_rules, display_keys, split_legal_form
from abm.registry.inrun import anchor_in_run
from abm.registry.keys import ProbeRules, latin_probe, name_probe, probe_rules, reading_probe, skeleton
from abm.registry.layout import KIND_LEGAL_FORM
from abm.registry.store import Registry
from abm.rules import Rules

ANCHOR_SCHEMA = {"record_key": pl.Utf8, "registry_number": pl.Utf8, "anchor_method": pl.Utf8,
                 "anchor_name": pl.Utf8, "candidates": pl.UInt32, "anchor_note": pl.Utf8}
#: when a record matches one corporation in several ways, the method named is the first of these
METHOD_ORDER = ("name", "former_name", "furigana", "english_name")
_METHOD = {"current": "name", "former": "former_name", "furigana": "furigana", "english": "english_name"}
_KANJI = r"[\p{Han}々]"


def anchor_records(records: pl.DataFrame, registry: Registry, rules: Rules) -> pl.DataFrame:
    """record_key -> registry_number (null: not anchored), method, matched name, candidates, note."""
    cr = rules.view(company_rules)
    pr = rules.view(probe_rules)
    con = duckdb.connect()
    by_number = _by_number(con, records, registry)
    rest = records.join(by_number.select("record_key"), on="record_key", how="anti")
    by_name, candidates = _by_name(con, rest, registry, cr, pr)
    con.close()
    decided = pl.concat([by_number, by_name]).cast(ANCHOR_SCHEMA)  # type: ignore[arg-type]
    return anchor_in_run(decided, candidates, records).sort("record_key")


def _by_number(con: duckdb.DuckDBPyConnection, records: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    numbered = records.filter(pl.col("corporate_number").is_not_null()).select("record_key", "corporate_number")
    if numbered.height == 0:
        return pl.DataFrame(schema=ANCHOR_SCHEMA)
    con.register("__numbered", numbered.to_arrow())
    found = query(con, f"""
        SELECT n.record_key, c.corporate_number AS registry_number, 'corporate_number' AS anchor_method,
               c.official_name AS anchor_name, 1::UINTEGER AS candidates, NULL::VARCHAR AS anchor_note
        FROM __numbered n JOIN read_parquet('{registry.path("corporations")}') c USING (corporate_number)""")
    con.unregister("__numbered")
    return found.cast(ANCHOR_SCHEMA) if found.height else pl.DataFrame(schema=ANCHOR_SCHEMA)  # type: ignore[arg-type]


_NAME_COLS = ("company_name", "company_key", "company_romaji", "company_kana", "legal_form")


def _record_names(records: pl.DataFrame) -> pl.DataFrame:
    cols = [pl.col(c) if c in records.columns else pl.lit(None, pl.Utf8).alias(c) for c in _NAME_COLS]
    return (records.filter(pl.col("company_name").is_not_null()).select(cols).unique()
            .with_row_index("name_id"))


def _probes(names: pl.DataFrame, pr: ProbeRules) -> pl.DataFrame:
    parts = [
        names.select("name_id", pl.lit("name").alias("probe_kind"), name_probe(pl.col("company_name"), pr).alias("probe")),
        names.select("name_id", pl.lit("reading").alias("probe_kind"), reading_probe(pl.col("company_kana"), pr).alias("probe")),
        names.select("name_id", pl.lit("reading").alias("probe_kind"), skeleton(pl.col("company_romaji")).alias("probe")),
        names.select("name_id", pl.lit("latin").alias("probe_kind"), latin_probe(pl.col("company_name"), pr).alias("probe")),
    ]
    return pl.concat(parts).drop_nulls("probe").unique()


def _exact_keys(values: pl.DataFrame, cr: CompanyRules) -> pl.DataFrame:
    """(name_type, value) -> key, romaji, legal form, with abm's own normaliser (few values)."""
    rows: list[tuple[str, str, str | None, str | None, str | None]] = []
    for name_type, value in values.iter_rows():
        if name_type == "furigana":
            key = company_kana(value, cr)
            rows.append((name_type, value, key, display_keys(key, cr)[1] if key else None, None))
            continue
        display, form = split_legal_form(value, cr)
        key, rom = display_keys(display, cr) if display else (None, None)
        rows.append((name_type, value, key, rom, form))
    return pl.DataFrame(rows, schema={"name_type": pl.Utf8, "value": pl.Utf8, "reg_key": pl.Utf8,
                                      "reg_romaji": pl.Utf8, "reg_form": pl.Utf8}, orient="row")


def _by_name(con: duckdb.DuckDBPyConnection, records: pl.DataFrame, registry: Registry, cr: CompanyRules,
             pr: ProbeRules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Anchors by name + place, and every (record, corporation) its name matched (``_decide``)."""
    names = _record_names(records)
    probes = _probes(names, pr)
    if probes.height == 0:
        return pl.DataFrame(schema=ANCHOR_SCHEMA), _NO_CANDIDATES
    con.register("__probes", probes.to_arrow())
    cands = query(con, f"""
        SELECT DISTINCT p.name_id, n.corporate_number, n.name_type, n.value
        FROM __probes p JOIN read_parquet('{registry.path("names")}') n USING (probe_kind, probe)""")
    con.unregister("__probes")
    if cands.height == 0:
        return pl.DataFrame(schema=ANCHOR_SCHEMA), _NO_CANDIDATES
    exact = _exact_keys(cands.select("name_type", "value").unique(), cr)
    cands = cands.join(exact, on=["name_type", "value"], how="left").join(names, on="name_id")
    latin_or_kana = ~pl.col("company_key").fill_null("").str.contains(_KANJI)
    same_key = (pl.col("company_key") == pl.col("reg_key")) | (pl.col("company_kana") == pl.col("reg_key"))
    same_reading = latin_or_kana & (pl.col("company_romaji") == pl.col("reg_romaji"))
    confirmed = cands.filter((same_key | same_reading).fill_null(False))
    forms = _registry_forms(con, confirmed.select("corporate_number").unique(), registry, cr)
    # a legal form read from English ("Co., Ltd." is written for 株式会社 and 有限会社 alike) says nothing
    written = pl.when(~pl.col("company_name").str.contains(r"^[\x00-\x7f]*$")).then(pl.col("legal_form"))
    confirmed = confirmed.join(forms, on="corporate_number", how="left").filter(
        written.is_null() | pl.col("corp_form").is_null() | (written == pl.col("corp_form")))
    # a Latin name met a furigana through a translated word ("Industries" is kōgyō or sangyō): a guess
    latin = pl.col("company_name").str.contains(r"^[\x00-\x7f]*$")
    literal = ~((pl.col("name_type") == "furigana") & latin) | (
        skeleton(pl.col("company_name")) == reading_probe(pl.col("value"), pr)).fill_null(False)
    matched = confirmed.with_columns(pl.col("name_type").replace_strict(_METHOD).alias("method"),
                                     literal.alias("literal")).select(
        "name_id", "corporate_number", "method", "value", "literal")
    return _decide(con, records, names, matched, registry)


def _registry_forms(con: duckdb.DuckDBPyConnection, numbers: pl.DataFrame, registry: Registry,
                    cr: CompanyRules) -> pl.DataFrame:
    """corporate_number -> its legal form: from its current name, else from its kind code."""
    con.register("__numbers", numbers.to_arrow())
    corp = query(con, f"""SELECT c.corporate_number, c.official_name AS value, c.kind
        FROM __numbers n JOIN read_parquet('{registry.path("corporations")}') c USING (corporate_number)""")
    con.unregister("__numbers")
    parsed = _exact_keys(corp.select(pl.lit("current").alias("name_type"), "value").unique(), cr)
    return corp.join(parsed.select("value", "reg_form"), on="value", how="left").select(
        "corporate_number",
        pl.coalesce("reg_form", pl.col("kind").replace_strict(KIND_LEGAL_FORM, default=None)).alias("corp_form"),
    ).unique("corporate_number")


_NO_CANDIDATES = pl.DataFrame(schema={"record_key": pl.Utf8, "corporate_number": pl.Utf8, "method": pl.Utf8,
                                       "value": pl.Utf8, "has_place": pl.Boolean, "literal": pl.Boolean})


def _decide(con: duckdb.DuckDBPyConnection, records: pl.DataFrame, names: pl.DataFrame, matched: pl.DataFrame,
            registry: Registry) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per record: the matched corporations that were at its place (postal code, else prefecture);
    exactly one → anchored. Also every (record, corporation, how the name matched, has_place)."""
    recs = records.filter(pl.col("company_name").is_not_null()).select(
        "record_key", *[pl.col(c) if c in records.columns else pl.lit(None, pl.Utf8).alias(c) for c in _NAME_COLS],
        pl.col("prefecture") if "prefecture" in records.columns else pl.lit(None, pl.Utf8).alias("prefecture"),
        pl.col("postal_code") if "postal_code" in records.columns else pl.lit(None, pl.Utf8).alias("postal_code"),
    ).join(names, on=list(_NAME_COLS), how="inner", nulls_equal=True).select(
        "record_key", "name_id", "prefecture", "postal_code")
    hits = recs.join(matched, on="name_id", how="inner")
    if hits.height == 0:
        return pl.DataFrame(schema=ANCHOR_SCHEMA), _NO_CANDIDATES
    con.register("__hits", hits.select("corporate_number").unique().to_arrow())
    places = query(con, f"""SELECT p.corporate_number, p.prefecture AS reg_prefecture, p.post_code AS reg_post
        FROM read_parquet('{registry.path("places")}') p JOIN __hits USING (corporate_number)""")
    con.unregister("__hits")
    placed = hits.join(places, on="corporate_number", how="left").group_by("record_key", "corporate_number").agg(
        pl.col("method").unique(),
        pl.col("value").first(),
        pl.col("literal").any(),
        (pl.col("prefecture") == pl.col("reg_prefecture")).fill_null(False).any().alias("same_prefecture"),
        (pl.col("postal_code") == pl.col("reg_post")).fill_null(False).any().alias("same_postal"),
        (pl.col("prefecture").is_not_null() | pl.col("postal_code").is_not_null()).any().alias("has_place"),
        pl.col("postal_code").is_not_null().any().alias("has_postal"),
    )
    # a postal code, when the record has one, must be the corporation's: a branch office's card in
    # another city must not meet a same-named corporation there; else the prefecture must be
    located = placed.filter(pl.when(pl.col("has_postal")).then(pl.col("same_postal"))
                            .otherwise(pl.col("same_prefecture")))
    per_record = located.group_by("record_key").agg(pl.len().alias("n"))
    pick = located.join(per_record, on="record_key").filter(pl.col("n") == 1)
    order = {m: i for i, m in enumerate(METHOD_ORDER)}
    anchored = pick.select(
        "record_key", pl.col("corporate_number").alias("registry_number"),
        pl.col("method").list.eval(pl.element().replace_strict(order, return_dtype=pl.Int32)).list.min()
        .replace_strict({i: m for m, i in order.items()}, return_dtype=pl.Utf8).alias("anchor_method"),
        pl.col("value").alias("anchor_name"), pl.col("n").cast(pl.UInt32).alias("candidates"),
        pl.lit(None, pl.Utf8).alias("anchor_note"),
    )
    summary = placed.group_by("record_key").agg(pl.col("has_place").any(), pl.len().alias("n_named"))
    refused = summary.join(anchored.select("record_key"), on="record_key", how="anti").join(
        per_record.select("record_key", "n"), on="record_key", how="left").select(
        "record_key", pl.lit(None, pl.Utf8).alias("registry_number"), pl.lit(None, pl.Utf8).alias("anchor_method"),
        pl.lit(None, pl.Utf8).alias("anchor_name"), pl.col("n_named").cast(pl.UInt32).alias("candidates"),
        pl.when(~pl.col("has_place")).then(pl.lit("no_place"))
        .when(pl.col("n").is_null()).then(pl.lit("elsewhere"))
        .otherwise(pl.lit("ambiguous")).alias("anchor_note"),
    )
    candidates = placed.select("record_key", "corporate_number", "method", "value", "has_place", "literal").explode(
        "method").cast(_NO_CANDIDATES.schema)  # type: ignore[arg-type]
    return pl.concat([anchored.cast(ANCHOR_SCHEMA), refused.cast(ANCHOR_SCHEMA)]), candidates  # type: ignore[arg-type]

