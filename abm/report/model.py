"""The report's data: every flag and what a reader needs beside it, as compact column-less rows.

One string table (``s``) holds every text value once; rows refer to it by index, so a department,
owner or date repeated on thousands of flags costs a few bytes each. Rows are arrays in the order of
the ``*_FIELDS`` tuples below (the script in ``templates/report.js`` reads them by the same names).
Only accounts with a flag are embedded, with their persons; every flag of the run is embedded.

Columns the contract (docs/contract.md) does not require are used when present and left empty when
not (``open_opportunity_amount``, ``holder_owners``, ``prefecture`` …), so the report renders any
output table set that satisfies the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from abm.detect.policy import SEVERITIES, SEVERITY_RANK

GAP_RANK = len(SEVERITIES)          # an account with gaps only sorts after every collision
EVIDENCE_SHOWN = 1                  # record keys embedded per flag (the count is always embedded)

ACCOUNT_FIELDS = ("id", "name", "prefecture", "corporate_number", "domains", "same_name", "rank", "new",
                  "amount", "n_collisions", "n_gaps", "first_seen", "registry_status", "successor")
PERSON_FIELDS = ("id", "account", "name", "department", "title", "rank", "known_by", "owners")
COLLISION_FIELDS = ("flag_id", "level", "account", "department", "person", "our_departments", "our_people",
                    "severity", "status", "first_seen", "window_start", "window_end", "n_touches",
                    "open_opportunities", "amount", "products", "stages", "evidence", "n_evidence")
GAP_FIELDS = ("flag_id", "gap_type", "account", "department", "person", "status", "first_seen",
              "holder_departments", "holder_people", "engaged_by", "n_people", "evidence", "n_evidence")
RESOLVED_FIELDS = ("flag_id", "flag_type", "account_id", "account_name", "department")

_STR_LIST = pl.List(pl.String())


def _ensure(df: pl.DataFrame, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``df`` with every column of ``columns`` (missing ones null, typed)."""
    missing = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in columns.items() if name not in df.columns]
    return df.with_columns(missing) if missing else df


def _as_text(df: pl.DataFrame) -> pl.DataFrame:
    """Dates and other non-text lists as text, so that every value can go into the string table;
    floats finite or null."""
    out = []
    for name, dtype in df.schema.items():
        if dtype == pl.Date or dtype == pl.Datetime:
            out.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif dtype.is_float():  # JSON has no NaN or infinity: an unusable amount is shown as none
            out.append(pl.when(pl.col(name).is_finite()).then(pl.col(name)).alias(name))
        elif isinstance(dtype, pl.List) and dtype.inner != pl.String:
            out.append(pl.col(name).cast(_STR_LIST))
    return df.with_columns(out) if out else df


class _Strings:
    """The string table: each text value once, most frequent first. ``encode`` replaces text columns
    by their indexes (one join of every value with the table); call it once with every frame."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def encode(self, frames: dict[str, tuple[pl.DataFrame, list[str]]]) -> dict[str, pl.DataFrame]:
        # every text value of every column in one long frame (__k: which column, __r: which row), so
        # the values are counted and looked up in the table by one join instead of one per column
        parts = []
        for f, (df, columns) in enumerate(frames.values()):
            for c, name in enumerate(columns):
                listed = isinstance(df.schema[name], pl.List)
                part = df.select(_ROW, pl.col(name).cast(_STR_LIST if listed else pl.String).alias("__v"))
                parts.append((part.explode("__v") if listed else part).with_columns(
                    pl.lit(_column_key(f, c), dtype=pl.UInt32).alias("__k")))
        long = pl.concat(parts) if parts else pl.DataFrame(schema={"__r": pl.UInt32, "__v": pl.String,
                                                                   "__k": pl.UInt32})
        # the most frequent values first: they get the shortest indexes
        counts = long.get_column("__v").drop_nulls().value_counts(name="__n")
        # (count, value) tells every two values apart: one struct key sorts in one pass (polars 2.1
        # compares a list of keys column by column, ~2x slower)
        self.values = counts.sort(pl.struct(-pl.col("__n").cast(pl.Int64), "__v")).get_column("__v").to_list()
        table = pl.DataFrame({"__s": self.values}, schema={"__s": pl.String}).with_row_index("__i")
        coded = (long.join(table, left_on="__v", right_on="__s", how="left", maintain_order="left")
                 .select("__k", "__r", pl.col("__i").cast(pl.Int64)))
        by_column = coded.partition_by("__k", as_dict=True, include_key=False, maintain_order=True)
        none = pl.DataFrame(schema={"__r": pl.UInt32, "__i": pl.Int64})
        out = {}
        for f, (key, (df, columns)) in enumerate(frames.items()):
            codes = []
            for c, name in enumerate(columns):
                part = by_column.get((_column_key(f, c),), none)
                if isinstance(df.schema[name], pl.List):  # a null list becomes [], an empty one null
                    kept = part.group_by("__r", maintain_order=True).agg(pl.col("__i").drop_nulls().alias(name))
                    codes.append(df.select(_ROW).join(kept, on="__r", how="left", maintain_order="left")
                                 .get_column(name))
                else:  # one row per row of df, in its order
                    codes.append(part.get_column("__i").alias(name))
            out[key] = df.with_columns(codes)
        return out


_ROW = pl.int_range(pl.len(), dtype=pl.UInt32).alias("__r")


def _column_key(frame: int, column: int) -> int:
    return frame * 1000 + column


def _flag_accounts(collisions: pl.DataFrame, gaps: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Flagged accounts in order of urgency: most severe collision first (gaps only last), an account
    with a new flag before one with ongoing flags only, then the largest open-opportunity value."""
    per_collision = collisions.select(
        "account_id", pl.col("severity").replace_strict(SEVERITY_RANK, default=GAP_RANK - 1,
                                                        return_dtype=pl.Int64).alias("rank"),
        (pl.col("status") == "new").fill_null(False).alias("new"),
        pl.when(pl.col("open_opportunity_amount").cast(pl.Float64).is_finite())
        .then(pl.col("open_opportunity_amount").cast(pl.Float64)).alias("amount"),
        pl.col("first_seen_on").cast(pl.String).alias("first_seen"),
        pl.lit(1).alias("c"), pl.lit(0).alias("g"))
    per_gap = gaps.select(
        "account_id", pl.lit(GAP_RANK, dtype=pl.Int64).alias("rank"),
        (pl.col("status") == "new").fill_null(False).alias("new"), pl.lit(None, dtype=pl.Float64).alias("amount"),
        pl.col("first_seen_on").cast(pl.String).alias("first_seen"), pl.lit(0).alias("c"), pl.lit(1).alias("g"))
    flags = pl.concat([per_collision, per_gap])
    top = flags.group_by("account_id").agg(pl.col("rank").min())
    summary = (
        flags.join(top, on="account_id", suffix="_top")
        .group_by("account_id").agg(
            pl.col("rank").min(),
            # "new before ongoing" among the flags of the account's top severity
            pl.col("new").filter(pl.col("rank") == pl.col("rank_top")).any().alias("new"),
            pl.col("amount").max().fill_null(0.0),
            pl.col("c").sum().alias("n_collisions"), pl.col("g").sum().alias("n_gaps"),
            pl.col("first_seen").max())
    )
    names = accounts.group_by("name").len().rename({"len": "__same"})
    return (
        summary.join(accounts, on="account_id", how="left")
        .join(names, on="name", how="left")
        .with_columns((pl.col("__same").fill_null(1) > 1).alias("same_name"),
                      pl.coalesce("name", "account_id").alias("name"))
        .sort(["rank", "new", "amount", "name", "account_id"], descending=[False, True, True, False, False])
        .with_row_index("account", offset=0)
        .with_columns(pl.col("account").cast(pl.Int64))
    )


def _known_by(edges: pl.DataFrame, touches: pl.DataFrame, person_ids: pl.Series) -> pl.DataFrame:
    """Per person of ``person_ids`` (the report shows the persons of flagged accounts only): our
    departments that know them (committee_edges ``knows``) and our people who made their touches
    (touches.owner_name)."""
    nodes = ("person:" + person_ids.drop_nulls().unique()).implode()
    knows = (
        edges.select("relation", "dst", "src", *(["weight"] if "weight" in edges.columns else []))
        .filter((pl.col("relation") == "knows") & pl.col("dst").is_in(nodes))
        .select(pl.col("dst").str.strip_prefix("person:").alias("person_id"),
                pl.col("src").str.strip_prefix("internal:").alias("dept"),
                pl.col("weight").cast(pl.Int64).fill_null(1) if "weight" in edges.columns else pl.lit(1).alias("weight"))
        .sort(["person_id", "weight", "dept"], descending=[False, True, False])
        .group_by("person_id", maintain_order=True).agg(pl.col("dept").alias("known_by"))
    )
    # the two columns taken before the filter: the filter copies every column it is given
    owners = (
        touches.select("person_id", "owner_name")
        .filter(pl.col("person_id").is_in(person_ids.drop_nulls().unique().implode()) & pl.col("owner_name").is_not_null())
        .group_by("person_id").agg(pl.col("owner_name").unique().sort().alias("owners"))
    )
    return knows.join(owners, on="person_id", how="full", coalesce=True)


def model_frames(tables: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    """The embedded data of report.html: ``{"s": strings, "a": accounts, "p": persons, "c": collisions,
    "g": gaps, "r": resolved flags, "fields": {table: field names}}``, each table's rows a frame (its
    columns in the ``*_FIELDS`` order): report.html writes them as JSON in polars
    (``abm.report.json_rows``), not through Python tuples."""
    accounts = _ensure(tables["accounts"], {"name": pl.String(), "prefecture": pl.String(),
                                            "corporate_number": pl.String(), "domains": _STR_LIST,
                                            "registry_status": pl.String(), "successor_corporate_number": pl.String()})
    collisions = _ensure(tables["collisions"], {
        "flag_id": pl.String(), "status": pl.String(), "first_seen_on": pl.Date(), "internal_owners": _STR_LIST,
        "open_opportunities": pl.Int64(), "open_opportunity_amount": pl.Float64(),
        "open_opportunity_products": _STR_LIST, "open_opportunity_stages": _STR_LIST, "products": _STR_LIST,
        "n_touches": pl.Int64(), "person_id": pl.String(), "counterpart_department": pl.String()})
    gaps = _ensure(tables["key_person_gaps"], {
        "flag_id": pl.String(), "status": pl.String(), "first_seen_on": pl.Date(),
        "holder_internal_departments": _STR_LIST, "holder_owners": _STR_LIST,
        "engaging_internal_departments": _STR_LIST, "n_people": pl.Int64(), "person_id": pl.String(),
        "counterpart_department": pl.String()})
    persons = _ensure(tables["persons"], {"name": pl.String(), "department": pl.String(), "title": pl.String(),
                                          "rank": pl.Int64()})
    touches = _ensure(tables["touches"], {"owner_name": pl.String()})
    edges = _ensure(tables["committee_edges"], {"weight": pl.Int64()})

    acc = _flag_accounts(collisions, gaps, accounts)
    ref = acc.select("account_id", "account")
    shown = persons.join(ref, on="account_id", how="inner")
    people = (
        shown.join(_known_by(edges, touches, shown.get_column("person_id")), on="person_id", how="left")
        .sort(["account", "department", "rank", "name"], descending=[False, False, True, False], nulls_last=True)
        .with_row_index("person").with_columns(pl.col("person").cast(pl.Int64))
    )
    pref = people.select("person_id", "person")

    flagged = pl.concat([collisions.get_column("person_id"), gaps.get_column("person_id")]).drop_nulls()
    a_rows = _as_text(acc.select(
        pl.col("account_id").alias("id"), "name", "prefecture", "corporate_number", "domains", "same_name",
        "rank", "new", "amount", "n_collisions", "n_gaps", "first_seen",
        # closed / absorbed accounts are marked (--registry); an active one carries nothing
        pl.when(pl.col("registry_status").is_in(["closed", "absorbed"])).then(pl.col("registry_status"))
        .alias("registry_status"), pl.col("successor_corporate_number").alias("successor")))
    p_rows = _as_text(people.select(
        # a person's ID only where a flag names them (for `abm explain`); the others are found by name
        pl.when(pl.col("person_id").is_in(flagged.implode())).then(pl.col("person_id")).alias("id"), "account", "name", "department", "title", "rank",
        pl.col("known_by").fill_null(pl.lit([], dtype=_STR_LIST)), pl.col("owners").fill_null(pl.lit([], dtype=_STR_LIST))))

    products = pl.coalesce(pl.col("open_opportunity_products"), pl.col("products"))
    c_rows = _as_text(
        collisions.join(ref, on="account_id", how="inner").join(pref, on="person_id", how="left")
        .with_columns(pl.col("severity").replace_strict(SEVERITY_RANK, default=GAP_RANK).alias("__sev"))
        .sort(["account", "__sev", "level", "counterpart_department"], nulls_last=True)
        .select("flag_id", "level", "account", pl.col("counterpart_department").alias("department"), "person",
                pl.col("internal_departments").alias("our_departments"),
                pl.col("internal_owners").fill_null(pl.lit([], dtype=_STR_LIST)).alias("our_people"),
                "severity", "status", pl.col("first_seen_on").alias("first_seen"), "window_start", "window_end",
                "n_touches", "open_opportunities", pl.col("open_opportunity_amount").alias("amount"),
                products.fill_null(pl.lit([], dtype=_STR_LIST)).alias("products"),
                pl.col("open_opportunity_stages").fill_null(pl.lit([], dtype=_STR_LIST)).alias("stages"),
                pl.col("evidence").list.head(EVIDENCE_SHOWN).alias("evidence"),
                pl.col("evidence").list.len().alias("n_evidence")))
    g_rows = _as_text(
        gaps.join(ref, on="account_id", how="inner").join(pref, on="person_id", how="left")
        .sort(["account", "gap_type", "counterpart_department"], nulls_last=True)
        .select("flag_id", "gap_type", "account", pl.col("counterpart_department").alias("department"), "person",
                "status", pl.col("first_seen_on").alias("first_seen"),
                pl.col("holder_internal_departments").fill_null(pl.lit([], dtype=_STR_LIST)).alias("holder_departments"),
                pl.col("holder_owners").fill_null(pl.lit([], dtype=_STR_LIST)).alias("holder_people"),
                pl.col("engaging_internal_departments").fill_null(pl.lit([], dtype=_STR_LIST)).alias("engaged_by"),
                "n_people", pl.col("evidence").list.head(EVIDENCE_SHOWN).alias("evidence"),
                pl.col("evidence").list.len().alias("n_evidence")))
    strings = _Strings()
    encoded = strings.encode({
        "a": (a_rows, ["id", "name", "prefecture", "corporate_number", "domains", "first_seen", "registry_status",
                       "successor"]),
        "p": (p_rows, ["id", "name", "department", "title", "known_by", "owners"]),
        "c": (c_rows, ["flag_id", "level", "department", "our_departments", "our_people", "severity", "status",
                       "first_seen", "window_start", "window_end", "products", "stages", "evidence"]),
        "g": (g_rows, ["flag_id", "gap_type", "department", "status", "first_seen", "holder_departments",
                       "holder_people", "engaged_by", "evidence"]),
        "r": (_resolved(tables, accounts), list(RESOLVED_FIELDS)),
    })
    return {
        "s": strings.values,
        "a": encoded["a"].select(ACCOUNT_FIELDS),
        "p": encoded["p"].select(PERSON_FIELDS),
        "c": encoded["c"].select(COLLISION_FIELDS),
        "g": encoded["g"].select(GAP_FIELDS),
        "r": encoded["r"].select(RESOLVED_FIELDS),
        "fields": {"a": ACCOUNT_FIELDS, "p": PERSON_FIELDS, "c": COLLISION_FIELDS, "g": GAP_FIELDS,
                   "r": RESOLVED_FIELDS},
    }


def _resolved(tables: Mapping[str, pl.DataFrame], accounts: pl.DataFrame) -> pl.DataFrame:
    """Flags of the previous run that are gone tonight (flag_history rows of this run with status resolved)."""
    history = tables.get("flag_history")
    empty = pl.DataFrame(schema=dict.fromkeys(RESOLVED_FIELDS, pl.String()))
    if history is None or history.height == 0 or "run_at" not in history.columns:
        return empty
    history = _ensure(history, {"counterpart_department": pl.String()})
    latest = history.get_column("run_at").max()
    return (
        history.filter((pl.col("run_at") == latest) & (pl.col("status") == "resolved"))
        .join(accounts.select("account_id", pl.col("name").alias("account_name")), on="account_id", how="left")
        .select(pl.col("flag_id").cast(pl.String), pl.col("flag_type").cast(pl.String), "account_id",
                "account_name", pl.col("counterpart_department").alias("department"))
        .sort("account_name", "flag_type", nulls_last=True)
    )
