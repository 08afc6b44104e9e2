"""Read Parquet files and .xlsx sheets into the same raw grid as delimited text (``abm.load.read``).

Values become strings: Parquet dates ISO, Excel date cells ISO, integral floats without ".0",
booleans "true"/"false". These formats have no encoding or quoting failure modes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from abm.errors import InputError
from abm.load.read import RawTable, empty_frame, frame_of


def read_parquet(path: Path | BinaryIO, name: str) -> RawTable:
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the same user problem
        raise InputError(name, f"not a readable Parquet file ({exc})", fix="export the file again") from exc
    cols = [_parquet_text(df.get_column(c), name) for c in df.columns]
    return RawTable(
        [str(c).strip() for c in df.columns],
        frame_of(cols, df.width, pl.int_range(1, df.height + 1, eager=True, dtype=pl.Int64)),
        encoding="parquet",
    )


def _parquet_text(s: pl.Series, file: str) -> pl.Series:
    """One Parquet column as text meaning what the same value means in a CSV: integral floats
    without ``.0`` (pandas stores integer ids with a gap as float64), NaN empty, dates ISO."""
    dtype = s.dtype
    if dtype == pl.Date:
        s = s.dt.strftime("%Y-%m-%d")
    elif dtype.is_float():
        s = s.fill_nan(None)
        whole = s.is_finite() & (s == s.floor()) & (s.abs() < 2**53)
        as_int = s.cast(pl.Int64, strict=False).cast(pl.Utf8)
        s = pl.select(pl.when(whole).then(as_int).otherwise(s.cast(pl.Utf8))).to_series().alias(s.name)
    elif dtype == pl.Binary:
        try:
            s = s.cast(pl.Utf8)
        except Exception as exc:  # noqa: BLE001 - polars raises its own error type for bad UTF-8
            raise InputError(file, "a binary column holds bytes that are not UTF-8 text", column=s.name,
                             fix="export the column as UTF-8 text") from exc
    elif dtype.is_nested() or dtype == pl.Object:
        s = s.map_elements(lambda v: json.dumps(v, ensure_ascii=False, default=str), return_dtype=pl.Utf8)
    else:
        s = s.cast(pl.Utf8)
    return s.fill_null("")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_xlsx(path: Path | BinaryIO, name: str, sheet: str | None = None) -> RawTable:
    """One sheet (``sheet``), else every non-empty sheet, each a segment with its own header
    (``abm.load`` reads the sheets whose header fits a layout and names the others)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise InputError(
            name, f"not a readable .xlsx workbook ({exc})", fix="save it again as .xlsx or CSV"
        ) from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(
                name,
                f"sheet {sheet!r} not found (sheets: {', '.join(wb.sheetnames)})",
                fix="correct `sheet:` in sources.yaml",
            )
        chosen = [wb[sheet]] if sheet is not None else list(wb.worksheets)
        parts: list[RawTable] = []
        first_row = 1
        for ws in chosen:
            part = _read_sheet(ws, first_row)
            if part.header:
                parts.append(part)
                first_row += part.rows_read
    finally:
        wb.close()
    if not parts:
        return RawTable([], empty_frame(0), encoding="xlsx", notes=["empty sheet"])
    if len(parts) == 1:
        only = parts[0]
        only.encoding = "xlsx"
        if sheet is None and len(chosen) > 1:
            only.notes.append(f"read sheet {only.label!r} (the other sheets are empty)")
        return only
    return RawTable(parts[0].header, parts[0].frame, encoding="xlsx", segments=parts,
                    notes=[f"{len(parts)} sheets with data: {', '.join(p.label for p in parts)}"])


def _read_sheet(ws: Any, first_row: int) -> RawTable:
    """One worksheet; rows numbered from ``first_row``. Only cells that exist are read: a stray cell
    at XFD1048576 does not pad a million rows to 16 k columns."""
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()
    formulas = _formulas_without_value(ws)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    cells_at: dict[int, list[int]] = {}
    blank = surplus = 0
    for excel_row, values in enumerate(ws.iter_rows(values_only=True), start=1):
        if header is not None and len(values) > len(header):
            # beyond the header only surplus is counted (a stray far cell makes one very long row)
            if any(v is not None and str(v).strip() for v in values[len(header):]):
                surplus += 1
            values = values[: len(header)]
        cells = [_cell(v) for v in values]
        if not any(c.strip() for c in cells):
            if header is not None and excel_row in formulas:
                pass  # a row of formulas without values is a row: keep it (its cells are named below)
            else:
                blank += 1
                continue
        if header is None:
            while cells and not cells[-1].strip():
                cells.pop()
            header = [c.strip() for c in cells]
            continue
        rows.append((cells + [""] * len(header))[: len(header)])
        number = first_row + len(rows) - 1
        numbers.append(number)
        if excel_row in formulas:
            cells_at[number] = [c for c in formulas[excel_row] if c < len(header)]
    if header is None:
        return RawTable([], empty_frame(0), encoding="xlsx", label=str(ws.title))
    width = len(header)
    columns = [[r[i] for r in rows] for i in range(width)]
    notes = [f"{blank} blank rows skipped"] if blank else []
    issues = {"cells_beyond_header": surplus} if surplus else {}
    return RawTable(header, frame_of(columns, width, numbers), encoding="xlsx", notes=notes, issues=issues,
                    label=str(ws.title), formula_cells=cells_at)


_FORMULA_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>]*?>\s*<f(?:\s[^>]*)?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v></v>)?\s*</c>')


def _formulas_without_value(ws: Any) -> dict[int, list[int]]:
    """Excel row -> 0-based columns of formula cells saved without a value (a workbook written by a
    program, never opened in Excel): openpyxl reads them as empty."""
    try:
        with ws._get_source() as src:  # the sheet's XML inside the workbook
            xml = src.read()
    except Exception:  # noqa: BLE001 - not a read-only sheet: no detection
        return {}
    if b"<f" not in xml:
        return {}
    out: dict[int, list[int]] = {}
    for col, row in _FORMULA_CELL.findall(xml):
        idx = 0
        for ch in col.decode():
            idx = idx * 26 + ord(ch) - 64
        out.setdefault(int(row), []).append(idx - 1)
    return out
