"""The contract abm implements lives in the repository (docs/contract.md) and the code agrees with it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from abm import contract

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")


def _table_rows(heading_cell: str) -> dict[str, list[str]]:
    """Rows of the markdown table whose header starts with `heading_cell`: first cell -> other cells."""
    rows: dict[str, list[str]] = {}
    inside = False
    for line in DOC.splitlines():
        if line.startswith(f"| {heading_cell} |"):
            inside = True
            continue
        if inside and not line.startswith("|"):
            break
        if inside and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].split()[0].strip("`")] = cells[1:]
    return rows


def test_contract_version_is_documented() -> None:
    documented = re.search(r"^# abm data contract — v(\d+(?:\.\d+)?)", DOC, re.M)
    assert documented, "docs/contract.md must start with its version"
    assert float(contract.CONTRACT_VERSION) <= float(documented.group(1))
    assert f"v{contract.CONTRACT_VERSION}:" in DOC  # named in "Changes"


@pytest.mark.parametrize("kind", sorted(contract.KINDS))
def test_kind_columns_are_the_documented_ones(kind: str) -> None:
    documented = _table_rows("kind")[kind][0].split(", ")
    assert documented[0] == contract.id_column(kind)
    assert set(contract.KINDS[kind]) <= set(documented)


@pytest.mark.parametrize("table", sorted(contract.OUTPUTS))
def test_output_columns_are_documented(table: str) -> None:
    row = _table_rows("file")[f"{table}.parquet"]
    for column in contract.OUTPUTS[table]:
        assert column in row[1], f"{table}.{column} is not in docs/contract.md"


def test_no_file_points_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "grep", "-n", "-I", r"\.\./shared"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode == 128:  # not a git checkout (e.g. an sdist): nothing to check
        pytest.skip("not a git checkout")
    assert tracked.stdout == "", f"files refer to a path outside the repository instead of docs/contract.md:\n{tracked.stdout}"
