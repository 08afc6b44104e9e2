"""The evidence files are written at the output tables' zstd level and read back as their tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from abm.explain import EVIDENCE_DIR, REGISTRY_ANCHORS, evidence_table, write_evidence
from abm.export import PARQUET_ZSTD_LEVEL
from abm.linkage.engine import link
from abm.linkage.spec import parse_spec

SPEC = parse_spec({"name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
                   "comparisons": [{"name": "v", "column": "v", "levels": [{"kind": "exact"}]}]}, "t.yaml")
NO_LINKS = link(pl.DataFrame({"id": ["a", "b"], "v": ["x", "y"]}), SPEC)


def _at_export_level(df: pl.DataFrame, tmp_path: Path) -> bytes:
    """The bytes abm.export's zstd level gives for ``df`` (polars writes deterministically)."""
    path = tmp_path / "expected.parquet"
    df.write_parquet(path, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL)
    return path.read_bytes()


@pytest.mark.parametrize("n", [1, 60, 3000])
def test_evidence_files_are_their_tables_at_the_export_level(tmp_path, n):
    # web forms placed after linkage fill the account links; the registry anchors have a file of their own
    moves = pl.DataFrame({"record_key": [f"ma_leads:{i * 7919 % 100_003}" for i in range(n)],
                          "moved_to": [f"A{i % 13}" for i in range(n)],
                          "evidence_key": [f"cards:{i * 104_729 % 99_991}" for i in range(n)],
                          "matched_on": ["person_name_key", "email"] * (n // 2) + ["email"] * (n % 2)})
    anchors = pl.DataFrame({"record_key": [f"crm_accounts:{i}" for i in range(n)],
                            "corporate_number": [f"{(i * 2_654_435_761) % 10**13:013d}" for i in range(n)]})
    out = tmp_path / "out"
    out.mkdir()
    write_evidence(out, NO_LINKS, NO_LINKS, registry_anchors=anchors, moves=moves)
    target = out / EVIDENCE_DIR
    account_links = pl.read_parquet(target / "account_links.parquet")
    assert account_links.height == n
    assert account_links.get_column("rule").str.starts_with("web_form_same_person:").all()
    for name, df in (("account_links.parquet", account_links), ("person_links.parquet", evidence_table(NO_LINKS)),
                     (REGISTRY_ANCHORS, anchors)):
        assert pl.read_parquet(target / name).equals(df), name
        assert (target / name).read_bytes() == _at_export_level(df, tmp_path), name
