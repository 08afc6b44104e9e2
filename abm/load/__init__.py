"""Load stage: INPUT_DIR files -> one canonical table per kind, plus quarantine and per-file stats.

``load_inputs`` reads every top-level data file, finds its kind (sources.yaml entry, else file-name
prefix, else the vendor layout its header fits), maps its columns, normalises dates to ISO, derives
ids where a layout has none, resolves Salesforce owners through a User export, and checks ids per
kind. Every input row ends in ``tables`` or in ``quarantine`` (Salesforce User rows are reference
rows, counted in ``files``). A file that cannot be used at all raises ``InputError``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from abm.contract import KINDS, LINEAGE_COLUMNS
from abm.errors import InputError
from abm.load import archives, read, validate
from abm.load.files import DATA_SUFFIXES, display_name, read_entry, skip_reason
from abm.load.frame import empty_table, file_frame
from abm.load.layouts import USERS, layout_rules
from abm.load.owners import TOUCH_OWNER, resolve_owners, users_table
from abm.load.parts import (
    count_unreadable_values,
    kind_from_stem,
    parts_with_layouts,
    quarantine_formula_ids,
)
from abm.load.quarantine import QUARANTINE_SCHEMA, bad_rows, build_quarantine
from abm.load.sources import match, read_sources
from abm.load.stats import FileStats, count_row_issues, finish_stats
from abm.rules import Rules

__all__ = ["DATA_SUFFIXES", "FileStats", "Loaded", "QUARANTINE_SCHEMA", "TOUCH_OWNER", "display_name",
           "kind_from_stem", "load_inputs"]

if TYPE_CHECKING:
    from abm.activities.bulk import BulkFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    files: list[FileStats]
    #: large MA activity files left to ``abm.activities.bulk`` (their stats are in ``files``)
    bulk: list[BulkFile] = field(default_factory=list)

    def file_stats(self) -> list[dict[str, Any]]:
        """The per-file stats as run.json holds them."""
        return [f.as_dict() for f in self.files]


def load_inputs(input_dir: Path, rules: Rules) -> Loaded:
    """Read INPUT_DIR into canonical tables (see module doc); raises InputError for unusable files."""
    from abm.activities.bulk import BulkFile, claim  # it reads files with this package's parts

    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise InputError(
            str(input_dir), "the input directory does not exist", fix="pass an existing INPUT_DIR"
        )
    lrules = rules.view(layout_rules)
    sources = read_sources(input_dir, set(lrules.by_name))
    files: list[FileStats] = []
    raws: dict[str, read.RawTable] = {}
    parts: dict[str, list[pl.DataFrame]] = {k: [] for k in KINDS}
    user_frames: list[pl.DataFrame] = []
    bad: list[dict[str, Any]] = []
    bulk: list[BulkFile] = []
    for path in sorted(input_dir.iterdir()):
        reason = skip_reason(path)
        if reason == "":
            continue
        name = path.name
        if reason is not None:
            files.append(FileStats(name, skipped=reason))
            # the truth folder of a generated world is expected; anything else skipped deserves a warning
            (log.info if name == "truth" else log.warning)("%s: not read (%s)", name, reason)
            continue
        for unit in archives.units(path, DATA_SUFFIXES):
            name = unit.name
            if unit.skipped:
                files.append(FileStats(name, skipped=unit.skipped))
                log.warning("%s: not read (%s)", name, unit.skipped)
                continue
            src = match(sources, name) or match(sources, unit.path.name)
            claimed = claim(unit.path, src, name, unit.data, rules)
            if claimed is not None:  # read in chunks after normalisation (abm.activities.bulk)
                files.append(stats := FileStats(name, kind=claimed[0].kind, layout=claimed[0].name,
                                                encoding="parquet"))
                bulk.append(BulkFile(unit.path, src, name, stats, *claimed))
                continue
            raw = read_entry(unit.path if unit.data is not None else path, src, unit.data, name)
            stats = FileStats(name, encoding=raw.encoding, delimiter=raw.delimiter, rows_read=raw.rows_read,
                              field_issues=dict(raw.issues), notes=list(raw.notes))
            files.append(stats)
            if not raw.header:  # empty file: nothing to load, nothing lost
                stats.kind = (src.kind if src else None) or kind_from_stem(unit.path.stem)
                continue
            chosen = parts_with_layouts(raw, src, name, rules, stats)
            raws[name] = raw
            stats.kind = chosen[0][1].kind
            stats.layout = ", ".join(dict.fromkeys(lay.name for _, lay in chosen))
            for part, layout in chosen:
                if part is not raw:  # a sheet or header segment: its own notes and counts
                    stats.notes += [f"{part.label}: {n}" for n in part.notes]
                    for key, n in part.issues.items():
                        stats.add_issue(key, n)
                quarantine_formula_ids(part, layout, src, name, stats)
                bad += bad_rows(part, name, layout.kind)
                frame = file_frame(part, layout, src, name, stats)
                count_unreadable_values(frame, layout.kind, rules, stats)
                if layout.kind == USERS:
                    stats.rows_reference += frame.height
                    user_frames.append(frame)
                else:
                    parts[layout.kind].append(frame)
    users = users_table(user_frames)
    tables: dict[str, pl.DataFrame] = {}
    rejected: list[pl.DataFrame] = []
    for kind, frames in parts.items():
        if not frames:
            tables[kind] = empty_table(kind)
            continue
        table = pl.concat(frames, how="diagonal_relaxed")
        table = resolve_owners(table, kind, users)
        touch = pl.col("_file_has_owner").fill_null(False) if kind in TOUCH_OWNER else pl.lit(False)
        table = validate.suffix_content_ids(table.with_columns(touch.alias("makes_touch")), KINDS[kind][0])
        kept, rej = validate.check_ids(table, kind, KINDS[kind])
        count_row_issues(files, kept, kind, TOUCH_OWNER.get(kind))
        tables[kind] = kept.select(*KINDS[kind], *LINEAGE_COLUMNS)
        rejected.append(rej)
    quarantine = build_quarantine(bad, rejected, raws)
    finish_stats(files, tables, quarantine)
    for b in bulk:  # their rows are loaded later (abm.activities.bulk)
        b.stats.rows_read = b.rows
    return Loaded(tables=tables, quarantine=quarantine, files=files, bulk=bulk)
