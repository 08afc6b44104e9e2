"""Checks of a whole night's load, after every file is read: is this a usable night at all?

An export job that failed often leaves files behind: empty, header-only, or a kind missing. Publishing
such a night would replace yesterday's world with an empty one, so each of these stops the run
(``InputError``, exit 2) and the previous outputs stay:

- every data file is empty or header-only;
- a kind that had records in the previous run comes tonight only in empty files (a kind with no
  file at all was removed on purpose: its IDs become ``retired`` in ``id_history``);
- one file's every row is quarantined for a reason other than being a duplicate of another row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from abm.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from abm.load import Loaded


def check_night(loaded: Loaded, input_dir: Path, previous_out: Path) -> None:
    """Raise InputError when the night's load must not be published (see the module doc)."""
    data_files = [f for f in loaded.files if f.was_read]
    if not data_files:
        raise InputError(str(input_dir), "it holds no data file (.csv, .tsv, .txt, .parquet, .xlsx)",
                         fix="point abm run at the directory that holds the night's exports")
    if sum(f.rows_read for f in data_files) == 0:
        names = ", ".join(f.path for f in data_files[:5])
        raise InputError(str(input_dir), f"every data file is empty or header-only ({names}): "
                         "this looks like a failed export, and the previous outputs are kept",
                         fix="check the night's export job, then run again")
    _whole_file_quarantined(loaded)
    _vanished_kinds(loaded, previous_out)


def _whole_file_quarantined(loaded: Loaded) -> None:
    q = loaded.quarantine
    for f in loaded.files:
        read = f.rows_read
        if not read or f.rows_quarantined != read:
            continue
        codes = q.filter(pl.col("source_file") == f.path).get_column("reason_code").value_counts(sort=True)
        if codes.get_column("reason_code").str.starts_with("duplicate_").all():
            continue  # the same rows exported twice: each is kept once, nothing is lost
        top = ", ".join(f"{c} ×{n}" for c, n in codes.head(3).iter_rows())
        raise InputError(f.path, f"every one of its {read} rows would be quarantined ({top}); "
                         "the file cannot be used as it is", fix="check the file's layout and content "
                         "(quarantine reasons above), or describe it in sources.yaml")


def _vanished_kinds(loaded: Loaded, previous_out: Path) -> None:
    prev = previous_out / "records.parquet"
    if not prev.is_file():
        return
    try:
        before = dict(pl.scan_parquet(prev).group_by("kind").len().collect().iter_rows())
    except Exception:  # noqa: BLE001 - an unreadable previous run cannot be compared: no check
        return
    quarantined = set(loaded.quarantine.get_column("kind").drop_nulls().to_list())
    # only a kind whose file(s) came and are empty: a kind with no file at all was removed on purpose
    # (its IDs are then `retired` in id_history)
    with_files = {f.kind for f in loaded.files if f.was_read}
    gone = [k for k, n in sorted(before.items())
            if n and k in with_files and loaded.tables[k].height == 0 and k not in quarantined
            and not any(b.stats.rows_read for b in loaded.bulk if b.stats.kind == k)]  # bulk: abm.activities
    if gone:
        detail = ", ".join(f"{k} ({before[k]} records last run)" for k in gone)
        raise InputError(str(previous_out), f"tonight's input has no {detail}: a kind present in the previous "
                         "run is empty tonight, which looks like a failed export; the previous outputs are kept",
                         fix="check the night's export job; if the kind is no longer exported on purpose, "
                         "run once with a new --out")
