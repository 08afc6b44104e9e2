"""Command line: parse options, call one library function, turn AbmError into a clear message.

Exit codes: 0 success; 1 other abm error; 2 unusable input; 3 invalid rules; 4 unusable truth.
"""

from __future__ import annotations

import json
import logging
import sys
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


@click.group()
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
@click.option("--lang", "report_lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True,
              help="Language of report.html's labels.")
@click.option("--registry", "registry", type=click.Path(exists=True, path_type=Path), default=None,
              help="法人番号 registry: a cache from `abm registry import`, or the download (CSV, zip or folder), "
                   "imported into the default cache on first use.")
@click.option("-v", "--verbose", count=True, help="Log stage progress (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def run(input_dir: Path, out_dir: Path, rules_dir: Path | None, as_of: object, keep_intermediate: bool,
        graph_files: int, report_lang: str, registry: Path | None, verbose: int, quiet: bool) -> None:
    """Resolve the exports in INPUT_DIR and write every output to --out."""
    from abm.pipeline import run as run_pipeline
    from abm.progress import stage_progress
    from abm.settings import Settings

    _setup_logging(verbose, quiet)
    day = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]
    settings = Settings(input_dir=input_dir, out_dir=out_dir, rules_dir=rules_dir, as_of=day,
                        keep_intermediate=keep_intermediate, graph_files=graph_files, report_lang=report_lang,
                        registry=registry)
    try:
        with stage_progress(not quiet) as on_stage:
            result = run_pipeline(settings, on_stage)
    except AbmError as exc:
        _fail(exc)
        return
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

    try:
        result = evaluate_run(out_dir, truth_dir)
    except AbmError as exc:
        _fail(exc)
        return
    target = json_path or out_dir / "evaluation.json"
    target.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    click.echo(format_table(result))
    click.echo(f"\nwritten to {target}")


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("subject")
@click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Rules directory the run used (names the comparison levels).")
def explain(out_dir: Path, subject: str, rules_dir: Path | None) -> None:
    """Why SUBJECT is where it is: links, refusals, flags. SUBJECT is a record key, an account, person or
    flag ID, or a company or person name (several matches: lists the candidates with their IDs, exit 0)."""
    from abm.explain import explain as explain_subject
    from abm.linkage.spec import linkage_specs
    from abm.rules import load_rules

    try:
        specs = load_rules(rules_dir).view(linkage_specs)
        names = {
            "account": {c.name: c.level_names() for c in specs.accounts.comparisons},
            "person": {c.name: c.level_names() for c in specs.persons.comparisons},
        }
        click.echo(explain_subject(out_dir, subject, names))
    except AbmError as exc:
        _fail(exc)


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
    try:
        reg = import_registry(source, cache, load_rules(rules_dir))
    except AbmError as exc:
        _fail(exc)
        return
    m = reg.manifest
    click.echo(f"{m['corporations']} corporations ({m['rows']} rows, {m['rejected_rows']} rejected, "
               f"{m['names']} name keys) in {m['built_in_s']} s")
    click.echo(f"cache: {reg.root}  (use it with: abm run INPUT_DIR --registry {reg.root})")


if __name__ == "__main__":  # pragma: no cover
    main()
