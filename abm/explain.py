"""The evidence behind one merge or one flag.

Every run keeps, in ``OUT_DIR/evidence/``, the pairs that decided something: each link that merged
two records and each merge a guard refused, with the blocking rule that found the pair, the level
of every comparison, the match weight and probability. ``explain`` joins them with the outputs for
one record key, account ID or person ID — or a flag ID, or a company or person name (matched
forgivingly: width, case, spaces, punctuation and legal form do not matter; several matches list
the candidates with their IDs).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import polars as pl

from abm.errors import AbmError
from abm.linkage.engine import LinkResult

EVIDENCE_DIR = "evidence"
REGISTRY_ANCHORS = "registry_anchors.parquet"
#: the level names of each comparison as the run used them: {"account"|"person": {comparison: [level, …]}}
LEVELS = "levels.json"

LevelNames = dict[str, dict[str, list[str]]]


def evidence_table(result: LinkResult) -> pl.DataFrame:
    """The decisive pairs of one linkage: links, refused merges and cannot-link pairs."""
    pairs = result.pairs
    refused = result.refused.select("__rid_l", "__rid_r", "refused_by")
    decided = pairs.join(refused, on=["__rid_l", "__rid_r"], how="left").filter(
        pl.col("linked") | pl.col("refused_by").is_not_null() | pl.col("cannot_link").is_not_null())
    gammas = [c for c in decided.columns if c.startswith("gamma_")]
    # a link a source system records (a converted lead's account) names itself as the rule
    rule = pl.when(pl.col("system_link").is_not_null()).then(pl.format("system_link:{}", "system_link")) \
        .otherwise(pl.col("rule")).alias("rule") if "system_link" in decided.columns else pl.col("rule")
    return decided.select(
        "id_l", "id_r", rule, *gammas, "match_weight", "match_probability", "linked",
        pl.coalesce("refused_by", "cannot_link").alias("refused_by"),
        *(["attached"] if "attached" in decided.columns else []),
    ).sort("id_l", "id_r")


def write_evidence(out_dir: Path, accounts: LinkResult, persons: LinkResult,
                   registry_anchors: pl.DataFrame | None = None, moves: pl.DataFrame | None = None) -> None:
    target = out_dir / EVIDENCE_DIR
    target.mkdir(exist_ok=True)
    table = evidence_table(accounts)
    if moves is not None and moves.height:  # web forms placed after linkage (abm.resolve): the person matched
        table = pl.concat([table, moves.select(
            pl.col("record_key").alias("id_l"), pl.col("evidence_key").alias("id_r"),
            ("web_form_same_person:" + pl.col("matched_on")).alias("rule"),
            pl.lit(float("nan")).alias("match_weight"), pl.lit(float("nan")).alias("match_probability"),
            pl.lit(True).alias("linked"))], how="diagonal_relaxed")
    _write_parquet(table, target / "account_links.parquet")
    _write_parquet(evidence_table(persons), target / "person_links.parquet")
    levels = {entity: {name: list(names) for name, names in
                       zip(result.model.names, result.model.level_names, strict=True)}
              for entity, result in (("account", accounts), ("person", persons))}
    (target / LEVELS).write_text(json.dumps(levels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if registry_anchors is not None:
        _write_parquet(registry_anchors, target / REGISTRY_ANCHORS)


def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    """An evidence file at the output tables' zstd level (abm.export.PARQUET_ZSTD_LEVEL): at 20 k the
    account links (≈ 540 k rows) take ≈ 20 % less CPU to write than at polars' default level, for a
    file ≈ 5 % larger; the rows read back the same."""
    # imported here: abm.export imports DuckDB, which `abm explain` does not need
    from abm.export import PARQUET_ZSTD_LEVEL

    df.write_parquet(path, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL)


def stored_level_names(out_dir: Path) -> LevelNames | None:
    """The level names the run in ``out_dir`` stored (None: a run older than ``evidence/levels.json``)."""
    path = out_dir / EVIDENCE_DIR / LEVELS
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AbmError(f"{path} cannot be read ({exc}): run `abm run` again.") from exc
    return {str(entity): {str(c): [str(n) for n in names] for c, names in comps.items()}
            for entity, comps in data.items()}


def _levels(row: dict[str, Any], names: dict[str, list[str]]) -> str:
    parts = []
    for key, value in row.items():
        if key.startswith("gamma_") and value is not None and value >= 0:
            comp = key.removeprefix("gamma_")
            levels = names.get(comp)
            parts.append(f"{comp}={levels[value] if levels and value < len(levels) else value}")
    return ", ".join(parts)


#: how many evidence pairs and flags ``explain`` prints before "… and N more"
MAX_PAIRS, MAX_FLAGS, MAX_CANDIDATES = 30, 20, 20
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def name_key(text: str | None) -> str:
    """A forgiving comparison key for names typed by a person: NFKC, case-folded, no spaces or
    punctuation, no legal form (株式会社, (株), Co., Ltd. …)."""
    s = unicodedata.normalize("NFKC", text or "").casefold()
    s = _LEGAL.sub("", s)
    return _NOISE.sub("", s)


_LEGAL = re.compile(r"株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|一般財団法人|\(株\)|\(有\)|"
                    r"\b(?:co\.?,?\s*ltd|inc|corp(?:oration)?|k\.?k|ltd|llc)\b\.?")
_NOISE = re.compile(r"[\s\W_]+")


def _key_expr(col: str) -> pl.Expr:
    """``name_key`` for stored names (already NFKC-cleaned), vectorised."""
    return (pl.col(col).str.to_lowercase().str.replace_all(_LEGAL.pattern, "")
            .str.replace_all(r"[\s\p{P}\p{S}_]+", ""))


def find_by_name(out_dir: Path, query: str) -> pl.DataFrame:
    """Accounts and persons whose name (any spelling of the account) matches ``query``: exact key
    matches when there are any, else names containing it. Columns: kind, id, name, account_id, detail."""
    key = name_key(query)
    if len(key) < 1:
        return pl.DataFrame(schema={"kind": pl.String, "id": pl.String, "name": pl.String,
                                    "account_id": pl.String, "detail": pl.String})
    frames = []
    acc_path, per_path = out_dir / "accounts.parquet", out_dir / "persons.parquet"
    if acc_path.exists():
        acc = pl.read_parquet(acc_path)
        # every spelling: the display name, the registry's official name (when known), all others
        lists = [pl.concat_list(c) for c in ("name", "official_name") if c in acc.columns]
        lists += [pl.col("names")] if "names" in acc.columns else []
        spellings = (acc.select("account_id", "name", pl.concat_list(lists).alias("_spelling"))
                     .explode("_spelling").with_columns(_key_expr("_spelling").alias("_key")))
        detail = pl.concat_str([pl.col("prefecture").fill_null("-"), pl.lit(" 法人番号 "),
                                pl.col("corporate_number").fill_null("-")])
        frames.append(spellings.join(acc.select("account_id", detail.alias("detail")), on="account_id")
                      .select(pl.lit("account").alias("kind"), pl.col("account_id").alias("id"), "name",
                              "account_id", "detail", "_key"))
    if per_path.exists():
        per = pl.read_parquet(per_path)
        frames.append(per.select(pl.lit("person").alias("kind"), pl.col("person_id").alias("id"), "name",
                                 "account_id",
                                 pl.concat_str([pl.col("department").fill_null("-"), pl.col("title").fill_null("-")],
                                               separator=" / ").alias("detail"),
                                 _key_expr("name").alias("_key")))
    if not frames:
        raise AbmError(f"{out_dir} holds no accounts.parquet or persons.parquet: run `abm run` first.")
    names = pl.concat(frames).filter(pl.col("_key").is_not_null())
    exact = names.filter(pl.col("_key") == key)
    hits = exact if exact.height else names.filter(pl.col("_key").str.contains(key, literal=True))
    return hits.drop("_key").unique(["kind", "id"]).sort("kind", "name", "id")


def explain(out_dir: Path, subject: str, level_names: LevelNames | None = None) -> str:
    """A readable account of why ``subject`` is where it is: a record key, account ID, person ID,
    flag ID, or a company or person name (several matches: the candidates, each with its ID).

    Comparison levels are named as the run stored them (``evidence/levels.json``); ``level_names``
    is used only for the outputs of older runs that did not store them."""
    level_names = stored_level_names(out_dir) or level_names
    records_path = out_dir / "records.parquet"
    if not records_path.exists():
        raise AbmError(f"{records_path} not found: run `abm run` first.")
    records = pl.read_parquet(records_path)
    known = (subject in set(records["record_key"]) or subject in set(records["account_id"].drop_nulls())
             or subject in set(records["person_id"].drop_nulls()))
    if not known:
        flag = _explain_flag(out_dir, subject)
        if flag is not None:
            return flag
        hits = find_by_name(out_dir, subject)
        if hits.height == 0:
            raise AbmError(f"{subject!r} is neither a record key, an account ID, a person ID, a flag ID nor "
                           f"the name of an account or person of {out_dir}.")
        if hits.height > 1:
            return _candidates(out_dir, subject, hits)
        hit = hits.row(0, named=True)
        head = f"{hit['kind']} {hit['name']} ({hit['id']}; {hit['detail']})"
        return head + "\n" + _explain_id(out_dir, records, hit["id"], level_names or {})
    return _explain_id(out_dir, records, subject, level_names or {})


def _candidates(out_dir: Path, subject: str, hits: pl.DataFrame) -> str:
    counts = _flag_counts(out_dir)
    # the accounts that need attention first: worst collision, then name
    rows = (hits.join(counts, left_on="account_id", right_on="_account", how="left")
            .sort(pl.col("_rank").fill_null(99), "kind", "name", "id"))
    lines = [f"{hits.height} accounts and persons match {subject!r}; run `abm explain {out_dir} ID` with one:"]
    for row in rows.head(MAX_CANDIDATES).iter_rows(named=True):
        flags = f"; {row['_flags']}" if row.get("_flags") else ""
        lines.append(f"  {row['kind']:<7} {row['id']}  {row['name']}  ({row['detail']}; account {row['account_id']}"
                     f"{flags})")
    if hits.height > MAX_CANDIDATES:
        lines.append(f"  … and {hits.height - MAX_CANDIDATES} more")
    return "\n".join(lines)


def _flag_counts(out_dir: Path) -> pl.DataFrame:
    """account_id -> "N collisions (worst critical), M gaps"."""
    empty = pl.DataFrame(schema={"_account": pl.String, "_flags": pl.String, "_rank": pl.Int8})
    path = out_dir / "collisions.parquet"
    if not path.exists():
        return empty
    col = pl.read_parquet(path, columns=["account_id", "severity"]).with_columns(
        pl.col("severity").replace_strict(_SEVERITY, default=9, return_dtype=pl.Int8).alias("_s"))
    per = col.sort("_s").group_by("account_id").agg(pl.len().alias("_n"), pl.col("severity").first().alias("_w"),
                                                    pl.col("_s").first().alias("_rank"))
    return per.select(pl.col("account_id").alias("_account"),
                      pl.format("{} collisions (worst {})", "_n", "_w").alias("_flags"), "_rank")


def _explain_flag(out_dir: Path, subject: str) -> str | None:
    for name in ("collisions", "key_person_gaps"):
        path = out_dir / f"{name}.parquet"
        if not path.exists():
            continue
        flags = pl.read_parquet(path)
        if "flag_id" not in flags.columns:
            continue
        hit = flags.filter(pl.col("flag_id") == subject)
        if hit.height:
            lines = [f"flag {subject}"] + _flag_lines(out_dir, hit, set())
            ev = hit.row(0, named=True)["evidence"] or []
            lines.append(f"  evidence ({len(ev)} records): " + ", ".join(ev[:MAX_PAIRS])
                         + (f" … and {len(ev) - MAX_PAIRS} more" if len(ev) > MAX_PAIRS else ""))
            return "\n".join(lines)
    return None


def _names(out_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    def read(name: str, key: str) -> dict[str, str]:
        path = out_dir / f"{name}.parquet"
        if not path.exists():
            return {}
        df = pl.read_parquet(path, columns=[key, "name"]).drop_nulls()
        return dict(zip(df[key].to_list(), df["name"].to_list(), strict=True))
    return read("accounts", "account_id"), read("persons", "person_id")


def _flag_lines(out_dir: Path, hits: pl.DataFrame, keys: set[str]) -> list[str]:
    accounts, persons = _names(out_dir)
    label = "collision" if "level" in hits.columns else "gap"
    if "severity" in hits.columns:
        hits = hits.with_columns(pl.col("severity").replace_strict(_SEVERITY, default=9, return_dtype=pl.Int8)
                                 .alias("_s")).sort("_s", "account_id")
    lines = []
    for row in hits.head(MAX_FLAGS).iter_rows(named=True):
        what = row.get("level") or row.get("gap_type")
        sev = f"{row['severity']} " if row.get("severity") else ""
        status = f" [{row['status']} since {row['first_seen_on']}]" if row.get("status") else ""
        who = persons.get(row["person_id"] or "", "")
        ours = ", ".join(row.get("internal_departments") or row.get("holder_internal_departments") or [])
        owners = ", ".join(row.get("internal_owners") or row.get("holder_owners") or [])
        line = (f"  {sev}{label} {what}{status}: {accounts.get(row['account_id'], '?')} ({row['account_id']}), "
                f"department {row['counterpart_department'] or '-'}, person {who or '-'} ({row['person_id'] or '-'})")
        if ours:
            line += f"; ours: {ours}" + (f" ({owners})" if owners else "")
        if row.get("flag_id"):
            line += f"; flag {row['flag_id']}"
        lines.append(line)
    if hits.height > MAX_FLAGS:
        lines.append(f"  … and {hits.height - MAX_FLAGS} more {label}s")
    return lines


def _explain_id(out_dir: Path, records: pl.DataFrame, subject: str, level_names: LevelNames) -> str:
    lines: list[str] = []
    if subject in set(records["record_key"]):
        rec = records.filter(pl.col("record_key") == subject).row(0, named=True)
        lines.append(f"record {subject} ({rec['source_file']} row {rec['row_number']})")
        lines.append(f"  account {rec['account_id']} (strongest link {rec['account_score']}), "
                     f"person {rec['person_id']} (strongest link {rec['person_score']})")
        keys = {subject}
    else:
        column = "account_id" if subject in set(records["account_id"].drop_nulls()) else "person_id"
        members = records.filter(pl.col(column) == subject)
        lines.append(f"{column.removesuffix('_id')} {subject}: {members.height} records "
                     f"({', '.join(f'{k} {n}' for k, n in members.group_by('kind').len().sort('kind').iter_rows())})")
        keys = set(members["record_key"])
    # the flags first (what a person acts on), then the links behind the grouping
    for name in ("collisions", "key_person_gaps"):
        path = out_dir / f"{name}.parquet"
        if not path.exists():
            continue
        flags = pl.read_parquet(path)
        hits = flags.filter(pl.col("evidence").list.eval(pl.element().is_in(list(keys))).list.any()
                            | pl.col("account_id").is_in([subject]) | pl.col("person_id").is_in([subject]))
        lines.extend(_flag_lines(out_dir, hits, keys))
    for entity in ("account", "person"):
        path = out_dir / EVIDENCE_DIR / f"{entity}_links.parquet"
        if not path.exists():
            continue
        ev = pl.read_parquet(path).filter(pl.col("id_l").is_in(list(keys)) | pl.col("id_r").is_in(list(keys)))
        if ev.height == 0:
            continue
        lines.append(f"  {entity} evidence ({ev.height} pairs):")
        for row in ev.sort("match_weight", descending=True).head(MAX_PAIRS).iter_rows(named=True):
            verdict = ("linked" + (" (attached: only candidate)" if row.get("attached") else "")
                       if row["linked"] else f"refused by {row['refused_by']}")
            lines.append(f"    {row['id_l']} ~ {row['id_r']}: {verdict}; rule {row['rule']}; "
                         f"weight {row['match_weight']:.2f} (p={row['match_probability']:.3f}); "
                         f"{_levels(row, level_names.get(entity, {}))}")
        if ev.height > MAX_PAIRS:
            lines.append(f"    … and {ev.height - MAX_PAIRS} more pairs")
    lines.extend(_registry_lines(out_dir, keys))
    return "\n".join(lines)


def _registry_lines(out_dir: Path, keys: set[str]) -> list[str]:
    """What the 法人番号 registry said about these records (anchored, or why not)."""
    path = out_dir / EVIDENCE_DIR / REGISTRY_ANCHORS
    if not path.exists():
        return []
    rows = pl.read_parquet(path).filter(pl.col("record_key").is_in(list(keys)))
    if rows.height == 0:
        return []
    lines = [f"  registry evidence ({rows.height} records):"]
    for row in rows.head(50).iter_rows(named=True):
        if row["registry_number"] is not None:
            how = row["anchor_method"]
            if how == "in_run":   # no place: the one corporation of that name this run's records are anchored to
                how = f"in_run: {row['anchor_note']}, the only one of that name anchored in this run"
            lines.append(f"    {row['record_key']}: 法人番号 {row['registry_number']} by {how} "
                         f"({row['anchor_name']}); linked to every record anchored there")
        else:
            lines.append(f"    {row['record_key']}: not anchored ({row['anchor_note']}; "
                         f"{row['candidates']} corporations of that name)")
    return lines
