"""STUB — being written; replaced by its owner."""

from __future__ import annotations

from typing import Any


def detect_policy(rules: Any) -> Any:
    return None
