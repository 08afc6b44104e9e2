"""The fast path of ``abm.load.read``: polars parses a delimited file's UTF-8 body, and the parse is
accepted only when counting proves every record is one line of the header's width (else the csv
module re-reads the file record by record and quarantines what it cannot read)."""

from __future__ import annotations

import polars as pl

__all__ = ["parse_fast", "swallows_rows"]


def parse_fast(raw: bytes, delimiter: str) -> tuple[list[str], pl.DataFrame] | None:
    """polars parse of ``raw`` (the text body, UTF-8), accepted only when every record is exactly one
    line with the header's width.

    Proof by counting: the newlines and delimiters outside values must equal records and
    (width - 1) x records. A ragged row, a blank line or a quote that runs to the end breaks one of
    these (or makes polars raise); a stray quote pair that swallows whole rows is caught by
    ``swallows_rows`` on the few values that hold a newline.
    """
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None  # bare CR line ends: let the csv module handle them
    try:
        df = pl.read_csv(
            raw,
            has_header=False,
            infer_schema=False,
            separator=delimiter,
            quote_char='"',
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except Exception:  # noqa: BLE001 - any polars parse failure means: diagnose with the csv module
        return None
    if df.height == 0:
        return None
    width = df.width
    inner = _inner_counts(df, delimiter, raw)
    d_total = raw.count(delimiter.encode())
    n_total = raw.count(b"\n")
    if d_total - inner[0] != (width - 1) * df.height or n_total - inner[1] != df.height:
        return None
    if inner[1] and _fast_swallow_check(df, delimiter):
        return None
    header = [v if v is not None else "" for v in df.row(0)]
    body_df = df.slice(1).fill_null("")
    frame = body_df.rename({c: f"c{i}" for i, c in enumerate(body_df.columns)}).with_columns(
        pl.int_range(1, body_df.height + 1, dtype=pl.Int64).alias("row_number")
    )
    return [h.strip() for h in header], frame


def _inner_counts(df: pl.DataFrame, delimiter: str, raw: bytes) -> tuple[int, int]:
    """(delimiters, newlines) inside the parsed values. Only a quoted value can hold either, so a
    file without a quote has none; else each row's values are counted as one string (a delimiter
    and a newline are one character each: none is made where two values meet)."""
    if b'"' not in raw:
        return 0, 0
    row = pl.concat_str(pl.all(), separator="", ignore_nulls=True)
    d, n = df.select(row.alias("r")).select(
        pl.col("r").str.count_matches(delimiter, literal=True).sum().alias("d"),
        pl.col("r").str.count_matches("\n", literal=True).sum().alias("n"),
    ).row(0)
    return int(d or 0), int(n or 0)


#: the line boundaries of ``str.splitlines``, as a regex class
_LINE_BREAKS = "".join(f"\\x{{{ord(c):x}}}" for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def swallows_rows(rec: list[str], width: int, delimiter: str) -> bool:
    """A multi-line value holding a line with a full row's worth of delimiters: a stray quote."""
    return width > 1 and any(
        line.count(delimiter) >= width - 1
        for v in rec
        if "\n" in v or "\r" in v
        for line in v.splitlines()[1:]
    )


def _fast_swallow_check(df: pl.DataFrame, delimiter: str) -> bool:
    """``swallows_rows`` of every value holding a newline, as one regex per column: a line break
    followed by a line (up to the next break) with width - 1 delimiters."""
    width = df.width
    if width < 2:
        return False
    breaks, delim = f"[{_LINE_BREAKS}]", f"\\x{{{ord(delimiter):x}}}"
    swallows = f"{breaks}(?:[^{_LINE_BREAKS}]*{delim}){{{width - 1}}}"
    for col in df.columns:
        values = df.get_column(col).filter(df.get_column(col).str.contains("\n", literal=True))
        if values.str.contains(swallows).any():
            return True
    return False
