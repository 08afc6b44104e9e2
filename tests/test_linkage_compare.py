"""Comparison levels: every kind, the first holding level wins, nulls are no evidence."""

from __future__ import annotations

import polars as pl

from abm.linkage.block import RID
from abm.linkage.compare import NULL_LEVEL, any_level, compare_pairs
from abm.linkage.spec import parse_spec


def _vectors(levels: list[dict], a: list, b: list, extra: dict | None = None) -> list[int]:
    spec = parse_spec({
        "name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
        "comparisons": [{"name": "v", "column": "v", "levels": levels}],
    }, "t.yaml")
    n = len(a)
    prepared = pl.DataFrame({"v": a + b, **({k: v + v for k, v in (extra or {}).items()})}).with_row_index(RID)
    pairs = pl.DataFrame({f"{RID}_l": list(range(n)), f"{RID}_r": list(range(n, 2 * n))},
                         schema={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32})
    return compare_pairs(prepared, pairs, spec)["gamma_v"].to_list()


def test_exact_then_fuzzy_then_else_and_null():
    levels = [{"kind": "exact"}, {"kind": "jaro_winkler", "threshold": 0.9}]
    got = _vectors(levels, ["abcdefgh", "abcdefgh", "abcdefgh", None], ["abcdefgh", "abcdefgx", "zzzz", "x"])
    assert got == [0, 1, 2, NULL_LEVEL]


def test_ratio_token_set_prefix_and_abs_diff():
    assert _vectors([{"kind": "ratio", "threshold": 0.8}], ["abcde"], ["abcdf"]) == [0]
    assert _vectors([{"kind": "token_set", "threshold": 0.99}], ["1 main street"], ["main street 1"]) == [0]
    assert _vectors([{"kind": "token_set", "threshold": 0.99}], ["1 main street"], ["2 side road"]) == [1]
    assert _vectors([{"kind": "prefix"}], ["yamada", "yamada"], ["yamadadenki", "tanaka"]) == [0, 1]
    assert _vectors([{"kind": "abs_diff", "threshold": 2}], ["10", "10"], ["12", "13"]) == [0, 1]


def test_unless_both_skips_the_level_when_both_sides_are_flagged():
    levels = [{"kind": "exact", "unless_both": "flag"}]
    got = _vectors(levels, ["asahi", "asahi"], ["asahi", "asahi"], extra={"flag": [True, False]})
    # the extra column repeats per side: row 0 flagged on both sides, row 1 on neither
    assert got == [1, 0]


def test_any_level_names_levels_by_name():
    spec = parse_spec({
        "name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
        "comparisons": [{"name": "v", "column": "v", "levels": [{"name": "same", "kind": "exact"}]}],
    }, "t.yaml")
    frame = pl.DataFrame({"gamma_v": [0, 1, -1]}, schema={"gamma_v": pl.Int8})
    assert frame.select(any_level(spec, (("v", "same"),)))["gamma_v"].to_list() == [True, False, False]


def test_neutral_differing_and_only_differing_compare_across_scripts():
    spec = parse_spec({
        "name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
        "comparisons": [{"name": "v", "column": "v", "neutral_differing": "latin", "levels": [
            {"name": "exact", "kind": "exact"},
            {"name": "reading", "kind": "exact", "column": "gist", "only_differing": "latin"}]}],
    }, "t.yaml")
    # Latin vs Japanese with agreeing readings, Latin vs Japanese that disagree, Japanese vs Japanese
    # that disagree, and two Japanese names sharing the (lossy) reading key
    prepared = pl.DataFrame({
        "v": ["alphasoftware", "sunrise", "山田電機", "山田工業", "アルファソフトウェア", "朝日", "山田電気", "山田鉄鋼"],
        "gist": ["arufa<sofuto>", "sunrise", "yamada<denki>", "yamada<kogyo>",
                 "arufa<sofuto>", "asahi", "yamada<denki>", "yamada<kogyo>"],
        "latin": [True, True, False, False, False, False, False, False],
    }).with_row_index(RID)
    pairs = pl.DataFrame({f"{RID}_l": [0, 1, 2, 3], f"{RID}_r": [4, 5, 6, 7]},
                         schema={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32})
    got = compare_pairs(prepared, pairs, spec)["gamma_v"].to_list()
    assert got == [1, NULL_LEVEL, 2, 2]


def test_neutral_if_either_makes_a_direct_line_no_evidence():
    spec = parse_spec({
        "name": "t", "id_column": "id", "blocking": [{"keys": ["v"]}],
        "comparisons": [{"name": "v", "column": "v", "neutral_if_either": "own",
                         "levels": [{"name": "exact", "kind": "exact"}]}],
    }, "t.yaml")
    # switchboard vs switchboard (differ: evidence against), direct line vs switchboard (no evidence
    # either way), two direct lines (none), and a direct line that agrees (still agreement)
    prepared = pl.DataFrame({
        "v": ["0311110000", "0311110000", "0311112222", "0311113333", "0622220000", "0311119999", "0311114444",
              "0311113333"],
        "own": [False, True, True, True, False, False, True, True],
    }).with_row_index(RID)
    pairs = pl.DataFrame({f"{RID}_l": [0, 1, 2, 3], f"{RID}_r": [4, 5, 6, 7]},
                         schema={f"{RID}_l": pl.UInt32, f"{RID}_r": pl.UInt32})
    assert compare_pairs(prepared, pairs, spec)["gamma_v"].to_list() == [1, NULL_LEVEL, NULL_LEVEL, 0]
