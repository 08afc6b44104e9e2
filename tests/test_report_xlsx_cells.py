"""report.xlsx's column-wise cells read back exactly as xlsxwriter's cell-by-cell writer's did.

The reference is the writer report.xlsx used before (``write_string`` / ``write_number`` /
``write_boolean`` / ``write_datetime`` per cell, constant_memory); both workbooks are read back with
openpyxl and compared cell by cell, for hostile text, numbers, nulls, dates, datetimes and lists.
"""

from __future__ import annotations

import math
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.report import sheetxml
from abm.report.xlsx import MAX_CELL, Sheet, _as_text, write_xlsx

HOSTILE = ["=1+1", "+1-2", "@SUM(A1)", "-3", "0123", "0312345678", "1e5", "TRUE", " lead", "trail ", "\tx\n",
           "a & b <c> \"d\" 'e'", "_x0041_", "x_x005F_y", "a\x00b\x01c\x0b\x0c\x0d\x1fd", "\ufffe\uffff", "", "　全角　",
           "https://example.com", "共栄デジタル株式会社", "😀 emoji", "]]>", "&amp;", "\u0085x\u00a0", "a\r\nb"]


def _reference(path: Path, df: pl.DataFrame) -> None:
    """The cell-by-cell writer report.xlsx used before (the oracle)."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                           "strings_to_urls": False, "remove_timezone": True, "constant_memory": True})
    sheet = book.add_worksheet("s")
    day, stamp = book.add_format({"num_format": "yyyy-mm-dd"}), book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    df = _as_text(df)
    for c, col in enumerate(df.columns):
        sheet.write_string(0, c, col)
    for r, row in enumerate(df.iter_rows(), start=1):
        for c, (value, dtype) in enumerate(zip(row, df.schema.values(), strict=True)):
            if value is None:
                continue
            if dtype == pl.String:
                sheet.write_string(r, c, value)
            elif dtype == pl.Boolean:
                sheet.write_boolean(r, c, value)
            elif dtype.is_numeric():
                if value == value and abs(value) != float("inf"):
                    sheet.write_number(r, c, value)
            elif dtype in (pl.Date, pl.Datetime):
                sheet.write_datetime(r, c, value, day if dtype == pl.Date else stamp)
            else:
                sheet.write_string(r, c, str(value)[:MAX_CELL])
    book.close()


def _cells(path: Path, sheet: str) -> list[list[tuple[Any, str, str]]]:
    ws = openpyxl.load_workbook(path)[sheet]
    return [[(c.value, c.data_type, c.number_format if c.data_type == "d" else "") for c in row]
            for row in ws.iter_rows(min_row=2)]


def _same(new: Any, old: Any) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        return math.isclose(new, old, rel_tol=1e-15, abs_tol=1e-300)   # xlsxwriter rounds to 16 digits
    if isinstance(old, datetime):
        return abs(new - old) <= timedelta(milliseconds=1)  # openpyxl rounds serials back to a datetime
    return bool(new == old)


def _assert_same(df: pl.DataFrame, tmp: Path) -> None:
    old, new = tmp / "old.xlsx", tmp / "new.xlsx"
    _reference(old, df)
    assert write_xlsx(new, {"t": df}, [Sheet("s", lambda t: t["t"])]) == ["s"]
    before, after = _cells(old, "s"), _cells(new, "s")
    width = df.width
    pad = [(None, "n", "")] * width
    before = [(row + pad)[:width] for row in before]
    after = [(row + pad)[:width] for row in after]
    assert len(after) == len(before)
    for r, (a, b) in enumerate(zip(after, before, strict=True)):
        for c, ((va, ta, fa), (vb, tb, fb)) in enumerate(zip(a, b, strict=True)):
            assert ta == tb and fa == fb and _same(va, vb), (r, df.columns[c], a[c], b[c])


text = st.one_of(st.sampled_from(HOSTILE), st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12))
# beyond ±1e300 the old writer's 16-digit rounding could overflow to inf (1.7976931348623157e308 -> inf)
floats = st.one_of(st.floats(min_value=-1e300, max_value=1e300), st.sampled_from([float("nan"), float("inf"), -0.0]))
days = st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31))
stamps = st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.none() | text, st.none() | floats, st.none() | st.integers(-2**53, 2**53),
                               st.none() | st.booleans(), st.none() | days, st.none() | stamps,
                               st.lists(st.none() | text, max_size=3)), max_size=12))
def test_cells_read_back_as_the_cell_by_cell_writer_wrote_them(rows, tmp_path: Path):
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 7
    df = pl.DataFrame({
        "text": pl.Series(columns[0], dtype=pl.String), "float": pl.Series(columns[1], dtype=pl.Float64),
        "int": pl.Series(columns[2], dtype=pl.Int64), "bool": pl.Series(columns[3], dtype=pl.Boolean),
        "day": pl.Series(columns[4], dtype=pl.Date), "stamp": pl.Series(columns[5], dtype=pl.Datetime("us")),
        "list": pl.Series(columns[6], dtype=pl.List(pl.String)),
    })
    _assert_same(df, tmp_path)


@pytest.mark.parametrize("value", HOSTILE)
def test_each_hostile_text_is_the_same_text(value: str, tmp_path: Path):
    _assert_same(pl.DataFrame({"v": [value, None, value]}), tmp_path)


def test_other_column_types(tmp_path: Path):
    tz = datetime(2025, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=9)))
    _assert_same(pl.DataFrame({
        "u8": pl.Series([1, None, 255], dtype=pl.UInt8), "f32": pl.Series([0.5, float("nan"), -2.0], dtype=pl.Float32),
        "cat": pl.Series(["a", None, "0012"], dtype=pl.Categorical),
        "tz": pl.Series([tz, None, tz]).dt.convert_time_zone("Asia/Tokyo"),
        "ms": pl.Series([datetime(2025, 1, 2, 3, 4, 5, 678000)] * 3, dtype=pl.Datetime("ms")),
    }), tmp_path)


def test_over_long_text_is_cut_to_excels_limit_in_utf16_units(tmp_path: Path):
    df = pl.DataFrame({"plain": ["あ" * (MAX_CELL + 5)], "emoji": ["😀" * 20000 + "a" * 20000]})
    path = tmp_path / "r.xlsx"
    write_xlsx(path, {"t": df}, [Sheet("s", lambda t: t["t"])])
    plain, emoji = (c.value for c in openpyxl.load_workbook(path)["s"][2])
    assert plain == "あ" * MAX_CELL
    assert len(emoji.encode("utf-16-le")) // 2 <= MAX_CELL and emoji == "😀" * 16383


def test_rows_in_many_chunks_and_the_used_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sheetxml, "CELLS_PER_CHUNK", 7)   # 3 rows of 2 columns per chunk
    df = pl.DataFrame({"id": [f"{i:05d}" for i in range(1, 101)], "n": list(range(100))})
    path = tmp_path / "r.xlsx"
    write_xlsx(path, {"t": df}, [Sheet("s", lambda t: t["t"])])
    sheet = openpyxl.load_workbook(path, read_only=True)["s"]   # read-only mode trusts the used range
    assert sheet.max_row == 101 and sheet.max_column == 2
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [(f"{i:05d}", i - 1) for i in range(1, 101)]
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
