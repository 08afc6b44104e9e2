"""Benchmarks (``make bench``): speed, memory and accuracy, written to bench/RESULTS.md and .json.

1. ``abm run`` on generated worlds (``--sizes``, in companies; about 13 input rows per company):
   wall and CPU time, peak RSS, per-stage time and peak memory, candidate pairs per rule, F1.
2. The matching core on Febrl3 and Febrl4: abm's engine with rules/linkage_febrl.yaml beside
   Splink 5 and recordlinkage (``bench.core``).
3. The 20 k-company Japanese world: abm whole vs Splink ER-only (``bench.splink_jp``).
4. The incremental night (``bench.incremental``): a full run, then 1 % of the records changed, run
   incrementally and with ``--full`` from the same previous run; outputs compared.
5. ``scale``: the 1 M-record Febrl-derived set (``bench.febrl_big``): abm's engine, the engine with
   every ``max_block`` removed (the pair budget must hold), and Splink 5 on the same blocking.
6. ``activities``: ``abm run`` on a generated world with N bulk MA activity rows
   (``bench.activities_big``): time, peak RSS, per-stage time and memory.

``--sections`` runs some sections alone; the others keep their last results (RESULTS.json is
merged, not overwritten). The 1-minute load average is written next to each measurement.

Every measurement runs in its own process (peak RSS is that process's own, from ``wait4``);
numbers are medians of ``--repeats`` runs. Every ``abm run`` starts from a fresh OUT_DIR without its
``.OUT_DIR.cache`` (a first run, as Splink is timed: nothing reused); the incremental section measures
reuse on its own. Thresholds are declared in the modules before any run.
Splink is a bench extra (``pip install -e '.[bench]'``); a section whose tool is missing is skipped
with a note. CPU seconds are reported beside wall time: on a shared machine they are steadier.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import fresh_out, python, repeated

WORK = Path("bench/work")


def world_dir(companies: int, seed: int) -> Path:
    target = WORK / f"world_{companies}_{seed}"
    if not (target / "truth" / "records.csv").exists():
        from fixtures.generate import generate_world

        shutil.rmtree(target, ignore_errors=True)
        generate_world(target, companies=companies, seed=seed)
    return target


def abm_world(companies: int, seed: int, repeats: int) -> dict[str, Any]:
    from abm.evaluate import evaluate

    target = world_dir(companies, seed)
    out = WORK / f"out_{companies}_{seed}"
    abm = str(Path(python()[0]).with_name("abm"))
    _, med = repeated([abm, "run", str(target), "--out", str(out)], repeats, before=fresh_out(out))
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    scores = evaluate(out, target / "truth")
    return {
        "companies": companies, "input_rows": run["counts"]["input_rows"], **med,
        "account_f1": scores["accounts"]["pairwise_f1"], "person_f1": scores["persons"]["pairwise_f1"],
        "stages_s": run["timings_s"], "stages_peak_rss_mb": run.get("peak_rss_mb_by_stage", {}),
        "pairs_per_rule": {k: v["candidate_pairs_per_rule"] for k, v in run["linkage"].items()},
    }


def core(datasets: list[str], repeats: int, splink: bool = True) -> list[dict[str, Any]]:
    rows = []
    have_splink = splink and importlib.util.find_spec("splink") is not None
    for dataset in datasets:
        big = dataset.endswith(".parquet")
        runs = [("abm", [])] + ([("abm", ["--no-max-block"])] if big else [])
        runs += [("splink", [])] if have_splink else []
        runs += [("recordlinkage", [])] if not big else []  # pandas pairwise compare: hours at 1 M
        for tool, extra in runs:
            load_before = _load()
            measured, med = repeated(python("-m", "bench.core", tool, dataset, *extra), repeats)
            inner = measured[-1].json_line()
            row = inner | med | {"inner_seconds": inner["seconds"], "tool": tool + (" (no max_block)" if extra else ""),
                                 "load": f"{load_before} → {_load()}"}
            rows.append(row)
    return rows


def _load() -> str:
    """The 1-minute load average (``uptime``), written next to every timing: the machine is shared."""
    return f"{os.getloadavg()[0]:.1f}"


def activities(companies: int, seed: int, counts: list[int], repeats: int) -> list[dict[str, Any]]:
    """``abm run`` on a generated world plus N bulk MA activity rows (``bench.activities_big``)."""
    from bench.activities_big import write_activities

    world = world_dir(companies, seed)
    abm = str(Path(python()[0]).with_name("abm"))
    rows = []
    for n in counts:
        target = WORK / f"world_{companies}_{seed}_act{n}"
        if not (target / "ma_activities_bulk.parquet").exists():
            target.mkdir(parents=True, exist_ok=True)
            for f in sorted(world.iterdir()):
                if not (target / f.name).exists():
                    (target / f.name).symlink_to(f.resolve())
            write_activities(world, n, target / "ma_activities_bulk.parquet")
        out = WORK / f"out_{companies}_{seed}_act{n}"
        load_before = _load()
        measured, med = repeated([abm, "run", str(target), "--out", str(out)], repeats, before=fresh_out(out))
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
        rows.append({"companies": companies, "bulk_activities": n, "input_rows": run["counts"]["input_rows"],
                     "quarantined": run["counts"].get("quarantine"), "touches": run["counts"].get("touches"), **med,
                     "load": f"{load_before} → {_load()}", "stages_s": run["timings_s"],
                     "stages_peak_rss_mb": run.get("peak_rss_mb_by_stage", {})})
    return rows


def jp(companies: int, seed: int, repeats: int, abm_row: dict[str, Any] | None) -> dict[str, Any]:
    abm_row = abm_row or abm_world(companies, seed, repeats)
    out: dict[str, Any] = {"companies": companies, "abm_seconds": abm_row["seconds"],
                           "abm_cpu_seconds": abm_row["cpu_seconds"], "abm_peak_rss_mb": abm_row["peak_rss_mb"],
                           "abm_account_f1": abm_row["account_f1"]}
    if importlib.util.find_spec("splink") is None:
        return out | {"note": "splink not installed: pip install -e '.[bench]'"}
    measured, med = repeated(python("-m", "bench.splink_jp", str(world_dir(companies, seed))), repeats)
    s = measured[-1].json_line()
    return out | {"splink_seconds": med["seconds"], "splink_cpu_seconds": med["cpu_seconds"],
                  "splink_peak_rss_mb": med["peak_rss_mb"], "splink_account_f1": s["account_f1"],
                  "wall_ratio": round(abm_row["seconds"] / med["seconds"], 3),
                  "cpu_ratio": round(abm_row["cpu_seconds"] / med["cpu_seconds"], 3)}


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_cell(x)}" for k, x in v.items())
    return str(v)


def table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_cell(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    text = [f"# abm benchmarks\n\n{results['run_at']}; {m['cores']} cores, Python {m['python']}, "
            f"medians of {results['repeats']} run(s). `seconds`: wall time of the whole process (interpreter "
            "start, imports, reading and writing included); `cpu_seconds`: user + system time; `peak_rss_mb`: "
            "that process's own peak resident memory. Re-run with `make bench` (SIZES=companies,..., "
            f"REPEATS=n). Command: `{results.get('command', '')}`.\n"]
    if results.get("worlds"):
        text.append("## 1. `abm run` on generated worlds\n")
        text.append(_meta(results, "worlds"))
        text.append(table(results["worlds"], ["companies", "input_rows", "seconds", "cpu_seconds", "peak_rss_mb",
                                              "account_f1", "person_f1"]))
        text.append("\nPer stage (seconds; peak RSS in MB by the end of the stage), and candidate pairs per rule:\n")
        for w in results["worlds"]:
            text.append(f"- **{w['companies']} companies**: {_cell(w['stages_s'])}  \n"
                        f"  peak MB: {_cell(w['stages_peak_rss_mb'])}  \n"
                        f"  pairs: {_cell(w['pairs_per_rule'])}")
    if results.get("core"):
        text.append("\n## 2. Matching core on Febrl (same blocking for every tool)\n")
        text.append(_meta(results, "core"))
        text.append(table(results["core"], ["dataset", "records", "tool", "seconds", "cpu_seconds", "inner_seconds",
                                            "peak_rss_mb", "pairs", "precision", "recall", "f1"]))
        text += _pair_notes(results["core"], ("dataset", "tool"))
    if results.get("jp"):
        text.append("\n## 3. Japanese world: abm whole vs Splink ER-only (bench/splink_jp.py)\n")
        text.append(_meta(results, "jp"))
        text.append(table([results["jp"]], list(results["jp"])))
    if results.get("incremental"):
        text.append(incremental_markdown(results["incremental"]))
    if results.get("scale"):
        text.append("\n## 5. The 1 M-record Febrl-derived set (bench/febrl_big.py, SSN blanked)\n")
        text.append(_meta(results, "scale"))
        text.append(table(results["scale"], ["records", "tool", "seconds", "cpu_seconds", "inner_seconds",
                                             "peak_rss_mb", "pairs", "precision", "recall", "f1", "load"]))
        text += _pair_notes(results["scale"], ("tool",), with_stages=True)
    if results.get("activities"):
        text.append("\n## 6. MA activity logs at size: `abm run` with bulk `ma_activities` rows (bench/activities_big.py)\n")
        text.append(_meta(results, "activities"))
        text.append(table(results["activities"], ["companies", "bulk_activities", "input_rows", "quarantined",
                                                  "touches", "seconds", "cpu_seconds", "peak_rss_mb", "load"]))
        for r in results["activities"]:
            text.append(f"\n- **{r['bulk_activities']:,} bulk activities**: {_cell(r['stages_s'])}  \n"
                        f"  peak MB: {_cell(r['stages_peak_rss_mb'])}")
    return "\n".join(text) + "\n"


def _pair_notes(rows: list[dict], label: tuple[str, ...], with_stages: bool = False) -> list[str]:
    """One line per engine row: candidate pairs planned and built per blocking rule (and stage times)."""
    notes = []
    for r in rows:
        if r.get("planned_pairs_per_rule"):
            stages = f"; stages (s) {_cell(r.get('timings', {}))}" if with_stages else ""
            notes.append(f"\n- {' '.join(str(r[k]) for k in label)}: pairs planned per rule "
                         f"{_cell(r['planned_pairs_per_rule'])}; built {_cell(r.get('pairs_per_rule', {}))}{stages}")
    return notes


def _meta(results: dict[str, Any], section: str) -> str:
    m = results.get("meta", {}).get(section, {})
    return (f"Measured {m.get('run_at', '?')}, medians of {m.get('repeats', '?')} run(s); "
            f"command `{m.get('command', '?')}`; `load`: the 1-minute load average (`uptime`) before → after "
            "each measurement (a machine shared with other jobs: compare `cpu_seconds`).\n")


INCREMENTAL_HEADING = "## 4. Incremental night (bench/incremental.py)"


def incremental_markdown(section: dict[str, Any]) -> str:
    """Section 4 (also written alone into an existing RESULTS.md by ``--sections incremental``)."""
    text = [f"\n{INCREMENTAL_HEADING}\n",
            f"{section['run_at']}; load average before the runs {section.get('load', '?')}; command: "
            f"`{section['command']}`. A full run on the world, then a night with {section['fraction']:.0%} of "
            "every input file's rows changed (a third edited, a third deleted, a third added), run from the same "
            "previous run incrementally and with `--full` (each in its own process and its own copy of OUT_DIR; both "
            "use the per-value cache the first run filled, which a first run into a new OUT_DIR does not have: "
            "`first run` is that cold run on the unchanged world). "
            "`equal`: records (account_id, person_id), collisions and gaps (IDs included) of the two runs.\n"]
    rows = []
    for r in section["rows"]:
        inc, full = r["incremental"], r["full"]
        rows.append({"companies": r["companies"], "input_rows": inc["input_rows"], "changed": r["records_changed"],
                     "first run s / cpu": f"{r['first_run_s']:.1f} / {r['first_run_cpu_s']:.1f}",
                     "incr s": inc["seconds"], "full s": full["seconds"], "incr cpu": inc["cpu_seconds"],
                     "full cpu": full["cpu_seconds"], "incr MB": inc["peak_rss_mb"], "full MB": full["peak_rss_mb"],
                     "wall ratio": r["wall_ratio"], "cpu ratio": r["cpu_ratio"], "reused": inc["pairs_reused"],
                     "compared": inc["pairs_compared"], "units changed": inc["units_changed"],
                     "equal": all(r["equal"].values())})
    text.append(table(rows, list(rows[0])))
    text.append("\nPer stage, CPU seconds (user + system, worker processes included; steadier than wall time on a "
                "shared machine), incremental / full:\n")
    for r in section["rows"]:
        inc, full = r["incremental"], r["full"]
        text.append(f"- **{r['companies']} companies**: " + ", ".join(
            f"{k} {_cell(v)} / {_cell(full['stages_cpu_s'].get(k, 0.0))}" for k, v in inc["stages_cpu_s"].items()) +
            "  \n  wall: " + ", ".join(
            f"{k} {_cell(v)} / {_cell(full['stages_s'].get(k, 0.0))}" for k, v in inc["stages_s"].items()) +
            "  \n  linkage (wall): " + "; ".join(
            f"{spec} {_cell(v)} / {_cell(full['linkage_s'][spec])}" for spec, v in inc["linkage_s"].items()))
    return "\n".join(text)


def merge_section(path: Path, heading: str, body: str) -> str:
    """``path``'s text with the section under ``heading`` replaced by ``body`` (appended if absent)."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# abm benchmarks\n"
    start = old.find(heading)
    if start < 0:
        return old.rstrip("\n") + "\n" + body.rstrip("\n") + "\n"
    end = old.find("\n## ", start + len(heading))
    return old[:start].rstrip("\n") + "\n" + body.rstrip("\n") + "\n" + (old[end:] if end >= 0 else "")


def incremental(sizes: list[int], seed: int, fraction: float) -> dict[str, Any]:
    from bench.incremental import incremental_night

    rows = []
    for n in sizes:
        row = incremental_night(world_dir(n, seed), WORK, fraction)
        rows.append({"companies": n, **row})
    return {"run_at": datetime.now(UTC).isoformat(timespec="seconds"), "fraction": fraction,
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()), "command": "python -m bench.run " + " ".join(sys.argv[1:]),
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/RESULTS.md"))
    ap.add_argument("--sizes", default="750,7500,75000", help="world sizes in companies (~13 input rows each)")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--repeats", type=int, default=int(os.environ.get("REPEATS", 3)))
    ap.add_argument("--febrl-records", type=int, default=1_000_000, help="Febrl-derived set size (0: skip)")
    ap.add_argument("--jp-companies", type=int, default=20000, help="Japanese world for the Splink side-by-side (0: skip)")
    ap.add_argument("--activities", default="2000000", help="bulk MA activity rows, comma-separated (section activities)")
    ap.add_argument("--activities-companies", type=int, default=75000, help="the world beside the bulk activities")
    ap.add_argument("--scale-no-splink", action="store_true",
                    help="section scale without Splink (on the same blocking, 330 M pairs: > 10 GB here)")
    ap.add_argument("--sections", default="worlds,core,jp,incremental,scale,activities",
                    help="comma-separated; sections not run keep their last results in RESULTS.md/.json")
    ap.add_argument("--incremental-sizes", default="2000,20000", help="worlds (companies) of the incremental night")
    ap.add_argument("--incremental-fraction", type=float, default=0.01, help="share of rows changed on the night")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    sections = set(args.sections.split(","))
    json_path = args.out.with_suffix(".json")
    previous = json.loads(json_path.read_text(encoding="utf-8")) if json_path.exists() else {}
    command = "python -m bench.run " + " ".join(sys.argv[1:])
    results: dict[str, Any] = {
        **previous,   # sections not run this time keep their last numbers
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"), "repeats": args.repeats, "command": command,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    meta = results.setdefault("meta", {})
    for section in ("worlds", "core", "jp", "scale", "activities"):   # results of an earlier run keep its facts
        if previous.get(section) and section not in meta:
            meta[section] = {k: previous.get(k, "?") for k in ("run_at", "repeats", "command")}
    for section in sections:
        meta[section] = {"run_at": results["run_at"], "repeats": args.repeats, "command": command}
    sizes = [int(n) for n in args.sizes.split(",") if n]
    if "worlds" in sections:
        results["worlds"] = [abm_world(n, args.seed, args.repeats) for n in sizes]
    if "core" in sections:
        results["core"] = core(["febrl3", "febrl4"], args.repeats)
    if "scale" in sections and args.febrl_records:
        path = WORK / f"febrl_{args.febrl_records}.parquet"
        if not path.exists():
            from bench.febrl_big import derive

            derive(args.febrl_records).write_parquet(path)
        results["scale"] = core([str(path)], args.repeats, splink=not args.scale_no_splink)
    if "activities" in sections and args.activities:
        results["activities"] = activities(args.activities_companies, args.seed,
                                           [int(n) for n in args.activities.split(",") if n], args.repeats)
    if "jp" in sections and args.jp_companies:
        same = [w for w in results.get("worlds", []) if w["companies"] == args.jp_companies]
        results["jp"] = jp(args.jp_companies, args.seed, args.repeats, same[0] if same else None)
    if "incremental" in sections:
        results["incremental"] = incremental([int(n) for n in args.incremental_sizes.split(",") if n], args.seed,
                                             args.incremental_fraction)
    # sections not run keep their last results (results started from the stored JSON)
    text = markdown(results)
    args.out.write_text(text, encoding="utf-8")
    json_path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print(text)
    print(f"written: {args.out} and {json_path}")


if __name__ == "__main__":
    main()
