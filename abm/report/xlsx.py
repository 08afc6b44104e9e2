"""report.xlsx: the night's flags for Excel users — one sheet per table in ``SHEETS``.

Every text cell is written with ``write_string`` (IDs, 法人番号, phone numbers and postal codes stay
text, so Excel neither numberizes them nor drops leading zeros; a cell starting with ``=`` is text,
never a formula); numbers with ``write_number``; dates as dates. Each sheet has a frozen header row,
an autofilter and column widths from its content. Lists are joined with ", ".

To add a sheet, add one line to ``SHEETS``: ``Sheet("name", builder)`` where ``builder`` takes the
run's tables (name -> DataFrame) and returns the frame to write (or None to skip the sheet).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

Tables = Mapping[str, pl.DataFrame]
MAX_CELL = 32767          # Excel's limit on characters in one cell
MAX_ROWS = 1_048_575      # rows below the header
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class Sheet:
    name: str
    build: Callable[[Tables], pl.DataFrame | None]


def _names(tables: Tables) -> tuple[pl.DataFrame, pl.DataFrame]:
    accounts = tables["accounts"].select(
        "account_id", pl.col("name").alias("account_name"), "prefecture", "corporate_number",
        *(["official_name"] if "official_name" in tables["accounts"].columns else []))
    persons = tables["persons"].select("person_id", pl.col("name").alias("person_name"),
                                       pl.col("title").alias("person_title"))
    return accounts, persons


def _pick(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return df.select([c for c in columns if c in df.columns])


def collisions_sheet(tables: Tables) -> pl.DataFrame | None:
    if "collisions" not in tables:
        return None
    accounts, persons = _names(tables)
    df = (tables["collisions"].join(accounts, on="account_id", how="left").join(persons, on="person_id", how="left")
          .with_columns(pl.col("severity").replace_strict(_SEVERITY, default=9, return_dtype=pl.Int8).alias("_s"),
                        (pl.col("status") != "new").alias("_old") if "status" in tables["collisions"].columns
                        else pl.lit(False).alias("_old"))
          .sort(["_s", "_old", "open_opportunity_amount", "account_name"], descending=[False, False, True, False],
                nulls_last=True))
    return _pick(df, [
        "severity", "status", "first_seen_on", "level", "account_name", "official_name", "prefecture",
        "corporate_number", "account_id", "counterpart_department", "person_name", "person_title", "person_id",
        "internal_departments", "internal_owners", "open_opportunities", "open_opportunity_amount",
        "open_opportunity_products", "open_opportunity_stages", "products", "window_start", "window_end",
        "first_touched_on", "last_touched_on", "n_touches", "flag_id", "evidence"])


def gaps_sheet(tables: Tables) -> pl.DataFrame | None:
    if "key_person_gaps" not in tables:
        return None
    accounts, persons = _names(tables)
    df = (tables["key_person_gaps"].join(accounts, on="account_id", how="left")
          .join(persons, on="person_id", how="left").sort(["account_name", "gap_type"], nulls_last=True))
    return _pick(df, [
        "gap_type", "status", "first_seen_on", "account_name", "official_name", "prefecture", "corporate_number",
        "account_id", "counterpart_department", "person_name", "person_title", "person_id",
        "holder_internal_departments", "holder_owners", "known_since", "engaging_internal_departments",
        "n_touches", "has_open_opportunity", "n_people", "n_decision_makers", "flag_id", "evidence"])


def accounts_sheet(tables: Tables) -> pl.DataFrame | None:
    if "accounts" not in tables:
        return None
    df = tables["accounts"]
    for name, table in (("collisions", "collisions"), ("gaps", "key_person_gaps")):
        if table in tables:
            df = df.join(tables[table].group_by("account_id").len(name), on="account_id", how="left")
            df = df.with_columns(pl.col(name).fill_null(0))
    return _pick(df.sort("account_id"), [
        "account_id", "name", "official_name", "names", "corporate_number", "prefecture", "postal_codes", "phones",
        "domains", "collisions", "gaps", "n_records", "n_persons", "legal_form", "confidence"])


def crm_duplicates_sheet(tables: Tables) -> pl.DataFrame | None:
    """CRM records to merge: one row per duplicate, grouped by merge (survivor first in each group)."""
    if "crm_duplicates" not in tables:
        return None
    accounts, persons = _names(tables)
    df = (tables["crm_duplicates"].join(accounts, on="account_id", how="left")
          .join(persons, on="person_id", how="left").sort(["kind", "account_name", "merge_group", "crm_id"],
                                                          nulls_last=True))
    return _pick(df, ["kind", "merge_group", "duplicate_of", "crm_id", "survivor_rule", "account_name",
                      "corporate_number", "account_id", "person_name", "person_id", "shared", "evidence"])


def data_quality_sheet(tables: Tables) -> pl.DataFrame | None:
    """Findings about the source data (conversion / sync conflicts, contacts on another company's account)."""
    if "data_quality" not in tables:
        return None
    return _pick(tables["data_quality"].sort("finding", "record_key"),
                 ["finding", "record_key", "related_record_key", "reason", "detail"])


#: the workbook's sheets, in order — one line per sheet
SHEETS: list[Sheet] = [
    Sheet("collisions", collisions_sheet),
    Sheet("gaps", gaps_sheet),
    Sheet("accounts", accounts_sheet),
    Sheet("crm_duplicates", crm_duplicates_sheet),
    Sheet("data_quality", data_quality_sheet),
]


def _as_text(df: pl.DataFrame) -> pl.DataFrame:
    """Lists joined by ", "; over-long text cut to Excel's cell limit."""
    out = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            col = col.cast(pl.List(pl.String)).list.join(", ")
            dtype = pl.String()
        if dtype == pl.String:
            col = col.str.slice(0, MAX_CELL)
        out.append(col.alias(name))
    return df.select(out)


def _widths(df: pl.DataFrame) -> list[float]:
    """Display width per column: a CJK character counts two (≈ bytes beyond the characters / 2)."""
    widths = []
    for name, dtype in df.schema.items():
        width = float(len(name))
        if dtype == pl.String and df.height:
            s = df.get_column(name).drop_nulls()
            if s.len():
                shown = (s.str.len_chars() + (s.str.len_bytes() - s.str.len_chars()) / 2).max()
                width = max(width, float(shown or 0))  # type: ignore[arg-type]
        elif dtype in (pl.Date, pl.Datetime):
            width = max(width, 11.0)
        else:
            width = max(width, 10.0)
        widths.append(min(max(width + 2, 8.0), 60.0))
    return widths


def _write_sheet(book: xlsxwriter.Workbook, name: str, df: pl.DataFrame) -> None:
    sheet = book.add_worksheet(name[:31])
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    df = _as_text(df).head(MAX_ROWS)
    # widths and filter before the rows: constant_memory writes each row as it comes
    for c, width in enumerate(_widths(df)):
        sheet.set_column(c, c, width)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(df.height, 1), max(df.width - 1, 0))
    for c, col in enumerate(df.columns):
        sheet.write_string(0, c, col, header)
    writers = [_writer(sheet, dtype, day, stamp) for dtype in df.schema.values()]
    for r, row in enumerate(df.iter_rows(), start=1):
        for c, value in enumerate(row):
            if value is not None:
                writers[c](r, c, value)


def _writer(sheet: Any, dtype: Any, day: Any, stamp: Any) -> Callable[[int, int, Any], Any]:
    """The typed write call for one column: text as strings, numbers, booleans, dates."""
    if dtype == pl.String:
        return sheet.write_string  # type: ignore[no-any-return]
    if dtype == pl.Boolean:
        return sheet.write_boolean  # type: ignore[no-any-return]
    if dtype.is_numeric():
        def number(r: int, c: int, v: Any) -> None:
            if v == v and abs(v) != float("inf"):
                sheet.write_number(r, c, v)
        return number
    if dtype in (pl.Date, pl.Datetime):
        fmt = day if dtype == pl.Date else stamp
        return lambda r, c, v: sheet.write_datetime(r, c, v, fmt)
    return lambda r, c, v: sheet.write_string(r, c, str(v)[:MAX_CELL])


def write_xlsx(path: Path, tables: Tables, sheets: list[Sheet] | None = None) -> list[str]:
    """Write report.xlsx; returns the names of the sheets written."""
    book = xlsxwriter.Workbook(str(path), {
        "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
        "remove_timezone": True, "constant_memory": True})
    written = []
    try:
        for sheet in sheets if sheets is not None else SHEETS:
            df = sheet.build(tables)
            if df is not None:
                _write_sheet(book, sheet.name, df)
                written.append(sheet.name)
        if not written:
            book.add_worksheet("empty")
    finally:
        book.close()
    return written
