"""report.xlsx: the night's flags for Excel users — one sheet per table in ``SHEETS``.

Every text cell is an inline string (IDs, 法人番号, phone numbers and postal codes stay text, so Excel
neither numberizes them nor drops leading zeros; a cell starting with ``=`` is text, never a formula);
numbers are numbers; dates are dates. Each sheet has a frozen header row, an autofilter and column
widths from its content. Lists are joined with ", ". xlsxwriter writes the skeleton (styles, header,
widths, pane, filter); the data rows are rendered column-wise by ``abm.report.sheetxml``.

To add a sheet, add one line to ``SHEETS``: ``Sheet("name", builder)`` where ``builder`` takes the
run's tables (name -> DataFrame) and returns the frame to write (or None to skip the sheet).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from abm.report.sheetxml import Styles, fill_sheets

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
    df = df.with_columns(pl.col(name).cast(pl.List(pl.String)).list.join(", ")
                         for name, dtype in df.schema.items() if isinstance(dtype, pl.List))
    texts = [name for name, dtype in df.schema.items() if dtype == pl.String]
    if not texts or not df.height:
        return df
    # a text of at most MAX_CELL bytes is at most MAX_CELL UTF-16 units: only longer ones are cut
    longest = df.select(pl.col(texts).str.len_bytes().max()).row(0)
    return df.with_columns(_cut(df.get_column(name)) for name, n in zip(texts, longest, strict=True) if (n or 0) > MAX_CELL)


def _cut(text: pl.Series) -> pl.Series:
    """Text cut to Excel's cell limit, counted as Excel counts: in UTF-16 units, where a character
    beyond U+FFFF (an emoji) counts two; such a character is never split."""
    text = text.str.slice(0, MAX_CELL)
    over = (text.str.len_chars() + text.str.count_matches(r"[\x{10000}-\x{10FFFF}]")) > MAX_CELL
    if not over.any():
        return text
    rows = over.arg_true()   # the few texts past the limit only with those characters: cut one by one
    return text.scatter(rows, [_utf16_prefix(value) for value in text.gather(rows)])


def _utf16_prefix(value: str) -> str:
    units = value.encode("utf-16-le")[:2 * MAX_CELL]
    if 0xD8 <= units[-1] <= 0xDB:   # a lone high surrogate at the end: drop it
        units = units[:-2]
    return units.decode("utf-16-le")


def _widths(df: pl.DataFrame) -> list[float]:
    """Display width per column: a CJK character counts two (≈ bytes beyond the characters / 2,
    that is (characters + bytes) / 2); every text column's longest in one select."""
    texts = [name for name, dtype in df.schema.items() if dtype == pl.String]
    longest = df.select(((pl.col(t).str.len_chars() + pl.col(t).str.len_bytes()) / 2).max()
                        for t in texts).row(0, named=True) if texts and df.height else {}
    widths = []
    for name, dtype in df.schema.items():
        width = float(len(name))
        if dtype == pl.String and df.height:
            width = max(width, float(longest.get(name) or 0))
        elif dtype in (pl.Date, pl.Datetime):
            width = max(width, 11.0)
        else:
            width = max(width, 10.0)
        widths.append(min(max(width + 2, 8.0), 60.0))
    return widths


def _skeleton_sheet(book: xlsxwriter.Workbook, name: str, df: pl.DataFrame, day: Any, stamp: Any) -> None:
    """The sheet without its data rows: header, widths, frozen header row, autofilter.

    Date columns carry the date style as their column format (so the style is in styles.xml)."""
    sheet = book.add_worksheet(name[:31])
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for c, (width, dtype) in enumerate(zip(_widths(df), df.schema.values(), strict=True)):
        style = day if dtype == pl.Date else stamp if isinstance(dtype, pl.Datetime) else None
        sheet.set_column(c, c, width, style)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(df.height, 1), max(df.width - 1, 0))
    for c, col in enumerate(df.columns):
        sheet.write_string(0, c, col, header)


def write_xlsx(path: Path, tables: Tables, sheets: list[Sheet] | None = None) -> list[str]:
    """Write report.xlsx; returns the names of the sheets written.

    xlsxwriter writes the skeleton (styles, header rows, widths, panes, filters) in memory; the data
    rows are rendered column-wise by ``abm.report.sheetxml`` and spliced in as the file is written."""
    skeleton = io.BytesIO()
    book = xlsxwriter.Workbook(skeleton, {"in_memory": True, "strings_to_formulas": False,
                                          "strings_to_numbers": False, "strings_to_urls": False})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    written: list[str] = []
    frames: dict[int, pl.DataFrame] = {}
    for sheet in sheets if sheets is not None else SHEETS:
        df = sheet.build(tables)
        if df is not None:
            df = _as_text(df).head(MAX_ROWS)
            _skeleton_sheet(book, sheet.name, df, day, stamp)
            written.append(sheet.name)
            frames[len(written)] = df
    if not written:
        book.add_worksheet("empty")
    book.close()
    styles = Styles(date=_xf(day), datetime=_xf(stamp))
    fill_sheets(skeleton, path, frames, styles)
    return written


def _xf(fmt: Any) -> int:
    """A format's index in styles.xml (assigned when a column used it; 0, the default, otherwise)."""
    return int(fmt.xf_index) if fmt.xf_index is not None else 0
