"""Command line: parse options, call one library function, turn AbmError into a clear message.

Exit codes: 0 success; 1 other abm error; 2 unusable input; 3 invalid rules; 4 unusable truth.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import re
import sys
import threading
from pathlib import Path

import click

from abm import __version__
from abm.errors import AbmError


def _setup_logging(verbose: int, quiet: bool) -> None:
    """Configure abm's own logger (stderr); the root logger, and so a host application's, is left alone."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    logger = logging.getLogger("abm")
    for old in [h for h in logger.handlers if h.get_name() == "abm-cli"]:   # a second call replaces the first
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("abm-cli")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


def _fail(exc: AbmError) -> None:
    click.echo(f"Error: {exc.message()}", err=True)
    sys.exit(exc.exit_code)


class _ErrorBoundary(click.Group):
    """No Python traceback reaches the user: an AbmError is its message and exit code; anything
    else is one line naming the exception type and place, exit 1 (``-v`` prints the traceback)."""

    def invoke(self, ctx: click.Context) -> object:
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except AbmError as exc:
            _fail(exc)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # the reader went away (`abm evaluate OUT | head`): stop quietly as other Unix tools do; point
            # stdout at /dev/null so the interpreter's final flush cannot fail a second time
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a tool killed by the broken pipe
        except Exception as exc:  # noqa: BLE001 - the boundary: every other failure is one line
            import traceback

            if any(a == "--verbose" or re.fullmatch(r"-v+", a) for a in args):
                traceback.print_exc()
            frames = traceback.extract_tb(exc.__traceback__)
            ours = [f for f in frames if "/abm/" in f.filename.replace("\\", "/")] or frames
            where = f" in {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
            # the exception text may quote input values (personal data): name only its type and place
            click.echo(f"Error: abm failed unexpectedly ({type(exc).__name__}{where}). This is a bug in abm; "
                       "run again with -v to see the traceback, and report it.", err=True)
            sys.exit(1)
        return None


@click.group(cls=_ErrorBoundary)
@click.version_option(__version__, prog_name="abm")
def main() -> None:
    """abm — resolve Japanese B2B sales records into accounts and persons, map buying committees,
    flag 社内バッティング and missing key persons."""


@main.command()
@click.argument("input_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("abm-out"),
              show_default=True, help="Output directory (replaced only when the run succeeds).")
@click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Rules directory (default: the project's rules/).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The 'today' of collision and engagement windows (default: latest touch date in the data).")
@click.option("--keep-intermediate", is_flag=True, help="Also write stage tables to OUT_DIR/stages/.")
@click.option("--graph-files", type=click.IntRange(min=0), default=500, show_default=True,
              help="Write GraphML + JSON files for this many flagged accounts, most urgent first.")
@click.option("--overrides", "overrides_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Corrections file (default: INPUT_DIR/overrides.yaml when it exists).")
@click.option("--lang", "report_lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True,
              help="Language of report.html's labels.")
@click.option("--registry", "registry", type=click.Path(exists=True, path_type=Path), default=None,
              help="法人番号 registry: a cache from `abm registry import`, or the download (CSV, zip or folder), "
                   "imported into the default cache on first use.")
@click.option("--no-cache", is_flag=True, help="Do not read or write .OUT_DIR.cache/ (per-value results and the "
              "previous run's comparisons kept across runs).")
@click.option("--full", is_flag=True, help="Recompute everything as a first run does: read nothing of .OUT_DIR.cache/ "
              "(per-value results, normalised rows, the previous run's comparisons), but write it for the next "
              "run (a change of rules or abm version invalidates it by itself).")
@click.option("-v", "--verbose", count=True, help="Log stage progress (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def run(input_dir: Path, out_dir: Path, rules_dir: Path | None, as_of: object, keep_intermediate: bool,
        graph_files: int, overrides_file: Path | None, report_lang: str, registry: Path | None, no_cache: bool,
        full: bool, verbose: int, quiet: bool) -> None:
    """Resolve the exports in INPUT_DIR and write every output to --out."""
    from abm.pipeline import run as run_pipeline
    from abm.progress import stage_progress
    from abm.settings import Settings

    _setup_logging(verbose, quiet)
    day = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]
    if day is not None and not 1900 <= day.year <= 2100:
        raise click.BadParameter(f"{day.isoformat()} is outside the years 1900-2100", param_hint="'--as-of'")
    settings = Settings(input_dir=input_dir, out_dir=out_dir, rules_dir=rules_dir, as_of=day,
                        keep_intermediate=keep_intermediate, graph_files=graph_files, overrides=overrides_file,
                        report_lang=report_lang, registry=registry, value_cache=not no_cache,
                        full=full)
    with stage_progress(not quiet) as on_stage:
        result = run_pipeline(settings, on_stage)
    if not quiet:
        c = result.counts
        click.echo(f"abm {__version__}: as of {result.as_of.isoformat()}")
        click.echo(f"  {c['input_rows']} input rows -> {c['records']} records, {c['quarantine']} quarantined")
        click.echo(f"  {c['accounts']} accounts, {c['persons']} persons, {c['touches']} touches")
        levels = ", ".join(f"{k} {v}" for k, v in c["collisions_by_level"].items()) or "none"
        gaps = ", ".join(f"{k} {v}" for k, v in c["gaps_by_type"].items()) or "none"
        click.echo(f"  collisions: {c['collisions']} ({levels}); key-person gaps: {c['key_person_gaps']} ({gaps})")
        flags = c.get("flags", {})
        click.echo(f"  {c.get('critical_collisions', 0)} critical collisions; {flags.get('new', 0)} new flags, "
                   f"{flags.get('resolved', 0)} resolved since the previous run")
        inc = result.incremental
        if inc:
            click.echo(f"  {inc['mode']} run: {inc['reason']}; comparisons of {inc['pairs_reused']} pairs reused, "
                       f"{inc['pairs_compared']} compared")
        click.echo(f"  outputs in {result.out_dir}/ (report.html, report.xlsx, *.parquet, abm.duckdb, csv/, run.json)")


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--truth", "truth_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Directory with records.csv (record_key, account, person) and optional collisions.csv, gaps.csv.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the scores as JSON (default: OUT_DIR/evaluation.json).")
def evaluate(out_dir: Path, truth_dir: Path, json_path: Path | None) -> None:
    """Score a run in OUT_DIR against ground truth."""
    from abm.evaluate import evaluate as evaluate_run
    from abm.evaluate import format_table

    result = evaluate_run(out_dir, truth_dir)
    target = json_path or out_dir / "evaluation.json"
    target.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    click.echo(format_table(result))
    click.echo(f"\nwritten to {target}")


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("subject")
@click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Rules directory that names the comparison levels of runs older than "
                   "evidence/levels.json (a run names its own levels).")
def explain(out_dir: Path, subject: str, rules_dir: Path | None) -> None:
    """Why SUBJECT is where it is: links, refusals, flags. SUBJECT is a record key, an account, person or
    flag ID, or a company or person name (several matches: lists the candidates with their IDs, exit 0)."""
    from abm.explain import explain as explain_subject
    from abm.explain import stored_level_names
    from abm.linkage.spec import linkage_specs
    from abm.rules import load_rules

    names = stored_level_names(out_dir)
    if names is None:  # outputs of a run that did not store its level names
        specs = load_rules(rules_dir).view(linkage_specs)
        names = {
            "account": {c.name: c.level_names() for c in specs.accounts.comparisons},
            "person": {c.name: c.level_names() for c in specs.persons.comparisons},
        }
    click.echo(explain_subject(out_dir, subject, names))


@main.group()
def override() -> None:
    """Corrections that stick night to night: must-links and cannot-links between records."""


_FILE = click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
                     default=Path("overrides.yaml"), show_default=True,
                     help="The overrides file (usually INPUT_DIR/overrides.yaml).")
_OUT = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("abm-out"),
                    show_default=True, help="A run's output directory, to look up IDs and names.")


@override.command("add")
@click.option("--must-link", "must", nargs=2, default=None, metavar="A B", help="A and B are the same.")
@click.option("--cannot-link", "cannot", nargs=2, default=None, metavar="A B", help="A and B are different.")
@click.option("--level", type=click.Choice(["account", "person"]), required=True)
@click.option("--by", required=True, help="Who says so.")
@click.option("--reason", required=True, help="Why (kept with the override).")
@_FILE
@_OUT
def override_add(must: tuple[str, str] | None, cannot: tuple[str, str] | None, level: str, by: str, reason: str,
                 file: Path, out_dir: Path) -> None:
    """Add a must-link or cannot-link. A and B: record keys, or account/person IDs or names (resolved
    to a representative record of the last run in --out, which is printed)."""
    from datetime import date

    from abm.overrides import (
        Override,
        check_contradictions,
        load_overrides,
        representative_record,
        write_overrides,
    )

    if (must is None) == (cannot is None):
        raise click.UsageError("give exactly one of --must-link A B or --cannot-link A B")
    a, b = must or cannot  # type: ignore[misc]
    items = load_overrides(file if file.exists() else None)
    keys = []
    for subject in (a, b):
        key, note = representative_record(out_dir, subject, level)
        keys.append(key)
        click.echo(note)
    added = Override(len(items) + 1, "must" if must else "cannot", level, keys[0], keys[1], by,
                     date.today(), reason)
    check_contradictions(file, [*items, added])
    write_overrides(file, [*items, added])
    click.echo(f"added {added.describe()} to {file}")


@override.command("list")
@_FILE
@_OUT
def override_list(file: Path, out_dir: Path) -> None:
    """List the overrides, numbered, with whether each still applies in the last run in --out."""
    from abm.overrides import load_overrides, override_applies

    items = load_overrides(file if file.exists() else None)
    if not items:
        click.echo(f"no overrides in {file}")
        return
    state = override_applies(out_dir if out_dir.exists() else None, items)
    for o in items:
        click.echo(f"{o.number:>3}  {o.link}-link {o.level}  {o.a}  {o.b}  by {o.by or '?'} on "
                   f"{o.on.isoformat() if o.on else '?'}  — {o.reason or ''}")
        click.echo(f"     {state[o.number]}")


@override.command("remove")
@click.argument("number", type=click.IntRange(min=1))
@_FILE
def override_remove(number: int, file: Path) -> None:
    """Remove override NUMBER (as `abm override list` numbers them)."""
    from dataclasses import replace

    from abm.overrides import load_overrides, write_overrides

    items = load_overrides(file if file.exists() else None)
    if number > len(items):
        raise click.UsageError(f"{file} holds {len(items)} override(s); there is no number {number}")
    gone = items[number - 1]
    rest = [replace(o, number=i) for i, o in enumerate((o for o in items if o.number != number), start=1)]
    write_overrides(file, rest)
    click.echo(f"removed {gone.describe()} from {file}")


@main.group()
def registry() -> None:
    """The 法人番号 registry (国税庁 法人番号公表サイト download) as reference data."""


@registry.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--cache", "cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache directory to write (default: ~/.cache/abm/registry/<fingerprint of SOURCE>).")
@click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Rules directory (legal forms, variant kanji and romaji words used for the name keys).")
@click.option("-v", "--verbose", count=True, help="Log progress (-vv: debug).")
def registry_import(source: Path, cache: Path | None, rules_dir: Path | None, verbose: int) -> None:
    """Import SOURCE (the download: a CSV, a zip of CSVs, or a folder of them) into an indexed cache."""
    from abm.registry.store import import_registry
    from abm.rules import load_rules

    _setup_logging(verbose, False)
    reg = import_registry(source, cache, load_rules(rules_dir))
    m = reg.manifest
    click.echo(f"{m['corporations']} corporations ({m['rows']} rows, {m['rejected_rows']} rejected, "
               f"{m['names']} name keys) in {m['built_in_s']} s")
    click.echo(f"cache: {reg.root}  (use it with: abm run INPUT_DIR --registry {reg.root})")


def entry() -> None:
    """The ``abm`` console script: ``main``, then an exit that skips tearing the heap down.

    At exit the interpreter frees every object one by one (a 20 k-company run holds ~1.9 GB of
    frames, dictionaries and caches): ~0.1 s of CPU on a 750-company run, more on a larger one, for
    memory the kernel takes back at once. The exit code, the atexit handlers (worker pools,
    temporary directories' finalizers, logging) and the flushed streams are as at a normal exit;
    with another Python thread still alive the normal exit runs (it waits for that thread).
    """
    _batch_gc()
    try:
        main()
        code: str | int | None = 0
    except SystemExit as exc:
        code = exc.code
    if threading.active_count() > 1:
        sys.exit(code)
    status = _exit_status(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said there
            pass
    os._exit(status)


#: the cyclic garbage collector's thresholds for a run (Python's: 700, 10, 10). A run allocates
#: millions of short-lived containers (imports, per-value dictionaries) that reference counting frees;
#: at 700 the collector ran ~700 times in a 20 k-company run for 0.25 s of CPU, finding almost nothing.
#: At 50,000 it runs a few times (0.08 s), and peak RSS was unchanged (1.90 -> 1.87 GB).
BATCH_GC_THRESHOLDS = (50_000, 20, 10)


def _batch_gc() -> None:
    gc.set_threshold(*BATCH_GC_THRESHOLDS)


def _exit_status(code: str | int | None) -> int:
    """What ``sys.exit(code)`` makes the process status: None 0, an int itself, else printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    click.echo(code, err=True)
    return 1


if __name__ == "__main__":  # pragma: no cover
    entry()
