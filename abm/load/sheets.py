"""Read Parquet files and .xlsx sheets into the same raw grid as delimited text (``abm.load.read``).

Values become strings: Parquet dates ISO, Excel date cells ISO, integral floats without ".0",
booleans "true"/"false". These formats have no encoding or quoting failure modes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from abm.errors import InputError
from abm.load.read import RawTable, empty_frame, frame_of


def read_parquet(path: Path, name: str) -> RawTable:
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


def read_xlsx(path: Path, name: str, sheet: str | None = None) -> RawTable:
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
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        header: list[str] | None = None
        rows: list[list[str]] = []
        numbers: list[int] = []
        blank = surplus = 0
        for values in ws.iter_rows(values_only=True):
            cells = [_cell(v) for v in values]
            if not any(c.strip() for c in cells):
                blank += 1
                continue
            if header is None:
                while cells and not cells[-1].strip():
                    cells.pop()
                header = [c.strip() for c in cells]
                continue
            if any(c.strip() for c in cells[len(header) :]):
                surplus += 1  # cells right of the last header cell: kept out of the table, counted
            rows.append((cells + [""] * len(header))[: len(header)])
            numbers.append(len(rows))
    finally:
        wb.close()
    if header is None:
        return RawTable([], empty_frame(0), encoding="xlsx", notes=["empty sheet"])
    width = len(header)
    columns = [[r[i] for r in rows] for i in range(width)]
    notes = [f"{blank} blank rows skipped"] if blank else []
    issues = {"cells_beyond_header": surplus} if surplus else {}
    return RawTable(header, frame_of(columns, width, numbers), encoding="xlsx", notes=notes, issues=issues)
