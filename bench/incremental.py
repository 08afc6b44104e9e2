"""The incremental night: a full run on a world, then a night where 1 % of the records changed.

``night(world, fraction, seed)`` writes a copy of a generated world in which ``fraction`` of the
rows of every input file changed: a third edited (an e-mail, a name, a company name, a department),
a third deleted, a third added (copies of existing rows under new ids, with an edited field). Then
the same night's input is run three times from the same previous run, each in its own process and
its own copy of OUT_DIR: incrementally (the default); with ``--full``, which reads nothing the
previous run left in ``.OUT_DIR.cache/`` (what a night costs without incremental machinery); and
``warm``: a full run that still reads the per-value cache (the copy holds the value cache but not
the stores of normalised rows, comparisons and guard results) — the honest comparison for a
night whose names were mostly seen before. The outputs are compared (records' account and person
IDs, collisions and gaps with their IDs).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from bench.measure import measure, python

#: columns an edit may change, per input file kind (the first present is chosen at random)
EDITABLE = ("email", "family_name", "given_name", "company_name", "name", "department", "full_name", "title")
#: what tonight's outputs are compared on (run timestamps are left out)
COMPARED = {
    "records.parquet": ["record_key", "account_id", "person_id"],
    "collisions.parquet": None,
    "key_person_gaps.parquet": None,
}


def _decode(raw: bytes) -> tuple[str, str]:
    for enc in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ValueError("neither UTF-8 nor CP932")


def _edit(value: str | None, column: str, rng: random.Random) -> str:
    value = value or ""
    if column == "email" and "@" in value:
        local, domain = value.split("@", 1)
        return f"{local}{rng.randint(1, 9)}@{domain}"
    return value + rng.choice(["ノ", "産業", "X", "二"]) if value else "テスト"


def _change(df: pl.DataFrame, fraction: float, rng: random.Random) -> tuple[pl.DataFrame, int]:
    """``fraction`` of the rows changed: edits, deletions, additions in equal parts (and how many)."""
    n = max(3, round(df.height * fraction))
    idc = df.columns[0]
    picked = rng.sample(range(df.height), min(n, df.height))
    third = len(picked) // 3
    edit, delete, copy = picked[:third], set(picked[third:2 * third]), picked[2 * third:]
    rows = df.to_dicts()
    editable = [c for c in EDITABLE if c in df.columns]
    for i in edit:
        if editable:
            col = rng.choice(editable)
            rows[i][col] = _edit(rows[i][col], col, rng)
    numeric = all(str(r[idc]).isdigit() for r in rows[:50])
    top = max((int(r[idc]) for r in rows), default=0) if numeric else 0
    added = []
    for k, i in enumerate(copy):
        row = dict(rows[i])
        row[idc] = str(top + 1 + k) if numeric else f"{row[idc]}N{k}"
        if editable:
            col = rng.choice(editable)
            row[col] = _edit(row[col], col, rng)
        added.append(row)
    kept = [r for i, r in enumerate(rows) if i not in delete]
    return pl.DataFrame(kept + added, schema=df.schema), len(picked)


def night(world: Path, target: Path, fraction: float = 0.01, seed: int = 1) -> dict[str, int]:
    """Write ``world`` with ``fraction`` of each input file's rows changed to ``target``."""
    rng = random.Random(seed)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    changed = {}
    for path in sorted(world.iterdir()):
        if path.is_dir():
            continue
        if path.suffix == ".parquet":
            df = pl.read_parquet(path)
            out, n = _change(df.cast(pl.Utf8), fraction, rng)
            out.cast(df.schema).write_parquet(target / path.name)
        elif path.suffix == ".csv":
            text, enc = _decode(path.read_bytes())
            df = pl.read_csv(text.encode("utf-8"), infer_schema=False)
            out, n = _change(df, fraction, rng)
            (target / path.name).write_bytes(out.write_csv().encode(enc if enc != "utf-8-sig" else "utf-8-sig"))
        else:
            shutil.copy2(path, target / path.name)
            continue
        changed[path.name] = n
    return changed


def _table(out: Path, name: str, cols: list[str] | None) -> pl.DataFrame:
    df = pl.read_parquet(out / name)
    df = df.select(cols) if cols else df.drop([c for c in df.columns if c in ("run_at",)])
    return df.sort(df.columns)


def same_outputs(a: Path, b: Path) -> dict[str, bool]:
    return {name: _table(a, name, cols).equals(_table(b, name, cols)) for name, cols in COMPARED.items()}


def incremental_night(world: Path, work: Path, fraction: float = 0.01, seed: int = 1) -> dict[str, Any]:
    """Full run on ``world``; then the changed night incrementally and with ``--full``, measured."""
    abm = str(Path(python()[0]).with_name("abm"))
    tonight = work / f"{world.name}_night"
    changed = night(world, tonight, fraction, seed)
    base = work / f"out_{world.name}_base"
    for p in base.parent.glob(f"*out_{world.name}_*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink()
    first = measure([abm, "run", str(world), "--out", str(base), "-q"])
    if first.returncode:
        raise RuntimeError(first.stderr[-3000:])
    row: dict[str, Any] = {"records_changed": sum(changed.values()), "first_run_s": round(first.seconds, 1),
                           "first_run_cpu_s": round(first.cpu_seconds, 1)}
    outs = {}
    for mode, extra in (("incremental", []), ("full", ["--full"]), ("warm", [])):
        out = work / f"out_{world.name}_{mode}"
        _copy_out(base, out, stores=mode != "warm")
        m = measure([abm, "run", str(tonight), "--out", str(out), "-q", *extra])
        if m.returncode:
            raise RuntimeError(m.stderr[-3000:])
        doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
        outs[mode] = out
        inc = doc.get("incremental", {})
        row[mode] = {"seconds": round(m.seconds, 1), "cpu_seconds": round(m.cpu_seconds, 1),
                     "peak_rss_mb": round(m.peak_rss_mb), "mode": inc.get("mode"),
                     "pairs_reused": inc.get("pairs_reused"), "pairs_compared": inc.get("pairs_compared"),
                     "units_changed": inc.get("units_changed"), "input_rows": doc["counts"]["input_rows"],
                     "normalize": inc.get("normalize"), "guard_pairs_reused": inc.get("guard_pairs_reused"),
                     "stages_s": doc["timings_s"], "stages_cpu_s": doc.get("cpu_s_by_stage", {}),
                     "linkage_s": {k: v["timings_s"] for k, v in doc["linkage"].items()}}
    row["equal"] = same_outputs(outs["incremental"], outs["full"])
    row["equal_warm"] = same_outputs(outs["warm"], outs["full"])
    for against in ("full", "warm"):
        suffix = "" if against == "full" else "_warm"
        row[f"wall_ratio{suffix}"] = round(row["incremental"]["seconds"] / row[against]["seconds"], 3)
        row[f"cpu_ratio{suffix}"] = round(row["incremental"]["cpu_seconds"] / row[against]["cpu_seconds"], 3)
    return row


#: what an incremental night reuses beyond the per-value cache (left out of the ``warm`` copy)
STORES = ("rows.parquet", "pairs-*.parquet", "guards-*.parquet")


def _copy_out(base: Path, out: Path, stores: bool = True) -> None:
    """A copy of OUT_DIR with its runs and its cache (the symlink stays relative); ``stores=False``:
    without the stores of normalised rows, comparisons and guard results."""
    for suffix in ("", ".runs", ".cache"):
        src = base.with_name(f".{base.name}{suffix}") if suffix else base
        dst = out.with_name(f".{out.name}{suffix}") if suffix else out
        if src.is_symlink():
            target = Path(str(src.readlink()).replace(f".{base.name}.runs", f".{out.name}.runs"))
            dst.symlink_to(target)
        elif src.is_dir():
            shutil.copytree(src, dst, symlinks=True)
            if suffix == ".cache" and not stores:
                for pattern in STORES:
                    for path in dst.glob(pattern):
                        path.unlink()
