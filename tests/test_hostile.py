"""Hostile input end to end: any text in any column must not crash a run or lose a row."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.contract import KINDS
from abm.errors import InputError
from abm.pipeline import run
from abm.settings import Settings

TEXT = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(["", " ", "=1+1", "<img src=x onerror=alert(1)>", "株式会社", "㈱", "ｶﾌﾞｼｷｶﾞｲｼｬ", "0", "-",
                     "2025-02-30", "9999-99-99", "¥1,200,000", "済", "TRUE", "\u3000", "null", "NaN",
                     "x" * 3000, "情シス", "代表取締役社長", "gmail.com", "a@b", "@", "090-1234-5678"]),
)


def _write(path: Path, columns: tuple[str, ...], rows: list[list[str | None]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_any_text_in_any_column_runs_and_keeps_every_row(tmp_path_factory, data):
    src = tmp_path_factory.mktemp("hostile")
    total = 0
    for kind, columns in KINDS.items():
        n = data.draw(st.integers(0, 4), label=f"{kind} rows")
        rows = []
        for i in range(n):
            row = [data.draw(TEXT, label=f"{kind}.{c}") for c in columns[1:]]
            rows.append([f"{kind[:2]}{i}", *row])
        # references that sometimes point at real rows
        _write(src / f"{kind}.csv", columns, rows)
        total += n
    if total == 0:  # a night with no data is a failed export, not an empty world
        with pytest.raises(InputError, match="every data file is empty or header-only"):
            run(Settings(input_dir=src, out_dir=src / "out"))
        return
    run(Settings(input_dir=src, out_dir=src / "out"))
    records = pl.read_parquet(src / "out" / "records.parquet")
    quarantine = pl.read_parquet(src / "out" / "quarantine.parquet")
    assert records.height + quarantine.height == total
    named = records.filter(pl.col("kind") != "ma_activities")
    assert named["account_id"].null_count() == 0
