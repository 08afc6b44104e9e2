"""Frozen run settings: everything a run depends on besides its input files and rules."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    input_dir: Path
    out_dir: Path = Path("abm-out")
    rules_dir: Path | None = None          # None: the project's own rules/
    as_of: date | None = None              # None: the latest touch date in the data
    keep_intermediate: bool = False        # also write every stage's table to OUT_DIR/stages/
    graph_files: int = 500                 # per-account graph files for the most urgent accounts
    value_cache: bool = True               # keep expensive per-value results in .<OUT_DIR>.cache/ across runs
    full: bool = False                     # read no cache (values, rows, comparisons), write them all: a first run's work
    overrides: Path | None = None          # None: INPUT_DIR/overrides.yaml when it exists
    registry: Path | None = None           # 法人番号 registry: a cache, or a CSV / zip / folder to import
    registry_cache: Path | None = None     # where to import it (None: the default cache location)
    report_lang: str = "ja"                # labels of report.html (abm/report/messages.yaml)


def cache_home() -> Path:
    """abm's cache root on this machine (the 法人番号 registry, dictionaries in a faster form):
    ``$ABM_CACHE_DIR``, else ``$XDG_CACHE_HOME/abm``, else ``~/.cache/abm``."""
    if os.environ.get("ABM_CACHE_DIR"):
        return Path(os.environ["ABM_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "abm"
