"""Read one input file into a raw grid: its header as written, and its data rows as strings.

CSV/TSV/TXT are decoded (UTF-8, UTF-8 BOM, UTF-16 BOM, CP932; lines of mixed UTF-8/CP932 are decoded
line by line), NUL bytes stripped and counted, the delimiter sniffed from the header line. A file that
parses cleanly is read by polars (``abm.load.fast_path``); otherwise Python's csv module re-reads it record by record
so every bad record can be quarantined with its reason (ragged row, unbalanced quote) while the rest load.
Parquet and .xlsx are read in ``abm.load.sheets``. Frame columns are positional
(``c0``, ``c1`` …) because headers may repeat or be blank; ``row_number`` is the 1-based record ordinal
(header excluded, blank lines not counted).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from abm.errors import InputError
from abm.load.decode import decode, plain_utf8, refuse_binary, utf8_first_line
from abm.load.fast_path import parse_fast, swallows_rows

log = logging.getLogger(__name__)

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a 1 MB field is legal

#: Longest value kept in a quarantined row's ``raw`` JSON (characters); the whole JSON is capped too.
RAW_VALUE_LIMIT = 1000
RAW_TOTAL_LIMIT = 8000
DELIMITERS = (",", "\t", ";", "|")


@dataclass(frozen=True)
class BadRow:
    row_number: int
    code: str  # reason_code: one of abm.load.quarantine.REASON_CODES
    reason: str
    raw: str


@dataclass
class RawTable:
    """One file as read: header as written, rows as strings (``""`` for empty), bad records apart."""

    header: list[str]
    frame: pl.DataFrame  # c0..c{n-1} (Utf8) + row_number (Int64)
    bad: list[BadRow] = field(default_factory=list)
    encoding: str = ""
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    issues: dict[str, int] = field(default_factory=dict)
    #: parts of the file with their own header (a header repeated inside the file, xlsx sheets);
    #: empty when the whole file is one part. Row numbers run on across parts.
    segments: list[RawTable] = field(default_factory=list)
    label: str = ""  # which part: "sheet 名刺", "header at row 120"
    #: row_number -> column positions of xlsx formula cells that have no saved value
    formula_cells: dict[int, list[int]] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        if self.segments:
            return sum(seg.rows_read for seg in self.segments)
        return self.frame.height + len(self.bad)

    def parts(self) -> list[RawTable]:
        return self.segments or [self]


def _header_key(values: list[str]) -> str:
    from abm.load.layouts import norm_header

    return "\x1f".join(sorted(norm_header(v) for v in values if v.strip()))


def split_repeated_headers(table: RawTable) -> RawTable:
    """A line equal to the header (in any column order, e.g. two exports concatenated) is never a
    record: it starts a new segment whose rows are read by that header."""
    width = len(table.header)
    if width < 2 or table.frame.height == 0:
        return table
    key = _header_key(table.header)
    cols = [f"c{i}" for i in range(width)]
    norm = [pl.col(c).str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[\s_\-.・]+", "") for c in cols]
    wanted = list(set(key.split("\x1f")))
    # cheap filter first: rows whose every non-empty cell is one of the header names, one column at a
    # time, so only the rows still in the running are normalised (almost none after the first column)
    cand = table.frame
    for n, c in zip(norm, cols, strict=True):
        cand = cand.filter(n.is_in(wanted) | (pl.col(c).str.strip_chars() == ""))
        if cand.height == 0:
            return table
    cand = cand.filter(
        pl.sum_horizontal([(pl.col(c).str.strip_chars() != "").cast(pl.Int32) for c in cols]) >= min(width, 2))
    starts = [(r[-1], [str(v).strip() for v in r[:-1]]) for r in cand.select(*cols, "row_number").iter_rows()
              if _header_key(list(r[:-1])) == key]
    if not starts:
        return table
    segments = []
    bounds = [(None, table.header), *starts]
    for i, (start, header) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else None
        rows = table.frame
        if start is not None:
            rows = rows.filter(pl.col("row_number") > start)
        if end is not None:
            rows = rows.filter(pl.col("row_number") < end)
        if header != table.header:  # reordered: move the cells to the first header's order
            order = [header.index(h) if h in header else None for h in table.header]
            if None in order or len(set(header)) != len(header):
                order = list(range(width))
            else:
                header = table.header
                rows = rows.select(*[pl.col(f"c{j}").alias(f"c{i}") for i, j in enumerate(order)], "row_number")
        segments.append(RawTable(header, rows, label=f"header at row {start}" if start else "first header"))
    segments[0].bad = list(table.bad)  # parse failures are counted once, with the first part
    table.segments = segments
    table.notes.append(f"the header line is repeated {len(starts)} time(s) (rows "
                       f"{', '.join(str(s) for s, _ in starts[:5])}): each starts a new part, never a record")
    table.frame = table.frame.filter(~pl.col("row_number").is_in([s for s, _ in starts]))
    return table


def raw_json(header: list[str], values: list[str] | tuple[Any, ...]) -> str:
    """The original row as JSON text (header -> value; surplus values under ``_extra``), size-capped."""

    def cut(v: Any) -> Any:
        if isinstance(v, str) and len(v) > RAW_VALUE_LIMIT:
            return v[:RAW_VALUE_LIMIT] + f"…[+{len(v) - RAW_VALUE_LIMIT} chars]"
        return v

    doc: dict[str, Any] = {}
    for i, v in enumerate(values[: len(header)]):
        name = header[i] or f"column_{i + 1}"
        doc[name if name not in doc else f"{name}#{i + 1}"] = cut(v)
    if len(values) > len(header):
        doc["_extra"] = [cut(v) for v in values[len(header) :]]
    text = json.dumps(doc, ensure_ascii=False)
    return text if len(text) <= RAW_TOTAL_LIMIT else text[:RAW_TOTAL_LIMIT] + "…[truncated]"


def frame_of(
    columns: Sequence[Sequence[str] | pl.Series], width: int, row_numbers: Sequence[int] | pl.Series
) -> pl.DataFrame:
    data = {f"c{i}": pl.Series(f"c{i}", columns[i], dtype=pl.Utf8) for i in range(width)}
    data["row_number"] = pl.Series("row_number", row_numbers, dtype=pl.Int64)
    return pl.DataFrame(data)


def empty_frame(width: int) -> pl.DataFrame:
    return frame_of([[] for _ in range(width)], width, [])


def sniff_delimiter(header_line: str, default: str = ",") -> str:
    """The delimiter that splits the header line (outside quotes) into the most fields."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == default))
    return best if counts[best] else default


# --- delimited text ----------------------------------------------------------------------------


def read_delimited(
    path: Path, name: str, encoding: str | None = None, delimiter: str | None = None, data: bytes | None = None
) -> RawTable:
    """``data`` (when given) is the file's content, e.g. unpacked from a .zip or .gz."""
    data = path.read_bytes() if data is None else data
    if encoding is None:
        refuse_binary(data, name)  # before NUL bytes are stripped: UTF-16 without a BOM is full of them
    notes: list[str] = []
    issues: dict[str, int] = {}
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in data:
        issues["nul_bytes"] = data.count(b"\x00")
        data = data.replace(b"\x00", b"")
        notes.append(f"{issues['nul_bytes']} NUL bytes stripped")
    used = plain_utf8(data, name) if encoding is None else None
    if used is not None:  # detected UTF-8: the parser reads the file's own bytes; no text unless needed
        utf8 = data[3:] if used == "utf-8-sig" else data
        header_line = utf8_first_line(utf8)
        if header_line is None:
            return RawTable([], empty_frame(0), encoding=used, notes=notes + ["empty file"], issues=issues)
        if delimiter is None:
            delimiter = sniff_delimiter(header_line, "\t" if ".tsv" in path.suffixes[-2:] else ",")
        table = _fast_path(utf8_body(utf8), delimiter) or _slow_path(text_body(utf8.decode()), delimiter, name)
    else:
        text, used, dnotes = decode(data, name, encoding)
        notes += dnotes
        if "\x00" in text:  # UTF-16 input
            issues["nul_bytes"] = text.count("\x00")
            text = text.replace("\x00", "")
        text = text.lstrip("\r\n")
        if not text or text.isspace():   # (= not text.strip(), without copying the file)
            return RawTable([], empty_frame(0), encoding=used, notes=notes + ["empty file"], issues=issues)
        if delimiter is None:
            delimiter = sniff_delimiter(_first_line(text), "\t" if ".tsv" in path.suffixes[-2:] else ",")
        body = text_body(text)
        table = _fast_path(body.encode("utf-8"), delimiter) or _slow_path(body, delimiter, name)
    table = split_repeated_headers(_trim_blank_header_tail(table))
    table.encoding, table.delimiter = used, delimiter
    table.notes[:0] = notes
    table.issues.update(issues)
    if table.rows_read == 0:
        table.notes.append("header only: no data rows")
    return table


def _trim_blank_header_tail(table: RawTable) -> RawTable:
    """Trailing blank header cells are trimmed (as in xlsx); values under them are counted
    (``cells_beyond_header``), like cells right of an xlsx header."""
    width = len(table.header)
    keep = width
    while keep > 1 and not table.header[keep - 1].strip():
        keep -= 1
    if keep == width:
        return table
    extra = [f"c{i}" for i in range(keep, width)]
    filled = int(table.frame.select(pl.sum_horizontal([(pl.col(c).str.strip_chars() != "").cast(pl.Int64)
                                                        for c in extra]).sum()).item() or 0)
    table.frame = table.frame.drop(extra)
    table.header = table.header[:keep]
    if filled:
        table.issues["cells_beyond_header"] = table.issues.get("cells_beyond_header", 0) + filled
    return table


def text_body(text: str) -> str:
    """The records' text as the parsers read it: no line breaks before or after, then one."""
    return text.lstrip("\r\n").rstrip("\r\n") + "\n"


def _first_line(text: str) -> str:
    """The header line for ``sniff_delimiter``: ``text_body(text)``'s first line without copying the
    file. It may keep CRs that ``text_body`` drops at the end of the file: CRs change no delimiter count."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


def utf8_body(data: bytes) -> bytes:
    """``text_body(data.decode()).encode("utf-8")`` of UTF-8 ``data`` (BOM removed), without decoding:
    the same bytes, as CR and LF never occur inside a UTF-8 multi-byte character (``tests/test_load_read.py`` checks it on arbitrary text)."""
    return data.lstrip(b"\r\n").rstrip(b"\r\n") + b"\n"


def _fast_path(raw: bytes, delimiter: str) -> RawTable | None:
    """``abm.load.fast_path.parse_fast`` as a table (None: not provably one record per line)."""
    parsed = parse_fast(raw, delimiter)
    return RawTable(*parsed) if parsed is not None else None


def _slow_path(body: str, delimiter: str, name: str) -> RawTable:
    """Record-by-record parse that quarantines what it cannot read and resumes on the next line."""
    lines: list[str] | None = None  # physical lines, built only when a restart is needed
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    bad: list[BadRow] = []
    notes: list[str] = []
    blank = 0
    beyond = 0  # values under trimmed blank header cells
    full_width = 0
    ordinal = 0
    start_line = 0  # 0-based physical line where the current reader starts
    while True:
        source = io.StringIO(body if start_line == 0 else "".join(lines[start_line:]), newline="")  # type: ignore[index]
        reader = csv.reader(source, delimiter=delimiter, strict=True)
        last_end = 0  # reader.line_num after the last complete record
        restart: int | None = None
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # the record starting on line start_line + last_end + 1 is broken: quarantine that
                # line alone (an unbalanced quote would otherwise swallow the rest) and resume after it
                if lines is None:
                    lines = io.StringIO(body, newline="").readlines()
                first = start_line + last_end
                if header is None:
                    raise InputError(
                        name,
                        f"the header line cannot be parsed ({exc})",
                        row=None,
                        fix="check the quotes in the first line",
                    ) from exc
                ordinal += 1
                code = "unbalanced_quote" if "end of data" in str(exc) else "bad_quoting"
                bad.append(
                    BadRow(
                        ordinal,
                        code,
                        f"{code}: line {first + 1}: {exc}; the line is quarantined and "
                        "reading resumes on the next line",
                        raw_json(["_line"], [lines[first].rstrip("\r\n")]),
                    )
                )
                restart = first + 1
                break
            span = (start_line + last_end + 1, start_line + reader.line_num)
            last_end = reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip() and (header is None or len(header) > 1)):
                blank += 1
                continue
            if header is None:
                header = [h.strip() for h in rec]
                full_width = len(header)
                while len(header) > 1 and not header[-1]:  # trailing blank header cells (as in xlsx)
                    header.pop()
                continue
            ordinal += 1
            if len(header) < len(rec) <= full_width:
                beyond += sum(1 for v in rec[len(header):] if v.strip())
                rec = rec[: len(header)]
            swallowed = span[1] > span[0] and swallows_rows(rec, len(header), delimiter)
            if len(rec) != len(header) or swallowed:
                if span[1] > span[0]:
                    # a ragged record spanning lines: probably a stray quote. Quarantine its first line
                    # and re-read from the next, so the rows it swallowed are not lost
                    if lines is None:
                        lines = io.StringIO(body, newline="").readlines()
                    first = span[0] - 1
                    what = (
                        "swallows whole rows"
                        if swallowed
                        else f"leaves {len(rec)} fields, expected {len(header)}"
                    )
                    bad.append(
                        BadRow(
                            ordinal,
                            "unbalanced_quote",
                            f"unbalanced_quote: line {span[0]} opens a quoted field that "
                            f"spans to line {span[1]} and {what}; the line is quarantined and reading "
                            "resumes on the next line",
                            raw_json(["_line"], [lines[first].rstrip("\r\n")]),
                        )
                    )
                    restart = first + 1
                    break
                bad.append(
                    BadRow(
                        ordinal,
                        "ragged_row",
                        f"ragged_row: {len(rec)} fields, expected {len(header)} (line {span[0]})",
                        raw_json(header, rec),
                    )
                )
                continue
            rows.append(rec)
            numbers.append(ordinal)
        if restart is None or restart >= len(lines or []):
            break
        start_line = restart
    if blank:
        notes.append(f"{blank} blank lines skipped")
    if header is None:
        return RawTable([], empty_frame(0), bad, notes=notes + ["empty file"])
    width = len(header)
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
    issues = {"cells_beyond_header": beyond} if beyond else {}
    return RawTable(header, frame_of(columns, width, numbers), bad, notes=notes, issues=issues)
