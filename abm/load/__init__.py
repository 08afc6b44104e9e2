"""Load stage: INPUT_DIR files -> one canonical table per kind, plus quarantine and per-file stats.

``load_inputs`` reads every top-level data file, finds its kind (sources.yaml entry, else file-name
prefix, else the vendor layout its header fits), maps its columns, normalises dates to ISO, derives
ids where a layout has none, resolves Salesforce owners through a User export, and checks ids per
kind. Every input row ends in ``tables`` or in ``quarantine`` (Salesforce User rows are reference
rows, counted in ``files``). A file that cannot be used at all raises ``InputError``.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from abm.contract import DATE_COLUMNS, KINDS, LINEAGE_COLUMNS
from abm.errors import InputError
from abm.load import archives, read, sheets, validate
from abm.load.crm_links import route_crm_id
from abm.load.layouts import INTERNAL_COLUMNS, USERS, Layout, layout_rules, resolve
from abm.load.layouts import apply as apply_mapping
from abm.load.parts import (
    count_unreadable_values,
    kind_from_stem,
    parts_with_layouts,
    quarantine_formula_ids,
    raw_rows,
)
from abm.load.sources import Source, match, read_sources
from abm.rules import Rules

__all__ = ["Loaded", "load_inputs", "QUARANTINE_SCHEMA"]

log = logging.getLogger(__name__)

DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xlsm"}
UNREADABLE_SPREADSHEETS = {".xls", ".ods", ".numbers"}
#: kinds whose rows are touches, and the columns that name OUR side of the touch
TOUCH_OWNER = {
    "cards": ("owner_name", "owner_department"),
    "crm_contacts": ("owner_name", "owner_department"),
    "crm_leads": ("owner_name", "owner_department"),
    "crm_opportunities": ("owner_name", "owner_department"),
    "ma_activities": ("program", "program_department"),
}
SF_REFERENCE_COLUMNS = ("account_id", "contact_id", "parent_account_id", "_owner_id", "user_id",
                        "converted_account_id", "converted_contact_id", "crm_lead_id", "crm_contact_id",
                        "crm_account_id", "_crm_id")
QUARANTINE_SCHEMA = {
    "source_file": pl.Utf8,
    "row_number": pl.Int64,
    "kind": pl.Utf8,
    "reason": pl.Utf8,
    "raw": pl.Utf8,
}


@dataclass(frozen=True)
class Loaded:
    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    files: list[dict[str, Any]]



def display_name(path: Path) -> str:
    """The file name as text; raises InputError when it is not UTF-8 (e.g. CP932 bytes from a
    Windows zip unpacked on Linux), which cannot be written to the outputs."""
    name = path.name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(name)
        try:
            guess = f" (in CP932 it reads {raw.decode('cp932')!r})"
        except UnicodeDecodeError:
            guess = ""
        shown = raw.decode("utf-8", errors="replace")
        raise InputError(
            shown, f"the file name is not UTF-8 text{guess}",
            fix="rename the file with a UTF-8 name (unzip Windows archives with `unzip -O cp932`)",
        ) from None
    return name


def _skip_reason(path: Path) -> str | None:
    """Why a top-level entry is not read (None: read it). Hidden files and sources.yaml: ''."""
    name = display_name(path)
    if name.startswith((".", "~$")) or name in ("sources.yaml", "sources.yml", "overrides.yaml", "overrides.yml"):
        return ""
    if path.is_symlink() and not path.exists():
        try:
            os.stat(path)
            what = "a symlink that cannot be followed"
        except OSError as exc:
            what = "a symlink loop" if exc.errno == errno.ELOOP else f"a broken symlink (to {os.readlink(path)})"
        raise InputError(name, f"it is {what}", fix="point the link at the export file or remove it")
    if path.is_dir():
        return (
            "ground truth directory, not input"
            if name == "truth"
            else "sub-directory: only top-level files are read"
        )
    if name.lower().startswith("readme"):
        return "documentation"
    suffix = path.suffix.lower()
    if suffix in UNREADABLE_SPREADSHEETS:
        raise InputError(
            name, f"{suffix} workbooks cannot be read", fix="save the sheet as .xlsx or CSV (UTF-8)"
        )
    if suffix not in DATA_SUFFIXES and not archives.is_archive(path):
        return f"unsupported file type {suffix or '(none)'}; abm reads {', '.join(sorted(DATA_SUFFIXES))}, .zip, .csv.gz"
    if not path.is_file():  # a FIFO or device named *.csv would block the run forever
        return "not a regular file (a pipe or device): not read"
    if not os.access(path, os.R_OK):
        raise InputError(name, "the file cannot be read (permission denied)", fix="make the file readable")
    return None


def _read(path: Path, src: Source | None, data: bytes | None, name: str) -> read.RawTable:
    try:
        return _read_file(path, src, data, name)
    except OSError as exc:  # unreadable, vanished, an I/O error: name the file, never a traceback
        raise InputError(path.name, f"the file cannot be read ({exc.strerror or exc})",
                         fix="check the file and its permissions") from exc


def _read_file(path: Path, src: Source | None, data: bytes | None, name: str) -> read.RawTable:
    suffix = path.suffix.lower()
    source: Path | io.BytesIO = path if data is None else io.BytesIO(data)
    if suffix == ".parquet":
        return sheets.read_parquet(source, name)
    if suffix in (".xlsx", ".xlsm"):
        return sheets.read_xlsx(source, name, src.sheet if src else None)
    return read.read_delimited(path, name, src.encoding if src else None, src.delimiter if src else None, data)






def _file_frame(
    raw: read.RawTable, layout: Layout, src: Source | None, name: str, stats: dict[str, Any]
) -> pl.DataFrame:
    """One file's rows as canonical columns of its kind (+ _owner_id, lineage, defaults)."""
    kind = layout.kind
    mapping = resolve(raw.header, layout, src.columns if src else {}, name)
    stats["ignored_columns"] = mapping.ignored
    targets = KINDS[kind] if kind != USERS else ("user_id", "name", "family_name", "given_name", "department")
    extra = tuple(c for c in INTERNAL_COLUMNS if c in mapping.columns)
    frame = apply_mapping(raw.frame, mapping, targets + extra)
    if layout.salesforce_ids:
        frame = validate.widen_salesforce_ids(frame, (targets[0], *SF_REFERENCE_COLUMNS))
    if "_crm_id" in frame.columns:
        frame = route_crm_id(frame)
    if kind == USERS:
        return frame
    id_col = targets[0]
    if id_col not in mapping.columns and layout.id_from is None:
        raise InputError(
            name,
            f"the id column {id_col} is missing (layout {layout.name}; header: "
            f"{', '.join(h for h in raw.header if h) or 'none'})",
            column=id_col,
            fix=f"add a {id_col} column, or map one in sources.yaml (columns: {{{id_col}: <header>}})",
        )
    frame, issues = validate.parse_dates(
        frame, DATE_COLUMNS.get(kind, ()), src.date_format if src else None, validate.run_date_limit()
    )
    stats["field_issues"].update(issues)
    derived = id_col not in mapping.columns
    if derived:
        frame = validate.derive_ids(frame, id_col, layout.id_from or "content", layout.id_prefix)
        stats["notes"].append(
            f"no id column: {id_col} derived from "
            f"{'the row content' if layout.id_from == 'content' else layout.id_from}"
        )
    # A file that cannot name our side at all (Eight: each person exports their own cards, no owner
    # column) makes no touches unless sources.yaml names its owner. A blank owner in a file that has
    # the column is still a touch (it counts for engagement, not for collisions: docs/contract.md).
    owner_cols = TOUCH_OWNER.get(kind, ())
    has_owner = bool(
        any(c in mapping.columns for c in owner_cols) or "_owner_id" in mapping.columns
        or (src is not None and (src.owner_name or src.owner_department))
    )
    return frame.with_columns(
        pl.lit(name).alias("source_file"),
        pl.lit(has_owner).alias("_file_has_owner"),
        pl.lit(derived and layout.id_from == "content").alias("_content_id"),
        pl.lit(src.owner_name if src else None, dtype=pl.Utf8).alias("_default_owner"),
        pl.lit(src.owner_department if src else None, dtype=pl.Utf8).alias("_default_department"),
    )



def _resolve_owners(table: pl.DataFrame, kind: str, users: pl.DataFrame | None) -> pl.DataFrame:
    """owner_name / owner_department from the row, else the User export, else sources.yaml defaults."""
    if "_owner_id" not in table.columns:
        table = table.with_columns(pl.lit(None, dtype=pl.Utf8).alias("_owner_id"))
    if kind == "ma_activities":
        return table.with_columns(
            pl.coalesce("program_department", "_default_department").alias("program_department")
        )
    if kind not in TOUCH_OWNER and kind != "crm_accounts":
        return table
    user_name = user_dept = dept_by_name = pl.lit(None, dtype=pl.Utf8)
    if users is not None and users.height:
        by_id = users.select(
            pl.col("user_id").alias("_owner_id"),
            pl.col("name").alias("_u_name"),
            pl.col("department").alias("_u_dept"),
        ).unique("_owner_id", keep="first")
        by_name = (
            users.filter(pl.col("name").is_not_null())
            .select(pl.col("name").alias("_u_key"), pl.col("department").alias("_u_dept_n"))
            .unique("_u_key", keep="first")
        )
        table = (
            table.join(by_id, on="_owner_id", how="left")
            .with_columns(pl.coalesce("owner_name", "_u_name").alias("_u_key"))
            .join(by_name, on="_u_key", how="left")
        )
        user_name, user_dept, dept_by_name = pl.col("_u_name"), pl.col("_u_dept"), pl.col("_u_dept_n")
    table = table.with_columns(
        pl.coalesce("owner_name", user_name, "_default_owner", "_owner_id").alias("owner_name"),
        pl.coalesce("owner_department", user_dept, dept_by_name, "_default_department").alias(
            "owner_department"
        ),
        (pl.col("_owner_id").is_not_null() & user_name.is_null()).alias("_owner_unresolved"),
    )
    return table.drop([c for c in ("_u_name", "_u_dept", "_u_key", "_u_dept_n") if c in table.columns])


def _users_table(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    if not frames:
        return None
    users = pl.concat(frames, how="diagonal_relaxed")
    full = pl.concat_str(["family_name", "given_name"], separator=" ", ignore_nulls=True)
    return users.with_columns(pl.coalesce("name", pl.when(full.str.len_chars() > 0).then(full)).alias("name"))


def _empty_table(kind: str) -> pl.DataFrame:
    schema: dict[str, Any] = {c: pl.Utf8 for c in KINDS[kind]}
    schema.update(source_file=pl.Utf8, row_number=pl.Int64, makes_touch=pl.Boolean)
    return pl.DataFrame(schema=schema)



def load_inputs(input_dir: Path, rules: Rules) -> Loaded:
    """Read INPUT_DIR into canonical tables (see module doc); raises InputError for unusable files."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise InputError(
            str(input_dir), "the input directory does not exist", fix="pass an existing INPUT_DIR"
        )
    lrules = rules.view(layout_rules)
    sources = read_sources(input_dir, set(lrules.by_name))
    files: list[dict[str, Any]] = []
    raws: dict[str, read.RawTable] = {}
    parts: dict[str, list[pl.DataFrame]] = {k: [] for k in KINDS}
    user_frames: list[pl.DataFrame] = []
    bad: list[dict[str, Any]] = []
    for path in sorted(input_dir.iterdir()):
        reason = _skip_reason(path)
        if reason == "":
            continue
        name = path.name
        if reason is not None:
            files.append({"path": name, "kind": None, "layout": None, "skipped": reason})
            # the truth folder of a generated world is expected; anything else skipped deserves a warning
            (log.info if name == "truth" else log.warning)("%s: not read (%s)", name, reason)
            continue
        for unit in archives.units(path, DATA_SUFFIXES):
            name = unit.name
            if unit.skipped:
                files.append({"path": name, "kind": None, "layout": None, "skipped": unit.skipped})
                log.warning("%s: not read (%s)", name, unit.skipped)
                continue
            src = match(sources, name) or match(sources, unit.path.name)
            raw = _read(unit.path if unit.data is not None else path, src, unit.data, name)
            stats: dict[str, Any] = {
                "path": name,
                "kind": None,
                "layout": None,
                "encoding": raw.encoding,
                "delimiter": raw.delimiter,
                "rows_read": raw.rows_read,
                "rows_loaded": 0,
                "rows_quarantined": 0,
                "rows_reference": 0,
                "field_issues": dict(raw.issues),
                "ignored_columns": [],
                "notes": list(raw.notes),
            }
            files.append(stats)
            if not raw.header:  # empty file: nothing to load, nothing lost
                stats["kind"] = (src.kind if src else None) or kind_from_stem(unit.path.stem)
                continue
            chosen = parts_with_layouts(raw, src, name, rules, stats)
            raws[name] = raw
            stats["kind"] = chosen[0][1].kind
            stats["layout"] = ", ".join(dict.fromkeys(lay.name for _, lay in chosen))
            for part, layout in chosen:
                if part is not raw:  # a sheet or header segment: its own notes and counts
                    stats["notes"] += [f"{part.label}: {n}" for n in part.notes]
                    for key, n in part.issues.items():
                        stats["field_issues"][key] = stats["field_issues"].get(key, 0) + n
                quarantine_formula_ids(part, layout, src, name, stats)
                bad += [
                    {
                        "source_file": name,
                        "row_number": b.row_number,
                        "kind": layout.kind,
                        "reason": b.reason,
                        "raw": b.raw,
                    }
                    for b in part.bad
                ]
                frame = _file_frame(part, layout, src, name, stats)
                count_unreadable_values(frame, layout.kind, rules, stats)
                if layout.kind == USERS:
                    stats["rows_reference"] += frame.height
                    user_frames.append(frame)
                else:
                    parts[layout.kind].append(frame)
    users = _users_table(user_frames)
    tables: dict[str, pl.DataFrame] = {}
    rejected: list[pl.DataFrame] = []
    for kind, frames in parts.items():
        if not frames:
            tables[kind] = _empty_table(kind)
            continue
        table = pl.concat(frames, how="diagonal_relaxed")
        table = _resolve_owners(table, kind, users)
        touch = pl.col("_file_has_owner").fill_null(False) if kind in TOUCH_OWNER else pl.lit(False)
        table = validate.suffix_content_ids(table.with_columns(touch.alias("makes_touch")), KINDS[kind][0])
        kept, rej = validate.check_ids(table, kind, KINDS[kind])
        _count_row_issues(files, kept, kind)
        tables[kind] = kept.select(*KINDS[kind], *LINEAGE_COLUMNS)
        rejected.append(rej)
    quarantine = _quarantine(bad, rejected, raws)
    _finish_stats(files, tables, quarantine)
    return Loaded(tables=tables, quarantine=quarantine, files=files)


def _count_row_issues(files: list[dict[str, Any]], kept: pl.DataFrame, kind: str) -> None:
    by_file = {f["path"]: f for f in files}
    owner_cols = [c for c in TOUCH_OWNER.get(kind, ()) if c in kept.columns]
    aggs = [(~pl.col("makes_touch")).sum().alias("no_touch_without_owner")] if kind in TOUCH_OWNER else []
    if owner_cols:
        aggs.append(pl.all_horizontal(pl.col(c).is_null() for c in owner_cols).sum().alias("blank_owner"))
    if "_owner_unresolved" in kept.columns:
        aggs.append(pl.col("_owner_unresolved").fill_null(False).sum().alias("owner_unresolved"))
    if not aggs:
        return
    for row in kept.group_by("source_file").agg(aggs).iter_rows(named=True):
        for key in ("no_touch_without_owner", "blank_owner", "owner_unresolved"):
            if row.get(key):
                by_file[row["source_file"]]["field_issues"][key] = int(row[key])


def _quarantine(
    bad: list[dict[str, Any]], rejected: list[pl.DataFrame], raws: dict[str, read.RawTable]
) -> pl.DataFrame:
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
    return pl.concat(frames).sort("source_file", "row_number")


def _finish_stats(
    files: list[dict[str, Any]], tables: dict[str, pl.DataFrame], quarantine: pl.DataFrame
) -> None:
    loaded: dict[str, int] = {}
    for t in tables.values():
        for f, n in t.group_by("source_file").len().iter_rows():
            loaded[f] = loaded.get(f, 0) + n
    quarantined = dict(quarantine.group_by("source_file").len().iter_rows())
    for f in files:
        if "skipped" in f:
            continue
        f["rows_loaded"] = loaded.get(f["path"], 0)
        f["rows_quarantined"] = quarantined.get(f["path"], 0)
        if (
            f["rows_read"] != f["rows_loaded"] + f["rows_quarantined"] + f["rows_reference"]
        ):  # pragma: no cover
            raise AssertionError(f"load lost rows of {f['path']}: {f}")
