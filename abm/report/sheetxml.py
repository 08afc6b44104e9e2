"""report.xlsx's cell data as worksheet XML, built column-wise with polars instead of cell by cell.

xlsxwriter writes the workbook's skeleton (styles, header row, widths, frozen pane, autofilter); this
module builds each sheet's data rows as ``<row>``/``<c>`` XML with polars string expressions and
splices them into the sheet's ``<sheetData>`` while the package is copied to its final zip.

The cells are what xlsxwriter's ``write_string`` / ``write_number`` / ``write_boolean`` /
``write_datetime`` would write: text as inline strings (never a formula, never a number), XML's
``& < >`` escaped, control characters XML cannot hold as Excel's ``_xHHHH_`` (and a literal
``_xHHHH_`` protected as ``_x005F_xHHHH_``), ``xml:space="preserve"`` when a text starts or ends with
white space; numbers as numbers (NaN and infinities left empty); booleans; dates and datetimes as
Excel serial numbers with the date style. Numbers are written in their shortest exact form (xlsxwriter
rounds to 16 significant digits).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from xlsxwriter.utility import xl_col_to_name

CELLS_PER_CHUNK = 200_000  # cells rendered at once: bounds memory, lets deflate overlap rendering
COMPRESSLEVEL = 1         # deflate level: 1 is ~3x faster than 6 for a ~20 % larger file
_EXCEL_DAY0 = 25568       # days from Excel's day 0 (1899-12-31) to 1970-01-01
_US_PER_DAY = 86_400_000_000
_ROW = "\0row"            # the row-number column added while rendering (no table column is named so)
_CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20))] + ["\ufffe", "\uffff"]
_FROM = ["&", "<", ">", *_CONTROL]
_TO = ["&amp;", "&lt;", "&gt;", *(f"_x{ord(c):04X}_" for c in _CONTROL)]


@dataclass(frozen=True)
class Styles:
    """xf indexes of the number formats the cells refer to (from the skeleton's styles.xml)."""
    date: int
    datetime: int


_NEEDS_ESCAPE = r"[&<>\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]|_x[0-9a-fA-F]{4}_"


def _escaped(col: pl.Expr) -> pl.Expr:
    return col.str.replace_all(r"(_x[0-9a-fA-F]{4}_)", "_x005F$1").str.replace_many(_FROM, _TO)


def _text(col: pl.Expr, cell: str, row_ref: pl.Expr, escape: bool, preserve: bool) -> pl.Expr:
    """Inline-string cells; ``escape`` / ``preserve`` False where no text of the column needs it."""
    if escape:
        col = _escaped(col)
    opening = pl.lit('" t="inlineStr"><is><t>')
    if preserve:
        opening = pl.when(col != col.str.strip_chars()).then(
            pl.lit('" t="inlineStr"><is><t xml:space="preserve">')).otherwise(opening)
    return pl.concat_str(pl.lit(cell), row_ref, opening, col, pl.lit("</t></is></c>"))


def _value(value: pl.Expr, cell: str, row_ref: pl.Expr, attrs: str = "") -> pl.Expr:
    return pl.concat_str(pl.lit(cell), row_ref, pl.lit(f'"{attrs}><v>'), value, pl.lit("</v></c>"))


def _serial(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Excel's serial day number, as xlsxwriter computes it (with Excel's 1900 leap-year day)."""
    if dtype == pl.Date:
        days = (col.cast(pl.Int64) + _EXCEL_DAY0).cast(pl.Float64)
    else:
        if getattr(dtype, "time_zone", None):
            col = col.dt.replace_time_zone(None)  # the wall-clock time, as remove_timezone does
        us = col.dt.cast_time_unit("us").cast(pl.Int64)
        seconds = (us % _US_PER_DAY) // 1_000_000
        micro = us % 1_000_000
        days = (us // _US_PER_DAY + _EXCEL_DAY0) + (seconds.cast(pl.Float64) + micro / 1e6) / 86400.0
    return pl.when(days > 59).then(days + 1).otherwise(days)


def _number(value: pl.Expr) -> pl.Expr:
    """A float as text without a trailing ".0" (so whole numbers read back as integers)."""
    return value.cast(pl.String).str.strip_suffix(".0")


def cell_xml(name: str, dtype: pl.DataType, column: int, row_ref: pl.Expr, styles: Styles,
             escape: bool = True, preserve: bool = True) -> pl.Expr:
    """One column's ``<c>`` elements (null where the cell stays empty)."""
    col = pl.col(name)
    cell = f'<c r="{xl_col_to_name(column)}'
    if dtype == pl.String:
        return _text(col, cell, row_ref, escape, preserve)
    if dtype == pl.Boolean:
        return _value(col.cast(pl.Int8).cast(pl.String), cell, row_ref, ' t="b"')
    if dtype.is_float():
        return _value(_number(pl.when(col.is_finite()).then(col)), cell, row_ref)
    if dtype.is_numeric():
        return _value(col.cast(pl.String), cell, row_ref)
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        style = styles.date if dtype == pl.Date else styles.datetime
        return _value(_number(_serial(col, dtype)), cell, row_ref, f' s="{style}"')
    return _text(col.cast(pl.String), cell, row_ref, True, True)


def _text_needs(df: pl.DataFrame) -> dict[str, tuple[bool, bool]]:
    """Per text column: does any value need escaping, does any need xml:space="preserve"?"""
    texts = [name for name, dtype in df.schema.items() if dtype == pl.String]
    if not texts or not df.height:
        return {}
    found = df.select(
        *(pl.col(t).str.contains(_NEEDS_ESCAPE).any().alias(f"e{i}") for i, t in enumerate(texts)),
        # escaping never puts white space at either end, so the raw text tells
        *((pl.col(t) != pl.col(t).str.strip_chars()).any().alias(f"p{i}") for i, t in enumerate(texts)),
    ).row(0, named=True)
    return {t: (bool(found[f"e{i}"]), bool(found[f"p{i}"])) for i, t in enumerate(texts)}


def rows_xml(df: pl.DataFrame, styles: Styles, first_row: int = 2) -> Iterator[bytes]:
    """The sheet's data rows (Excel row ``first_row`` on) as UTF-8 XML, a chunk of rows at a time."""
    if not df.width:
        return
    row_ref = pl.col(_ROW)
    needs = _text_needs(df)
    cells = [cell_xml(name, dtype, c, row_ref, styles, *needs.get(name, (True, True)))
             for c, (name, dtype) in enumerate(df.schema.items())]
    row = pl.concat_str(pl.lit('<row r="'), row_ref, pl.lit('">'), *cells, pl.lit("</row>"), ignore_nulls=True)
    rows = max(CELLS_PER_CHUNK // df.width, 1)
    for start in range(0, df.height, rows):
        chunk = df.slice(start, rows)
        numbers = pl.int_range(first_row + start, first_row + start + chunk.height, eager=True).cast(pl.String)
        yield chunk.with_columns(numbers.alias(_ROW)).select(row.str.join("").cast(pl.Binary)).item()


def _ahead(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The next chunk is rendered (polars, without the GIL) while this one is deflated (zlib, likewise)."""
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(next, chunks, None)
            yield chunk


def _dimension(xml: bytes, df: pl.DataFrame) -> bytes:
    """The sheet's used range covers the spliced rows (openpyxl's read-only mode relies on it)."""
    start = xml.find(b"<dimension ref=\"")
    if start < 0 or not df.width:
        return xml
    end = xml.index(b"/>", start)
    ref = f'<dimension ref="A1:{xl_col_to_name(df.width - 1)}{df.height + 1}"'.encode()
    return xml[:start] + ref + xml[end:]


def _write_sheet(out: zipfile.ZipFile, info: zipfile.ZipInfo, xml: bytes, df: pl.DataFrame, styles: Styles) -> None:
    xml = _dimension(xml, df).replace(b"<sheetData/>", b"<sheetData></sheetData>")
    head, tail = xml.split(b"</sheetData>", 1)
    with out.open(info.filename, "w", force_zip64=True) as fh:  # the archive's deflate level
        fh.write(head)
        for chunk in _ahead(rows_xml(df, styles)):
            fh.write(chunk)
        fh.write(b"</sheetData>" + tail)


def fill_sheets(skeleton: io.BytesIO, path: Path, frames: Mapping[int, pl.DataFrame], styles: Styles) -> None:
    """Copy the skeleton package to ``path``, with ``frames[n]``'s rows spliced into ``sheet{n}.xml``."""
    with zipfile.ZipFile(skeleton) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL) as out:
        for info in src.infolist():
            data = src.read(info)
            number = info.filename.removeprefix("xl/worksheets/sheet").removesuffix(".xml")
            if number.isdigit() and int(number) in frames:
                _write_sheet(out, info, data, frames[int(number)], styles)
            else:
                out.writestr(info, data, zipfile.ZIP_DEFLATED, COMPRESSLEVEL)
