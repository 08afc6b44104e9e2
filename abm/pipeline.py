"""The one place that knows the stage order.

load → normalize → resolve (block → compare → score → cluster, for accounts then persons) →
graph → detect (touches, collisions, gaps) → export/report. Each stage is timed; outputs are
written to a staging directory and swapped in only when all of them are written.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from abm import __version__
from abm.activities import pipeline as bulk_activities
from abm.activities.bulk import ActivityStore
from abm.contract import CONTRACT_VERSION
from abm.detect.collisions import detect_collisions
from abm.detect.crm_duplicates import crm_duplicates
from abm.detect.current import current_persons
from abm.detect.data_quality import contacts_on_other_companies, data_quality_table, link_conflicts
from abm.detect.flags import track_flags
from abm.detect.gaps import detect_gaps
from abm.detect.policy import SEVERITY_RANK, detect_policy
from abm.detect.quality import data_quality, detach_other_account_contacts
from abm.detect.touches import TOUCH_KINDS, build_touches, counterparts
from abm.explain import write_evidence
from abm.export import DatabaseWriter, export_lanes, write_json
from abm.graph import committee_edges, resolve_departments, write_graphs
from abm.history import id_history
from abm.linkage.reuse import PairStore
from abm.linkage.spec import linkage_specs
from abm.load import Loaded, load_inputs
from abm.load.night import check_night
from abm.normalize.departments import department_rules
from abm.normalize.rows import RowStore
from abm.normalize.text import text_rules
from abm.normalize.unique import fingerprint, one_blas_thread, value_cache
from abm.outputs import Ahead, JobTime, Lane, run_concurrently
from abm.overrides import load_overrides, overrides_path
from abm.publish import publication
from abm.registry.accounts import enrich_accounts
from abm.registry.link import must_links, registry_counts, registry_specs, with_anchors
from abm.registry.match import anchor_records
from abm.registry.store import Registry, open_registry
from abm.report.html import write_report
from abm.report.xlsx import write_xlsx
from abm.resolve import Resolution, resolve
from abm.rules import DEFAULT_RULES_DIR, load_rules
from abm.runs import runs_table
from abm.settings import Settings
from abm.tables import accounts_table, records_table

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RunResult:
    out_dir: Path
    as_of: date
    counts: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    incremental: dict[str, Any] = field(default_factory=dict)   # run.json's "incremental" (abm.linkage.reuse)


class _Timer:
    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.timings: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}   # peak RSS of the process by the end of each stage
        self.cpu: dict[str, float] = {}       # user + system seconds of each stage (its worker processes too)
        self.on_stage = on_stage
        self.jobs: dict[str, JobTime] = {}   # jobs run side by side (overlapped)

    def __call__(self, stage: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.on_stage is not None:
            self.on_stage(stage)
        start, cpu = time.perf_counter(), _cpu_seconds()
        result = fn(*args, **kwargs)
        self.timings[stage] = round(time.perf_counter() - start, 3)
        self.cpu[stage] = round(_cpu_seconds() - cpu, 3)
        self.peak_mb[stage] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        log.info("stage %s: %.2fs", stage, self.timings[stage])
        return result

    def overlapped(self, stage: str, lanes: list[Lane]) -> None:
        """``lanes`` side by side (abm.outputs): ``stage`` is the whole block; each job is timed from the
        block's start to its own end, its CPU time is that of its thread. ``export`` is the last end
        of the ``export_*`` jobs (Parquet, DuckDB, CSV)."""
        self(stage, lambda: self.jobs.update(run_concurrently(lanes)))
        for name, took in self.jobs.items():
            self.timings[name], self.cpu[name], self.peak_mb[name] = took.wall, took.cpu, self.peak_mb[stage]
        exports = [self.jobs[n].wall for n in self.jobs if n.startswith("export_")]
        if exports:
            self.timings["export"] = max(exports)

    def ahead(self, jobs: dict[str, JobTime]) -> None:
        """The writers run before the outputs block (abm.outputs.Ahead): each its own wall and CPU time."""
        for name, took in jobs.items():
            self.timings[name], self.cpu[name] = took.wall, took.cpu


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def default_as_of(records: pl.DataFrame, also: date | None = None) -> date:
    """The latest touch date in the data: only records that make touches count (an MA lead's
    created_on is not a touch, nor is a card whose owner is unknown), and a future close_on does not.
    ``also``: the latest touch of rows kept apart (bulk MA activities, ``abm.activities``)."""
    touching = (records.select("kind", "makes_touch", "record_date", "last_activity_on")   # not the wide table
                .filter(pl.col("kind").is_in(TOUCH_KINDS) & pl.col("makes_touch").fill_null(True)))
    latest = touching.select(pl.max_horizontal(pl.col("record_date").max(), pl.col("last_activity_on").max())).item()
    latest = max((d for d in (latest, also) if d is not None), default=None)
    today = datetime.now(UTC).date()
    return min(latest, today) if latest is not None else today  # never past the run date


def _versions() -> dict[str, str]:
    names = ["polars", "duckdb", "rapidfuzz", "networkx", "recordlinkage", "neologdn", "jntajis-python",
             "pykakasi", "phonenumbers"]
    out = {"abm": __version__, "contract": CONTRACT_VERSION, "python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def run(settings: Settings, on_stage: Callable[[str], None] | None = None) -> RunResult:
    """Run every stage on ``settings.input_dir`` and publish the outputs to ``settings.out_dir``.
    ``on_stage(name)`` is called as each stage starts (the CLI's progress display).

    OUT_DIR is checked and locked before any work (``abm.publish``); it changes only on success, and
    so does the store of comparisons the next run reuses (``abm.linkage.reuse``)."""
    store = PairStore.beside(settings.out_dir, enabled=settings.value_cache, full=settings.full)
    rows = RowStore.beside(settings.out_dir, enabled=settings.value_cache, full=settings.full)
    try:
        with publication(settings.out_dir, settings.input_dir, settings.rules_dir or DEFAULT_RULES_DIR) as stage, \
                Ahead() as ahead:   # writers started before the outputs block end before publishing
            result = _run(settings, stage, on_stage, store, rows, ahead)
    except BaseException:
        store.discard()
        rows.discard()
        raise
    finally:
        bulk_activities.cleanup(settings.out_dir)
    store.commit()
    rows.commit()
    return result


def _run(settings: Settings, stage: Path, on_stage: Callable[[str], None] | None, store: PairStore,
         rows: RowStore, ahead: Ahead) -> RunResult:
    started = datetime.now(UTC)
    timer = _Timer(on_stage)
    rules = timer("rules", load_rules, settings.rules_dir)
    rules_fingerprint = fingerprint(rules.root)
    store.open(rules_fingerprint)   # the stores are read in threads from here, beside the input's load
    rows.open(rules_fingerprint)
    loaded = timer("load", load_inputs, settings.input_dir, rules)
    check_night(loaded, settings.input_dir, settings.out_dir)  # a failed export keeps yesterday's outputs
    registry = timer("registry", open_registry, settings.registry, settings.registry_cache, rules) \
        if settings.registry else None
    overrides = load_overrides(overrides_path(settings.input_dir, settings.overrides))
    # expensive per-value results (readings, romaji, name parts) kept beside OUT_DIR across runs
    cache = settings.out_dir.with_name(f".{settings.out_dir.name}.cache") if settings.value_cache else None
    # --full: no cache is read (a night at a first run's cost); every one is written for the next night
    # per-value numpy work: no BLAS threads
    with value_cache(cache, rules_fingerprint, read=not settings.full), one_blas_thread():
        records = timer("normalize", rows.normalize, loaded.tables, rules)  # only new and changed rows
        bulk = timer("activities", bulk_activities.load, loaded, rules, settings.out_dir) if loaded.bulk else None
    records = bulk.drop_rejected(records) if bulk else records
    as_of = settings.as_of or default_as_of(records, bulk_activities.latest_touch(bulk) if bulk else None)
    anchors = timer("registry_match", anchor_records, records, registry, rules) if registry else None
    records = with_anchors(records, anchors)
    specs = registry_specs(rules.view(linkage_specs)) if registry else rules.view(linkage_specs)
    with value_cache(cache, rules_fingerprint, read=not settings.full):   # name readings, once per name
        resolution = timer("resolve", resolve, records, specs, must_links(records) if registry else None, overrides,
                           rules.view(text_rules).romaji_folds, store=store)
    store.write_behind()   # the next run's comparison stores, written in a thread beside the later stages
    # what needs resolve alone is written beside the post-resolve stages (abm.outputs.Ahead): the linkage
    # evidence, then each large table's part of abm.duckdb as soon as the table is final
    database = ahead.closing(DatabaseWriter(stage / "abm.duckdb"))
    early: set[str] = set()

    def final(name: str, table: pl.DataFrame) -> None:
        early.add(name)
        ahead.submit(f"duckdb_{name}", lambda: database.add({name: table}))

    incremental = store.summary() | {"normalize": rows.summary()}
    log.info("%s run: %s (%d pairs' comparisons reused, %d compared)", incremental["mode"], incremental["reason"],
             incremental["pairs_reused"], incremental["pairs_compared"])  # a forced full run warned already
    # what the run reports of the input tables, the normalised records and the linkage units, read now:
    # none of them is held through the later stages (1 M records: ≈ 0.2 + 0.35 + 0.6 GB)
    read_early = _record_counts(loaded, records)
    linkage = {"accounts": resolution.accounts.summary(), "persons": resolution.persons.summary()}
    normalized = records if settings.keep_intermediate else None
    del records
    loaded = dataclasses.replace(loaded, tables={})
    resolved = timer("departments", resolve_departments, resolution.records, rules.view(department_rules))
    resolution = _released(resolution)
    # its arguments bound now (a lambda would read `resolution` whenever the thread gets to it)
    ahead.submit("evidence", functools.partial(write_evidence, stage, resolution.accounts, resolution.persons,
                                               anchors, resolution.moves))
    record_findings = timer("quality", data_quality, resolved)
    resolved = detach_other_account_contacts(resolved, record_findings)  # no touch across accounts
    records_out = records_table(resolved)
    final("records", records_out)
    policy = rules.view(detect_policy)
    # each record's counterpart person and department: read by touches, persons and gaps, computed once
    about = timer("counterparts", counterparts, resolved)
    touches = timer("touches", build_touches, resolved, as_of, about)
    final("touches", touches)
    if bulk:
        timer("activity_touches", bulk_activities.attach, bulk, resolved, as_of)
    persons = timer("persons", current_persons, resolved, as_of, *bulk_activities.known_part(bulk), about=about)
    final("persons", persons)
    edges = timer("graph", committee_edges, resolved, persons, touches, *bulk_activities.graph_part(bulk))
    final("committee_edges", edges)
    windowed = bulk_activities.with_window(touches, bulk, policy, as_of)
    collisions = timer("collisions", detect_collisions, windowed, resolved, policy, as_of, persons)
    gaps = timer("gaps", detect_gaps, windowed, persons, resolved, policy, as_of, *bulk_activities.about_part(bulk),
                 about=about)
    del windowed, about
    history = id_history(settings.out_dir, records_out, started, *bulk_activities.history_part(bulk))
    flags = timer("flags", track_flags, settings.out_dir, collisions, gaps, as_of, started, history)
    collisions, gaps = flags.collisions, flags.gaps
    accounts = timer("accounts", _accounts, resolved, bulk, registry)   # the accounts table inside the stage's time
    duplicates = timer("crm_duplicates", crm_duplicates, resolved)
    quality = timer("data_quality", _quality, record_findings, resolved, resolution)

    tables = {
        "records": records_out, "accounts": accounts, "persons": persons, "touches": touches,
        "committee_edges": edges, "collisions": collisions, "key_person_gaps": gaps,
        "quarantine": bulk_activities.quarantine(loaded.quarantine, bulk), "id_history": history, "flag_history": flags.history,
        "overrides": resolution.overrides,
        "crm_duplicates": duplicates, "data_quality": quality,
    }
    del resolved   # the outputs read the tables: the wide records' other columns are freed
    counts: dict[str, Any] = {name: df.height for name, df in tables.items()}
    counts["input_rows"] = read_early["input_rows"]
    counts["resolution"] = resolution.counts
    counts |= read_early   # corporate_numbers_invalid, rows_without_touch_owner after it, as before
    counts["collisions_by_level"] = _value_counts(collisions, "level")
    counts["gaps_by_type"] = _value_counts(gaps, "gap_type")
    counts["data_quality_by_finding"] = _value_counts(quality, "finding")
    bulk_activities.add_counts(counts, bulk)
    counts["critical_collisions"] = int((collisions.get_column("severity") == "critical").sum())
    counts["flags"] = flags.counts
    tables["runs"] = runs_table(settings.out_dir, started, as_of, counts, __version__)
    if registry is not None and anchors is not None:
        counts["registry"] = registry_counts(anchors, accounts)

    urgent = _most_urgent_accounts(collisions, gaps, settings.graph_files)

    def last_part() -> None:   # abm.duckdb's other tables, once the parts written ahead are in
        ahead.settle()
        database.finish({name: df for name, df in tables.items() if name not in early})

    # the writers are independent of each other: they run side by side (abm.outputs), the reports
    # (Python work that holds the GIL) in one lane
    timer.overlapped("outputs", [
        {"xlsx": lambda: write_xlsx(stage / "report.xlsx", tables),
         "report": lambda: write_report(stage / "report.html", tables, as_of, counts, settings.report_lang)},
        *export_lanes(stage, tables, database=last_part),
        # per-account graph files for the accounts that need attention most; any other account's
        # graph is one call away from committee_edges (abm.graph.account_graph)
        {"graphs": lambda: write_graphs(edges, stage / "graphs", urgent)},
    ])
    timer.ahead(ahead.times)
    if bulk:  # records and touches get the bulk activity rows from DuckDB (abm.activities)
        timer("activity_export", bulk_activities.export, bulk, stage)
        bulk.close()
    if normalized is not None:   # --keep-intermediate
        (stage / "stages").mkdir()
        normalized.write_parquet(stage / "stages" / "records_normalized.parquet")
        resolution.accounts.pairs.write_parquet(stage / "stages" / "account_pairs.parquet")
        resolution.persons.pairs.write_parquet(stage / "stages" / "person_pairs.parquet")
    write_json(stage / "run.json", {
        "abm_version": __version__,
        "contract_version": CONTRACT_VERSION,
        "run_at": started.isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "as_of_source": "option" if settings.as_of else "latest touch date in the data",
        "input_dir": str(settings.input_dir),
        "rules_dir": str(rules.root),
        "counts": counts,
        "files": loaded.file_stats(),
        "linkage": {
            "accounts": linkage["accounts"]
            | {"threshold": rules.view(linkage_specs).accounts.threshold},
            "persons": linkage["persons"]
            | {"threshold": rules.view(linkage_specs).persons.threshold},
        },
        "overrides": resolution.overrides.filter(pl.col("status") != "applied").to_dicts(),
        "incremental": incremental,
        "registry": {"cache": str(registry.root), **registry.manifest} if registry else None,
        "timings_s": timer.timings,
        "peak_rss_mb_by_stage": timer.peak_mb,
        "cpu_s_by_stage": timer.cpu,
        "versions": _versions(),
    })
    return RunResult(out_dir=settings.out_dir, as_of=as_of, counts=counts, timings=timer.timings,
                     incremental=incremental)


def _record_counts(loaded: Loaded, records: pl.DataFrame) -> dict[str, Any]:
    """run.json's counts of the input rows and of the normalised records."""
    return {"input_rows": sum(df.height for df in loaded.tables.values()) + loaded.quarantine.height,
            "corporate_numbers_invalid": int(records.get_column("corporate_number_invalid").fill_null(False).sum()),
            "rows_without_touch_owner": int((~records.get_column("makes_touch").fill_null(True)).sum())}


def _accounts(resolved: pl.DataFrame, bulk: ActivityStore | None, registry: Registry | None) -> pl.DataFrame:
    return enrich_accounts(bulk_activities.adjust_accounts(accounts_table(resolved), bulk), resolved, registry)


def _quality(record_findings: pl.DataFrame, resolved: pl.DataFrame, resolution: Resolution) -> pl.DataFrame:
    return data_quality_table(record_findings, link_conflicts(resolved, resolution.accounts, resolution.persons),
                              contacts_on_other_companies(resolved))


def _released(resolution: Resolution) -> Resolution:
    """``resolution`` without what no later stage reads: its records (the departments stage has made its
    own from them) and both linkages' units (their summaries are taken before). Held to the end, they
    were ≈ 1 GB of the 1 M-record run's peak, in the outputs."""
    return dataclasses.replace(
        resolution, records=resolution.records.clear(),
        accounts=dataclasses.replace(resolution.accounts, units=resolution.accounts.units.clear()),
        persons=dataclasses.replace(resolution.persons, units=resolution.persons.units.clear()))


def _most_urgent_accounts(collisions: pl.DataFrame, gaps: pl.DataFrame, limit: int) -> list[str]:
    """Accounts with a flag, most severe collision first (then gaps), at most ``limit``."""
    ranked = pl.concat([
        collisions.select("account_id", pl.col("severity").replace_strict(SEVERITY_RANK, default=len(SEVERITY_RANK),
                                                                           return_dtype=pl.Int32).alias("rank")),
        gaps.select("account_id", pl.lit(5, dtype=pl.Int32).alias("rank")),
    ]).group_by("account_id").agg(pl.col("rank").min()).sort("rank", "account_id")
    return ranked.head(max(limit, 0)).get_column("account_id").sort().to_list()


def _value_counts(df: pl.DataFrame, column: str) -> dict[str, int]:
    if df.height == 0 or column not in df.columns:
        return {}
    return {str(k): int(v) for k, v in df.group_by(column).len().sort(column).iter_rows()}
