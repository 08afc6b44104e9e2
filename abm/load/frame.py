"""One file part as a canonical frame of its kind: columns mapped, ids widened or derived, dates
parsed to ISO, lineage and the sources.yaml owner defaults attached."""

from __future__ import annotations

from typing import Any

import polars as pl

from abm.contract import DATE_COLUMNS, KINDS
from abm.errors import InputError
from abm.load import read, validate
from abm.load.crm_links import route_crm_id
from abm.load.layouts import INTERNAL_COLUMNS, USERS, Layout, resolve
from abm.load.layouts import apply as apply_mapping
from abm.load.owners import TOUCH_OWNER
from abm.load.sources import Source
from abm.load.stats import FileStats

__all__ = ["empty_table", "file_frame"]

SF_REFERENCE_COLUMNS = ("account_id", "contact_id", "parent_account_id", "_owner_id", "user_id",
                        "converted_account_id", "converted_contact_id", "crm_lead_id", "crm_contact_id",
                        "crm_account_id", "_crm_id")


def file_frame(
    raw: read.RawTable, layout: Layout, src: Source | None, name: str, stats: FileStats
) -> pl.DataFrame:
    """One file's rows as canonical columns of its kind (+ _owner_id, lineage, defaults)."""
    kind = layout.kind
    mapping = resolve(raw.header, layout, src.columns if src else {}, name)
    stats.ignored_columns = mapping.ignored
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
    stats.field_issues.update(issues)
    derived = id_col not in mapping.columns
    if derived:
        frame = validate.derive_ids(frame, id_col, layout.id_from or "content", layout.id_prefix)
        stats.notes.append(
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


def empty_table(kind: str) -> pl.DataFrame:
    schema: dict[str, Any] = {c: pl.Utf8 for c in KINDS[kind]}
    schema.update(source_file=pl.Utf8, row_number=pl.Int64, makes_touch=pl.Boolean)
    return pl.DataFrame(schema=schema)
