"""Row-level checks of the load stage: dates, ids (derived, Salesforce-widened, missing, duplicate).

Pure functions on polars frames; per-string work runs once per unique value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata

import polars as pl

#: Accepted date spellings (after NFKC, so full-width digits work; a time part after the date is
#: ignored, no time-zone conversion): groups are (year, month, day) unless noted.
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"), "ymd"),  # 2025-01-05, 2025/1/5, 2025.01.05
    (re.compile(r"^(\d{4})年\s*(\d{1,2})月\s*(\d{1,2})日?$"), "ymd"),  # 2025年1月5日
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "ymd"),  # 20250105
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), "mdy"),  # 1/5/2025 (US export locale)
    (
        re.compile(r"^(令和|平成|昭和)\s*(元|\d{1,2})\s*年\s*(\d{1,2})月\s*(\d{1,2})日?$"),
        "era",
    ),  # 令和7年1月5日
    (
        re.compile(r"^(令和|平成|昭和|[RHSrhs])\s*(元|\d{1,2})\s*[./\-]\s*(\d{1,2})\s*[./\-]\s*(\d{1,2})$"),
        "era",
    ),  # R7.1.5, H31/4/30, 令和7.1.5
    (re.compile(r"^(\d{5})(?:\.\d+)?$"), "serial"),  # an Excel serial day number: 45662 = 2025-01-05
)
_ERA_START = {"令和": 2018, "平成": 1988, "昭和": 1925, "r": 2018, "h": 1988, "s": 1925}
_EXCEL_EPOCH = dt.date(1899, 12, 30)
#: a time part after the date ("T10:00:00Z", " 10:00", "日 10時"), removed before matching
TIME_PART = r"(?:T|\s+|(?<=日))\d{1,2}(?::\d{2}|時).*$"
YEAR_RANGE = (1900, 2100)
#: date columns that are plans, not events: a date after the run date is expected there
FUTURE_ALLOWED = frozenset({"close_on"})


def iso_date(value: str, fmt: str | None = None) -> str | None:
    """One date string -> 'YYYY-MM-DD', or None when unreadable or impossible (2025-02-30)."""
    v = re.sub(TIME_PART, "", unicodedata.normalize("NFKC", value).strip()).strip()
    if fmt and any(d in fmt for d in ("%Y", "%y", "%G")):  # a format without a year reads no date
        try:
            day = dt.datetime.strptime(value.strip(), fmt).date()
            return day.isoformat() if YEAR_RANGE[0] <= day.year <= YEAR_RANGE[1] else None
        except ValueError:
            pass
    for pattern, order in _DATE_PATTERNS:
        m = pattern.match(v)
        if not m:
            continue
        g = m.groups()
        if order == "ymd":
            y, mo, d = int(g[0]), int(g[1]), int(g[2])
        elif order == "mdy":
            y, mo, d = int(g[2]), int(g[0]), int(g[1])
        elif order == "serial":
            day = _EXCEL_EPOCH + dt.timedelta(days=int(g[0]))
            y, mo, d = day.year, day.month, day.day
        else:
            era_year = 1 if g[1] == "元" else int(g[1])
            if era_year == 0:  # 令和0年 does not exist
                return None
            y, mo, d = _ERA_START[g[0].lower()] + era_year, int(g[2]), int(g[3])
        if not YEAR_RANGE[0] <= y <= YEAR_RANGE[1]:
            return None
        try:
            return dt.date(y, mo, d).isoformat()
        except ValueError:
            return None
    return None


def _per_unique(frame: pl.DataFrame, col: str, fn) -> pl.Expr:  # type: ignore[no-untyped-def]
    from abm.normalize.unique import map_values

    values = frame.get_column(col).drop_nulls().unique().to_list()
    return pl.col(col).replace_strict(values, map_values(fn, [(v,) for v in values]), default=None,
                                      return_dtype=pl.Utf8)


def parse_dates(
    frame: pl.DataFrame, cols: tuple[str, ...], fmt: str | None, latest: dt.date | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """ISO strings for ``cols``; values that cannot be read become null and are counted per column
    (``bad_date:<col>``), as do dates after ``latest`` (``future_date:<col>``; close_on may be later)."""
    issues: dict[str, int] = {}
    exprs = []
    for col in cols:
        if col not in frame.columns or frame.get_column(col).null_count() == frame.height:
            continue
        exprs.append(pl.col(col).str.replace(r"(?:T|\s+)\d{1,2}:\d{2}.*$", ""))
    if not exprs:
        return frame, issues
    trimmed = frame.with_columns(exprs)  # timestamps share few dates: parse each date once
    out = trimmed.with_columns(
        _per_unique(trimmed, c, lambda v: iso_date(v, fmt)).alias(c) for c in cols if c in frame.columns
    )
    for col in cols:
        if col in frame.columns:
            n = out.get_column(col).null_count() - frame.get_column(col).null_count()
            if n:
                issues[f"bad_date:{col}"] = int(n)
    if latest is not None:  # a typo like 2099 must not move the night: such dates count as unreadable
        limit = latest.isoformat()
        for col in cols:
            if col in out.columns and col not in FUTURE_ALLOWED:
                late = out.get_column(col) > limit
                n = int(late.fill_null(False).sum())
                if n:
                    issues[f"future_date:{col}"] = n
                    out = out.with_columns(pl.when(pl.col(col) > limit).then(None).otherwise(pl.col(col)).alias(col))
    return out, issues


def run_date_limit() -> dt.date:
    """The latest date a record may carry: the run date (UTC) plus one day for time zones ahead."""
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


_SF_ID = re.compile(r"^[A-Za-z0-9]{15}$")
_SF_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_18(value: str) -> str:
    """A 15-character (case-sensitive) Salesforce id widened to its 18-character form; others unchanged."""
    if not _SF_ID.match(value):
        return value
    suffix = "".join(
        _SF_ALPHABET[sum(1 << i for i, ch in enumerate(value[k : k + 5]) if "A" <= ch <= "Z")]
        for k in (0, 5, 10)
    )
    return value + suffix


def widen_salesforce_ids(frame: pl.DataFrame, cols: tuple[str, ...]) -> pl.DataFrame:
    present = [
        c
        for c in dict.fromkeys(cols)
        if c in frame.columns and frame.get_column(c).null_count() < frame.height
    ]
    return frame.with_columns([_per_unique(frame, c, salesforce_18).alias(c) for c in present])


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def derive_ids(frame: pl.DataFrame, id_col: str, basis: str | tuple[str, ...], prefix: str) -> pl.DataFrame:
    """Ids for a file without an id column, from its content (or from ``basis`` columns, e.g. e-mail).

    Content keys hash every canonical value (NFKC, whitespace collapsed), so they depend neither on the
    file name nor on row order; exact duplicate rows get suffixes later (``suffix_content_ids``).
    """
    cols = (
        [c for c in frame.columns if c not in (id_col, "row_number")] if basis == "content" else list(basis)
    )
    text = pl.concat_str([pl.col(c).fill_null("") for c in cols], separator="\x1f")
    if basis != "content":
        text = pl.when(pl.all_horizontal(pl.col(c).is_not_null() for c in cols)).then(text.str.to_lowercase())
    keyed = frame.with_columns(text.str.normalize("NFKC").str.replace_all(r"\s+", " ").alias("_basis"))
    ids = _per_unique(keyed, "_basis", lambda v: f"{prefix}-{_digest(v)}")
    return keyed.with_columns(ids.alias(id_col)).drop("_basis")


def suffix_content_ids(table: pl.DataFrame, id_col: str) -> pl.DataFrame:
    """Exact duplicate rows under a content key each keep their own key: ``…-2``, ``…-3``."""
    if not table.get_column("_content_id").any():
        return table
    rank = pl.int_range(pl.len()).over(id_col)
    return table.sort("source_file", "row_number").with_columns(
        pl.when(pl.col("_content_id") & (rank > 0))
        .then(pl.concat_str([pl.col(id_col), pl.lit("-"), (rank + 1).cast(pl.Utf8)]))
        .otherwise(pl.col(id_col))
        .alias(id_col)
    )


def _in_file_order(table: pl.DataFrame) -> pl.DataFrame:
    """``table`` sorted by source_file, row_number (unique together). Rows usually arrive in that
    order already (files are read in name order): checking it is a cheap pass, sorting moves every column."""
    file, row = pl.col("source_file"), pl.col("row_number")
    later = (file > file.shift()) | ((file == file.shift()) & (row > row.shift()))
    ordered = table.select(later.fill_null(False).slice(1).all())
    return table if ordered.item() else table.sort("source_file", "row_number")


def check_ids(table: pl.DataFrame, kind: str, columns: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, rejected rows with ``reason`` and ``reason_code``): blank ids, then duplicate ids within the kind.

    Of the rows sharing an id the one whose canonical values sort first is kept (then the smallest
    source_file/row_number), so the outcome does not depend on file or row order. A rejected row is
    ``duplicate_row`` when its values equal the kept row's, else ``duplicate_id``.
    """
    id_col = columns[0]
    missing = table.filter(pl.col(id_col).is_null()).with_columns(
        pl.lit(f"missing_id: {id_col} is blank").alias("reason"), pl.lit("missing_id").alias("reason_code")
    )
    present = table.filter(pl.col(id_col).is_not_null())
    dup = pl.col(id_col).is_duplicated()
    unique, rest = present.filter(~dup), present.filter(dup)  # only shared ids need the content sort
    content = pl.concat_str([pl.col(c).fill_null("\x00") for c in columns[1:]], separator="\x1f")
    rest = rest.with_columns(content.alias("_content")).sort(id_col, "_content", "source_file", "row_number")
    first = pl.int_range(pl.len()).over(id_col) == 0
    rest = rest.with_columns(
        first.alias("_kept"),
        pl.col("_content").first().over(id_col).alias("_first_content"),
        pl.col("source_file").first().over(id_col).alias("_first_file"),
        pl.col("row_number").first().over(id_col).alias("_first_row"),
    )
    dupes = rest.filter(~pl.col("_kept")).with_columns(
        pl.concat_str(
            [
                pl.when(pl.col("_content") == pl.col("_first_content"))
                .then(pl.lit("duplicate_row"))
                .otherwise(pl.lit("duplicate_id")),
                pl.lit(f": {id_col} "),
                pl.col(id_col),
                pl.lit(" already at "),
                pl.col("_first_file"),
                pl.lit(" row "),
                pl.col("_first_row").cast(pl.Utf8),
            ]
        ).alias("reason"),
        pl.when(pl.col("_content") == pl.col("_first_content"))
        .then(pl.lit("duplicate_row"))
        .otherwise(pl.lit("duplicate_id"))
        .alias("reason_code"),
    )
    drop = ["_content", "_kept", "_first_content", "_first_file", "_first_row"]
    kept = _in_file_order(pl.concat([unique, rest.filter(pl.col("_kept")).drop(drop)]))
    rejected = pl.concat(
        [
            missing.select("source_file", "row_number", "reason", "reason_code"),
            dupes.select("source_file", "row_number", "reason", "reason_code"),
        ]
    )
    return kept, rejected.with_columns(pl.lit(kind).alias("kind"))
