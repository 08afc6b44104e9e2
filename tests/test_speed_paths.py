"""The faster paths of issue #14 (cold run before resolve) give the results of the paths they replace."""

from __future__ import annotations

import gc
import random

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from abm.load.read import RawTable, split_repeated_headers
from abm.normalize import name_readings
from abm.normalize.dictionaries import quiet_gc
from abm.normalize.unique import map_values, one_blas_thread


def _reference_starts(table: RawTable) -> list[int]:
    """The header-line rows as found before: one filter over every column at once."""
    from abm.load.read import _header_key

    width = len(table.header)
    key = _header_key(table.header)
    cols = [f"c{i}" for i in range(width)]
    norm = [pl.col(c).str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[\s_\-.・]+", "") for c in cols]
    wanted = set(key.split("\x1f"))
    cand = table.frame.filter(
        pl.all_horizontal([(n.is_in(list(wanted)) | (pl.col(c).str.strip_chars() == "")) for n, c in
                           zip(norm, cols, strict=True)])
        & (pl.sum_horizontal([(pl.col(c).str.strip_chars() != "").cast(pl.Int32) for c in cols]) >= min(width, 2))
    )
    return [r[-1] for r in cand.select(*cols, "row_number").iter_rows() if _header_key(list(r[:-1])) == key]


HEADER = ["card_id", "company_name", "Family Name", "given_name"]
CELLS = st.sampled_from(["", " ", "card_id", "CARD_ID", "company_name", "Company Name", "family_name",
                         "ｆａｍｉｌｙ＿ｎａｍｅ", "given_name", "given name", "株式会社A", "C1", "山田", "x"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=4, max_size=4), min_size=1, max_size=12))
@example([["C1", "株式会社A", "山田", "x"], ["given_name", "company_name", "Family Name", "CARD_ID"], ["C2", "", "", ""],
          ["card_id", "Company Name", "ｆａｍｉｌｙ＿ｎａｍｅ", "given name"], ["card_id", "", "", ""]])
def test_repeated_headers_are_found_column_by_column_as_in_one_filter(rows):
    def table() -> RawTable:
        frame = pl.DataFrame([pl.Series(f"c{i}", [r[i] for r in rows], dtype=pl.Utf8) for i in range(4)]).with_columns(
            pl.int_range(1, len(rows) + 1, dtype=pl.Int64).alias("row_number"))
        return RawTable(list(HEADER), frame)

    expected = _reference_starts(table())
    out = split_repeated_headers(table())
    starts = [int(s.label.split()[-1]) for s in out.segments[1:]]
    assert starts == expected
    if rows[1:2] == [["given_name", "company_name", "Family Name", "CARD_ID"]]:
        assert expected == [2, 4]  # the example: two header lines, the row of ids alone is a record
    if not expected:
        assert out.segments == []


def test_name_readings_lookup_by_polars_equals_the_whole_table():
    full = name_readings._table()
    rng = random.Random(14)
    for part in ("f", "g"):
        texts = [*rng.sample(sorted(full[part]), 500), "無い名前", "山田", "健"]
        expected = {t: list(full[part][t]) for t in texts if t in full[part]}
        assert name_readings._lookup(texts, part) == expected
        assert name_readings._lookup([], part) == {}


def test_quiet_gc_pauses_the_collector_and_restores_it():
    assert gc.isenabled()
    with quiet_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with quiet_gc():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_one_blas_thread_and_the_loan_word_model_give_the_same_readings():
    from abm.normalize.reading import _english_model

    model = _english_model()
    if model is None:  # pragma: no cover - e2k is a dependency
        return
    words = ["alpha", "software", "harmony", "network", "union", "bright"]
    before = [model(w) for w in words]
    with one_blas_thread():
        assert [model(w) for w in words] == before
        assert map_values(model, [(w,) for w in words], min_rows=2) == before  # over workers too
