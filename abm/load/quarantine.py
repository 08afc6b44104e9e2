"""The quarantine table: every input row the load stage cannot keep, with a reason and a stable code.

``reason`` is free text for a person (it names the line, the column, where the first copy of an id
is); ``reason_code`` is one of ``REASON_CODES`` so the rows can be grouped and counted.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from abm.load import read
from abm.load.parts import raw_rows

__all__ = ["QUARANTINE_SCHEMA", "REASON_CODES", "build_quarantine", "bad_rows"]

#: reason_code -> what it means (the README's bad-input section lists the same codes)
REASON_CODES: dict[str, str] = {
    "ragged_row": "the row has more or fewer fields than the header",
    "unbalanced_quote": "a quote never closed, or a quoted field swallowing whole rows",
    "bad_quoting": "a quote the CSV reader cannot parse (e.g. \"ab\"c)",
    "formula_without_value": "xlsx: the id cell holds a formula saved without its value",
    "missing_id": "the id is blank",
    "duplicate_row": "the id repeats with the same values as the row kept",
    "duplicate_id": "the id repeats with different values from the row kept",
}

QUARANTINE_SCHEMA = {
    "source_file": pl.Utf8,
    "row_number": pl.Int64,
    "kind": pl.Utf8,
    "reason": pl.Utf8,
    "reason_code": pl.Utf8,
    "raw": pl.Utf8,
}


def bad_rows(part: read.RawTable, name: str, kind: str) -> list[dict[str, Any]]:
    """The rows the reader could not parse in one part of a file, as quarantine rows."""
    return [
        {"source_file": name, "row_number": b.row_number, "kind": kind, "reason": b.reason,
         "reason_code": b.code, "raw": b.raw}
        for b in part.bad
    ]


def build_quarantine(
    bad: list[dict[str, Any]], rejected: list[pl.DataFrame], raws: dict[str, read.RawTable]
) -> pl.DataFrame:
    """Unparseable rows plus the rows the id checks rejected (their raw text looked up in the file)."""
    frames = [pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)]
    for rej in rejected:
        if rej.height == 0:
            continue
        raw_text: dict[tuple[str, int], str] = {}
        for (file,), group in rej.group_by(["source_file"]):
            for part in raws[str(file)].parts():
                for num, text in raw_rows(part, group.get_column("row_number").to_list()).items():
                    raw_text[(str(file), num)] = text
        raw_col = [
            raw_text.get((f, n), json.dumps({}))
            for f, n in rej.select("source_file", "row_number").iter_rows()
        ]
        frames.append(
            rej.with_columns(pl.Series("raw", raw_col, dtype=pl.Utf8)).select(list(QUARANTINE_SCHEMA))
        )
    quarantine = pl.concat(frames).sort("source_file", "row_number")
    unknown = set(quarantine.get_column("reason_code").to_list()) - set(REASON_CODES)
    if unknown:  # pragma: no cover - a new cause must be given a documented code
        raise AssertionError(f"quarantine reason codes not in REASON_CODES: {sorted(map(str, unknown))}")
    return quarantine
