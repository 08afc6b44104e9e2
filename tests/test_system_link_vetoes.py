"""abm.linkage.system_links.vetoes evaluates each veto as a plain WHERE kept above the joins: the
pairs it rejects, and the first veto's name on each, are those ``coalesce((sql), false)`` rejected
on every pair — including vetoes that come out NULL (a missing value on either side)."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.db import query
from abm.linkage.block import RID
from abm.linkage.spec import parse_spec
from abm.linkage.system_links import L, R, vetoes


def _spec(vetoes_sql: list[str]):
    return parse_spec({
        "name": "toy", "id_column": "id",
        "blocking": [{"name": "city", "keys": ["city"]}],
        "comparisons": [{"name": "city", "column": "city", "levels": [{"kind": "exact"}]}],
        "threshold": 0.9, "prior": 0.1, "u_sample_pairs": 100,
        "system_links": {"weight": 8, "links": [{"name": "stated", "kind": "ref", "column": "ref"}],
                         "vetoes": [{"name": f"v{i}", "sql": sql} for i, sql in enumerate(vetoes_sql)]},
    }, "toy.yaml")


def _reference(prepared: pl.DataFrame, pairs: pl.DataFrame, spec) -> pl.DataFrame:
    """The veto query before: every veto wrapped in coalesce(…, false), the first listed wins."""
    con = duckdb.connect()
    con.register("u", prepared.to_arrow())
    con.register("p", pairs.to_arrow())
    parts = [query(con, f"SELECT p.{L}, p.{R}, '{v.name}' AS system_veto FROM p JOIN u l ON l.{RID} = p.{L} "
                        f"JOIN u r ON r.{RID} = p.{R} WHERE coalesce(({v.sql}), false)")
             for v in spec.system_links.vetoes]
    return pl.concat(parts).unique([L, R], keep="first", maintain_order=True)


def _units(zones: list[str | None], names: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({RID: list(range(len(zones))), "id": [f"u{i}" for i in range(len(zones))],
                         "zone": zones, "name": names, "city": ["c"] * len(zones), "ref": [None] * len(zones)},
                        schema_overrides={RID: pl.UInt32, "zone": pl.Utf8, "name": pl.Utf8, "ref": pl.Utf8})


def _all_pairs(n: int) -> pl.DataFrame:
    return pl.DataFrame({L: [a for a in range(n) for b in range(a + 1, n)],
                         R: [b for a in range(n) for b in range(a + 1, n)]}, schema={L: pl.UInt32, R: pl.UInt32})


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.cast({L: pl.UInt32, R: pl.UInt32, "system_veto": pl.Utf8}).sort(L, R)


VETOES = [
    ("differ", ["l.zone <> r.zone"]),
    ("and with nulls", ["l.zone <> r.zone AND l.name <> r.name"]),
    ("or with nulls", ["l.zone <> r.zone OR l.name = r.name"]),
    ("negated null", ["NOT (l.zone = r.zone)"]),
    ("coalesced inside", ["l.zone <> r.zone AND coalesce(l.name <> r.name, true)"]),
    ("two vetoes, first wins", ["l.name <> r.name", "l.zone <> r.zone"]),
]
ZONES = ["x", "x", "y", None, "y", None]
NAMES = ["a", None, "a", "b", "b", None]


@pytest.mark.parametrize("sql", [v[1] for v in VETOES], ids=[v[0] for v in VETOES])
def test_plain_where_equals_coalesce(sql) -> None:
    spec = _spec(sql)
    units, pairs = _units(ZONES, NAMES), _all_pairs(len(ZONES))
    got = vetoes(duckdb.connect(), units, pairs, spec)
    assert _sorted(got).equals(_sorted(_reference(units, pairs, spec)))
    assert got.height   # each case rejects something


values = st.sampled_from(["x", "y", None])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(values, values), min_size=2, max_size=8), st.sampled_from([v[1] for v in VETOES]))
def test_plain_where_equals_coalesce_property(rows, sql) -> None:
    spec = _spec(sql)
    units = _units([z for z, _ in rows], [n for _, n in rows])
    pairs = _all_pairs(len(rows))
    assert _sorted(vetoes(duckdb.connect(), units, pairs, spec)).equals(_sorted(_reference(units, pairs, spec)))
