"""STUB — being written by its owner (departments and titles). Signatures are fixed."""

from __future__ import annotations

from typing import Any


def org_rules(rules: Any) -> Any:
    return None


def normalize_department(raw: str | None, org: Any = None) -> str | None:
    """Counterpart department as canonical path segments joined by '/', e.g. '営業本部/第一営業部'."""
    return raw.strip() if raw and raw.strip() else None


def normalize_internal_department(raw: str | None, org: Any = None) -> str | None:
    """OUR department, normalised (width, spacing, 第1/第一/第１)."""
    return raw.strip() if raw and raw.strip() else None


def title_rank(title: str | None, org: Any = None) -> int:
    """Rank 0-9 per the contract's table."""
    return 0
