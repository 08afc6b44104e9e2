"""Per-file load statistics: one ``FileStats`` per top-level entry (or archive member) of INPUT_DIR.

Written to ``run.json`` (``files``) by ``as_dict``: a skipped entry as path, kind, layout and the
reason it was not read; a read file with its encoding, delimiter, row counts (read = loaded +
quarantined + reference), field issues, ignored columns and notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

__all__ = ["FileStats", "count_row_issues", "finish_stats"]


@dataclass
class FileStats:
    path: str
    kind: str | None = None
    layout: str | None = None
    #: why the entry was not read (None: it was read)
    skipped: str | None = None
    encoding: str = ""
    delimiter: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_reference: int = 0  # Salesforce User rows: reference data, not records
    field_issues: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def was_read(self) -> bool:
        return self.skipped is None

    def add_issue(self, key: str, n: int) -> None:
        self.field_issues[key] = self.field_issues.get(key, 0) + n

    def as_dict(self) -> dict[str, Any]:
        """The run.json entry (the keys it always had)."""
        if self.skipped is not None:
            return {"path": self.path, "kind": self.kind, "layout": self.layout, "skipped": self.skipped}
        return {
            "path": self.path,
            "kind": self.kind,
            "layout": self.layout,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_reference": self.rows_reference,
            "field_issues": self.field_issues,
            "ignored_columns": self.ignored_columns,
            "notes": self.notes,
        }


def count_row_issues(
    files: list[FileStats], kept: pl.DataFrame, kind: str, owner_columns: tuple[str, ...] | None
) -> None:
    """Touch rows without an owner column, blank owners and unresolved Salesforce owner ids, per file
    (``owner_columns``: the kind's touch-owner columns; None when the kind makes no touches)."""
    by_file = {f.path: f for f in files}
    owner_cols = [c for c in owner_columns or () if c in kept.columns]
    aggs = [(~pl.col("makes_touch")).sum().alias("no_touch_without_owner")] if owner_columns is not None else []
    if owner_cols:
        aggs.append(pl.all_horizontal(pl.col(c).is_null() for c in owner_cols).sum().alias("blank_owner"))
    if "_owner_unresolved" in kept.columns:
        aggs.append(pl.col("_owner_unresolved").fill_null(False).sum().alias("owner_unresolved"))
    if not aggs:
        return
    for row in kept.group_by("source_file").agg(aggs).iter_rows(named=True):
        for key in ("no_touch_without_owner", "blank_owner", "owner_unresolved"):
            if row.get(key):
                by_file[row["source_file"]].field_issues[key] = int(row[key])


def finish_stats(files: list[FileStats], tables: dict[str, pl.DataFrame], quarantine: pl.DataFrame) -> None:
    """Rows loaded and quarantined per file; every row read is accounted for."""
    loaded: dict[str, int] = {}
    for t in tables.values():
        for f, n in t.group_by("source_file").len().iter_rows():
            loaded[f] = loaded.get(f, 0) + n
    quarantined = dict(quarantine.group_by("source_file").len().iter_rows())
    for f in files:
        if not f.was_read:
            continue
        f.rows_loaded = loaded.get(f.path, 0)
        f.rows_quarantined = quarantined.get(f.path, 0)
        if f.rows_read != f.rows_loaded + f.rows_quarantined + f.rows_reference:  # pragma: no cover
            raise AssertionError(f"load lost rows of {f.path}: {f}")
