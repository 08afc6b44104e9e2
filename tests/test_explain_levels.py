"""``abm explain`` names comparison levels from what the run stored, not from today's rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import yaml
from click.testing import CliRunner

from abm.cli import main
from abm.explain import EVIDENCE_DIR, LEVELS, stored_level_names

RULES = Path(__file__).resolve().parent.parent / "rules"


def _renamed_rules(target: Path) -> tuple[Path, str, str]:
    """A copy of rules/ whose account comparison ``name`` has its first level renamed."""
    shutil.copytree(RULES, target)
    path = target / "linkage_accounts.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    comp = next(c for c in spec["comparisons"] if c["name"] == "name")
    old = comp["levels"][0]["name"]
    comp["levels"][0]["name"] = "level_named_by_this_run"

    def rename(node: object) -> object:  # references to the level elsewhere in the spec follow it
        if isinstance(node, dict):
            return {k: rename(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rename(v) for v in node]
        return "name.level_named_by_this_run" if node == f"name.{old}" else node

    path.write_text(yaml.safe_dump(rename(spec), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target, old, "level_named_by_this_run"


def _account_evidence(text: str) -> str:
    """The account evidence lines of an explanation (the person comparisons have levels of their own)."""
    section = text.split("  account evidence", 1)[1]
    return section.split("  person evidence", 1)[0].split("  registry evidence", 1)[0] + "\n"


def test_a_run_is_explained_with_its_own_level_names(small_world: Path, tmp_path: Path):
    rules, old, new = _renamed_rules(tmp_path / "rules")
    out = tmp_path / "out"
    ran = CliRunner().invoke(main, ["run", str(small_world), "--out", str(out), "--rules", str(rules), "-q"])
    assert ran.exit_code == 0, ran.output
    stored = stored_level_names(out)
    assert stored is not None and stored["account"]["name"][0] == new
    assert stored["account"]["name"][-1] == "else" and set(stored) == {"account", "person"}

    links = pl.read_parquet(out / EVIDENCE_DIR / "account_links.parquet")
    subject = links.filter(pl.col("gamma_name") == 0).get_column("id_l")[0]
    # explained without --rules (today's rules/ name that level differently): the run's name is shown
    told = CliRunner().invoke(main, ["explain", str(out), subject])
    assert told.exit_code == 0, told.output
    accounts = _account_evidence(told.output)
    assert f"name={new}" in accounts and f"name={old}," not in accounts and f"name={old}\n" not in accounts

    # outputs of an older run (no levels.json) fall back to the rules named on the command line
    (out / EVIDENCE_DIR / LEVELS).unlink()
    assert stored_level_names(out) is None
    fallback = CliRunner().invoke(main, ["explain", str(out), subject])
    assert fallback.exit_code == 0, fallback.output
    assert f"name={new}" not in fallback.output and f"name={old}" in _account_evidence(fallback.output)
    with_rules = CliRunner().invoke(main, ["explain", str(out), subject, "--rules", str(rules)])
    assert f"name={new}" in _account_evidence(with_rules.output)
