"""The buying-committee graph: accounts, their departments and people, and OUR departments that know them.

Nodes (string ids): ``account:<account_id>``, ``dept:<account_id>/<path>``, ``person:<person_id>``,
``internal:<our department>``. Edges (committee_edges.parquet):

- member_of   person -> their current department (-> the account when they have none)
- part_of     department -> parent department (path prefix) or the account for a top-level one
- reports_to  person -> the highest-ranked person above them in their department line (same
              department or an ancestor); ties -> the most specific department, then person_id
- knows       internal department -> person; weight = touches, first_on / last_on = their dates

The tables are built set-wise in polars; ``account_graph`` gives one account as a networkx graph and
``abm.graph_files`` writes the per-account files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from abm.detect.touches import with_dates
from abm.graph_files import graph_parts
from abm.graph_files import write_graphs as write_graphs  # the files, re-exported for the pipeline
from abm.normalize.departments import DepartmentRules, default_departments
from abm.tables import sort_rows

if TYPE_CHECKING:
    import networkx as nx

EDGE_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(), "src": pl.String(), "dst": pl.String(), "relation": pl.String(),
    "weight": pl.Int64(), "first_on": pl.Date(), "last_on": pl.Date(),
}
_SEP = "/"


def _suffixes(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Each path with every proper suffix of it ("a/b/c" -> "b/c", "c") as column ``suffix``."""
    return (frame.with_columns(pl.col(column).str.split(_SEP).alias("_segs"))
            .with_columns(pl.int_ranges(1, pl.col("_segs").list.len()).alias("_i"))
            .explode("_i")
            .filter(pl.col("_i").is_not_null())
            .with_columns(pl.col("_segs").list.slice(pl.col("_i")).list.join(_SEP).alias("suffix"))
            .drop("_segs", "_i"))


def _prefixes(frame: pl.DataFrame, column: str, include_self: bool) -> pl.DataFrame:
    """Each path with its ancestor paths ("a/b/c" -> "a", "a/b" [, "a/b/c"]) as ``ancestor`` + ``depth``."""
    return (frame.with_columns(pl.col(column).str.split(_SEP).alias("_segs"))
            .with_columns(pl.int_ranges(1, pl.col("_segs").list.len() + int(include_self)).alias("depth"))
            .explode("depth")
            .filter(pl.col("depth").is_not_null())
            .with_columns(pl.col("_segs").list.head(pl.col("depth")).list.join(_SEP).alias("ancestor"))
            .drop("_segs"))


def merge_unit_variants(records: pl.DataFrame, rules: DepartmentRules | None = None) -> pl.DataFrame:
    """Within each account, one stem written with two units of a ``unit_variants`` group (経営企画室 and
    経営企画部) is one department, unless one sits under the other (経営企画部/経営企画室) or they sit
    under two different parents (営業本部/企画室 and 管理本部/企画部).

    The unit kept is the one written out in Japanese on most of the account's records (an English
    "Dept." / "Office" or a bare 経営企画 only guesses the unit), then the default unit (部), then the
    one on most records.
    """
    dr = rules or default_departments()
    raw = "department_raw" if "department_raw" in records.columns else "department"
    rows = (records.select(*dict.fromkeys(["account_id", "department", raw]))   # narrow before filtering a wide table
            .filter(pl.col("account_id").is_not_null() & pl.col("department").is_not_null()))
    if not dr.unit_variants or rows.is_empty():
        return records
    # the string work below once per distinct (account, department, raw spelling), with its number of
    # records (_count) for the votes: about half the rows at 20 k
    rows = rows.group_by(rows.columns).agg(pl.len().alias("_count"))
    segs = pl.col("department").str.split(_SEP)
    leaf, prefix = segs.list.last(), segs.list.head(segs.list.len() - 1).list.join(_SEP)
    canon_units = sorted(dr.unit_levels, key=lambda u: (-len(u), u))
    # on the _leaf column, not on ``leaf``: the expression would split every path once per unit (≈ 20)
    unit = pl.coalesce(pl.when(pl.col("_leaf").str.ends_with(u)).then(pl.lit(u)) for u in canon_units)
    # the string work once per distinct spelling (department, raw spelling): ≈ 100 at 20 k, where the
    # (account, spelling) rows are ≈ 130 k; each row gets its spelling's columns by a join
    spelled = (rows.select("department", pl.col(raw).alias("_raw")).unique()
               .select("department", "_raw", leaf.alias("_leaf"), prefix.alias("_prefix"))
               .with_columns(unit.alias("_unit"))
               .with_columns(pl.col("_leaf").str.head(-pl.col("_unit").str.len_chars().cast(pl.Int64)).alias("_stem")))
    rows = rows.select("account_id", "department", pl.col(raw).alias("_raw"), "_count")
    moves = []
    for group in dr.unit_variants:
        others = [pl.col("_raw").str.contains(u, literal=True) for u in sorted(group)]
        japanese = pl.col("_raw").str.contains(r"[\u3040-\u30ff\u3400-\u9fff]")
        nested = pl.any_horizontal((pl.lit(_SEP) + pl.col("_prefix") + _SEP)
                                   .str.contains(pl.lit(_SEP) + pl.col("_stem") + u + _SEP, literal=True)
                                   for u in sorted(group))
        variants = (spelled.filter(pl.col("_unit").is_in(sorted(group)) & (pl.col("_stem").str.len_chars() > 0))
                    .with_columns(nested.alias("_nested"),
                                  (japanese & (pl.col("_raw").str.contains(pl.col("_stem") + pl.col("_unit"), literal=True)
                                               | (pl.col("_raw").str.contains(pl.col("_unit"), literal=True)
                                                  & (pl.sum_horizontal(others) == 1)))).alias("_written")))
        cand = rows.join(variants, on=["department", "_raw"], nulls_equal=True).select(
            "account_id", "department", "_raw", "_leaf", "_prefix", "_unit", "_count", "_stem", "_nested", "_written")
        # two units under two different parents (営業本部/企画室, 管理本部/企画部) are two departments
        stems = cand.group_by("account_id", "_stem").agg(
            pl.col("_unit").n_unique().alias("_n_units"), pl.col("_nested").any().alias("_any_nested"),
            pl.col("_prefix").filter(pl.col("_prefix") != "").n_unique().alias("_n_parents"))
        merged = cand.join(stems.filter((pl.col("_n_units") > 1) & ~pl.col("_any_nested") & (pl.col("_n_parents") <= 1)),
                           on=["account_id", "_stem"]).drop("_n_units", "_any_nested", "_n_parents")
        winner = (merged.group_by("account_id", "_stem", "_unit")
                  .agg(pl.col("_count").filter(pl.col("_written")).sum().alias("_w"), pl.col("_count").sum().alias("_n"))
                  .sort(["account_id", "_stem", "_w", pl.col("_unit") == dr.default_unit, "_n", "_unit"],
                        descending=[False, False, True, True, True, False])
                  .group_by("account_id", "_stem", maintain_order=True).first()
                  .select("account_id", "_stem", pl.col("_unit").alias("_keep")))
        moves.append(merged.join(winner, on=["account_id", "_stem"])
                     .filter(pl.col("_unit") != pl.col("_keep"))
                     .select("account_id", "department",
                             pl.concat_str([pl.when(pl.col("_prefix") != "").then(pl.col("_prefix") + _SEP),
                                            pl.col("_stem"), pl.col("_keep")], ignore_nulls=True).alias("_to"))
                     .unique())
    moved = pl.concat(moves)
    if moved.is_empty():
        return records
    return _renamed(records, moved, "_to")


def _renamed(records: pl.DataFrame, renames: pl.DataFrame, to: str) -> pl.DataFrame:
    """``records`` with ``department`` replaced by ``renames[to]`` where (account_id, department) is
    in ``renames``, as a left join of the whole table would (same rows, same column order): the join
    reads the two key columns only, and the other columns of the wide table are not copied."""
    keys = records.select("account_id", "department").join(renames, on=["account_id", "department"], how="left",
                                                           maintain_order="left")
    if keys.height != records.height:   # a key with two targets multiplies its rows, as the whole join does
        return (records.join(renames, on=["account_id", "department"], how="left", maintain_order="left")
                .with_columns(pl.coalesce(to, "department").alias("department")).drop(to))
    return records.with_columns(keys.select(pl.coalesce(to, "department").alias("department")).to_series())


def resolve_departments(records: pl.DataFrame, rules: DepartmentRules | None = None) -> pl.DataFrame:
    """Within each account, one department per stem written with interchangeable units
    (``merge_unit_variants``), then a leaf department rewritten to the one full path that ends with it.

    "第一営業部" becomes "営業本部/第一営業部" when that path is written elsewhere in the same account
    and no other path (that is not itself a suffix of it) also ends with "第一営業部".
    """
    records = merge_unit_variants(records, rules)
    depts = (records.select("account_id", "department")
             .filter(pl.col("account_id").is_not_null() & pl.col("department").is_not_null()).unique())
    candidates = (_suffixes(depts.rename({"department": "full"}), "full")
                  .join(depts, left_on=["account_id", "suffix"], right_on=["account_id", "department"]))
    if candidates.is_empty():
        return records
    best = (candidates.with_columns(pl.col("full").str.len_chars().alias("_len"))
            .sort(["account_id", "suffix", "_len", "full"], descending=[False, False, True, False])
            .group_by(["account_id", "suffix"], maintain_order=True)
            .agg(pl.col("full").first().alias("longest"), pl.col("full").alias("all")))
    # unambiguous: every candidate path is the longest one or a suffix of it (a chain a/b/c ⊃ b/c ⊃ c)
    ok = (best.explode("all")
          .with_columns(((pl.col("all") == pl.col("longest"))
                         | pl.col("longest").str.ends_with(pl.lit(_SEP) + pl.col("all"))).alias("_nested"))
          .group_by(["account_id", "suffix"]).agg(pl.col("_nested").all(), pl.col("longest").first())
          .filter(pl.col("_nested")))
    return _renamed(records, ok.select("account_id", pl.col("suffix").alias("department"), "longest"), "longest")


def _dept_node(account: pl.Expr, path: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit("dept:"), account, pl.lit(_SEP), path])


def _edges(frame: pl.DataFrame, src: pl.Expr, dst: pl.Expr, relation: str,
           weight: pl.Expr | None = None, first_on: pl.Expr | None = None,
           last_on: pl.Expr | None = None) -> pl.DataFrame:
    return frame.select(
        pl.col("account_id"), src.alias("src"), dst.alias("dst"), pl.lit(relation).alias("relation"),
        (weight if weight is not None else pl.lit(1)).cast(pl.Int64).alias("weight"),
        (first_on if first_on is not None else pl.lit(None)).cast(pl.Date).alias("first_on"),
        (last_on if last_on is not None else pl.lit(None)).cast(pl.Date).alias("last_on"),
    )


def _reports_to(persons: pl.DataFrame) -> pl.DataFrame:
    """person -> the highest-ranked person of higher rank in the same department or an ancestor."""
    ranked = persons.filter(pl.col("department").is_not_null() & (pl.col("rank") > 0)
                            & pl.col("account_id").is_not_null())
    top = (ranked.sort(["rank", "person_id"], descending=[True, False])
           .group_by(["account_id", "department"], maintain_order=True)
           .agg(pl.col("person_id").first().alias("boss"), pl.col("rank").first().alias("boss_rank")))
    line = (_prefixes(ranked.select("account_id", "person_id", "department", "rank"), "department", True)
            .join(top, left_on=["account_id", "ancestor"], right_on=["account_id", "department"])
            .sort(["person_id", "boss_rank", "depth", "boss"], descending=[False, True, True, False])
            .group_by("person_id", maintain_order=True).first()
            .filter(pl.col("boss_rank") > pl.col("rank")))
    return _edges(line, pl.concat_str([pl.lit("person:"), pl.col("person_id")]),
                  pl.concat_str([pl.lit("person:"), pl.col("boss")]), "reports_to")


def committee_edges(records: pl.DataFrame, persons: pl.DataFrame, touches: pl.DataFrame,
                    also: tuple[pl.DataFrame, pl.DataFrame] | None = None) -> pl.DataFrame:
    """committee_edges.parquet: account_id, src, dst, relation, weight, first_on, last_on.
    ``also``: (account_id, department) and ``knows`` counts of touches kept apart (``abm.activities``)."""
    recs = with_dates(records.select("account_id", "department", "person_id", "record_date"))   # of a wide table
    dept_sources = [
        persons.select("account_id", "department"),
        touches.select("account_id", pl.col("counterpart_department").alias("department")),
        recs.select("account_id", "department"),
        *([also[0].select("account_id", "department")] if also is not None else []),
    ]
    depts = (pl.concat(dept_sources).drop_nulls().unique())
    all_depts = pl.concat([depts, _prefixes(depts, "department", False)
                           .select("account_id", pl.col("ancestor").alias("department"))]).unique()
    account_node = pl.concat_str([pl.lit("account:"), pl.col("account_id")])
    parent = pl.col("department").str.replace(r"/[^/]*$", "")
    part_of = _edges(all_depts, _dept_node(pl.col("account_id"), pl.col("department")),
                     pl.when(pl.col("department").str.contains(_SEP, literal=True))
                     .then(_dept_node(pl.col("account_id"), parent)).otherwise(account_node), "part_of")

    stated = (recs.filter(pl.col("person_id").is_not_null() & pl.col("department").is_not_null())
              .group_by(["person_id", "department"])
              .agg(pl.col("record_date").min().alias("first_on"), pl.col("record_date").max().alias("last_on")))
    members = (persons.filter(pl.col("account_id").is_not_null())
               .join(stated, on=["person_id", "department"], how="left"))
    member_of = _edges(members, pl.concat_str([pl.lit("person:"), pl.col("person_id")]),
                       pl.when(pl.col("department").is_not_null())
                       .then(_dept_node(pl.col("account_id"), pl.col("department"))).otherwise(account_node),
                       "member_of", first_on=pl.col("first_on"), last_on=pl.col("last_on"))

    knows = (touches.filter(pl.col("person_id").is_not_null() & pl.col("internal_department").is_not_null()
                            & pl.col("account_id").is_not_null())
             .group_by(["account_id", "internal_department", "person_id"])
             .agg(pl.len().alias("n"), pl.col("touched_on").min().alias("f"), pl.col("touched_on").max().alias("l")))
    if also is not None:
        knows = pl.concat([knows, also[1].select(knows.columns).cast(knows.schema)]).group_by(
            ["account_id", "internal_department", "person_id"]).agg(
            pl.col("n").sum(), pl.col("f").min(), pl.col("l").max())
    knows_edges = _edges(knows, pl.concat_str([pl.lit("internal:"), pl.col("internal_department")]),
                         pl.concat_str([pl.lit("person:"), pl.col("person_id")]), "knows",
                         weight=pl.col("n"), first_on=pl.col("f"), last_on=pl.col("l"))

    edges = pl.concat([member_of, part_of, _reports_to(persons), knows_edges])
    # (account_id, relation, src, dst) is unique: each part is one row per key
    return sort_rows(edges, ["account_id", "relation", "src", "dst"]).cast(EDGE_SCHEMA)  # type: ignore[arg-type]


# --- one account as a networkx graph (the files: abm.graph_files) ----------------------------------

def account_graph(edges: pl.DataFrame, account_id: str) -> nx.DiGraph:
    """One account's committee graph; nodes carry kind + label, edges relation/weight/first_on/last_on."""
    import networkx as nx  # only here: a run writes its graph files without it (abm.graph_files)

    nodes, links = graph_parts(edges.filter(pl.col("account_id") == account_id).rows(named=True), account_id)
    graph = nx.DiGraph(account_id=account_id)
    graph.add_nodes_from(nodes.items())
    graph.add_edges_from((u, v, d) for (u, v), d in links.items())
    return graph
