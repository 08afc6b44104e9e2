"""The pipeline reads what it reports of the normalised records, the input tables and the linkage units
right after resolve and then lets them go (issue 14: memory of the 1 M-record run): run.json says what
it said when they were held to the end, and --keep-intermediate still writes the normalised records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

import abm.pipeline as pipeline
from abm.resolve import Resolution
from abm.settings import Settings


def _without_timings(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in ("timings_s", "threshold")}


@pytest.mark.parametrize("keep", [False, True])
def test_run_json_says_what_the_held_frames_said(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 keep: bool) -> None:
    seen: dict[str, Any] = {}
    real_resolve, real_normalize = pipeline.resolve, pipeline.RowStore.normalize

    def resolve(*args: Any, **kwargs: Any) -> Resolution:
        seen["resolution"] = out = real_resolve(*args, **kwargs)
        return out

    def normalize(self: Any, tables: Any, rules: Any) -> pl.DataFrame:
        seen["input_rows"] = sum(df.height for df in tables.values())
        seen["records"] = out = real_normalize(self, tables, rules)
        return out

    monkeypatch.setattr(pipeline, "resolve", resolve)
    monkeypatch.setattr(pipeline.RowStore, "normalize", normalize)
    out = tmp_path / "out"
    pipeline.run(Settings(input_dir=demo_dir, out_dir=out, value_cache=False, keep_intermediate=keep))

    run = pl.read_json(out / "run.json").to_dicts()[0]
    resolution, records = seen["resolution"], seen["records"]
    for level in ("accounts", "persons"):
        stated = _without_timings(run["linkage"][level])
        held = _without_timings(getattr(resolution, level).summary())
        assert stated["units"] == held["units"] > 0
        assert stated["clusters"] == held["clusters"] > 0
        assert stated["candidate_pairs"] == held["candidate_pairs"]
    counts = run["counts"]
    assert counts["input_rows"] == seen["input_rows"] + counts["quarantine"]
    assert counts["corporate_numbers_invalid"] == int(records["corporate_number_invalid"].fill_null(False).sum())
    assert counts["rows_without_touch_owner"] == int((~records["makes_touch"].fill_null(True)).sum())
    stages = out / "stages" / "records_normalized.parquet"
    assert stages.exists() is keep
    if keep:
        written = pl.read_parquet(stages)   # the records as linked: + the registry anchor column
        assert written.select(records.columns).equals(records)
