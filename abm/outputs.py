"""Writing a run's output files at the same time: the writers are independent once the tables exist.

Parquet, the DuckDB database, the CSV files, the graph files, report.html and report.xlsx each read
the finished tables and write their own files into the staging directory, so they run in one thread
each and the outputs take about as long as the longest writer, not the sum. The overlap is real on
two cores because most of the work releases the GIL: polars and DuckDB run natively, the graph
files are written by forked workers (``abm.normalize.unique.map_values``); the pure-Python writers
(the report's JSON, the xlsx cells) share the GIL with each other, as they did one after another.

Errors: every writer runs to its end (none is abandoned half-way in the staging directory), then the
first failure in job order is raised as it was raised (an ``AbmError`` reaches the CLI unchanged);
the staging directory is then discarded as for any failed run (``abm.publish``).

Timings (run.json): each job's ``timings_s`` is its own wall time from the common start to its end
(overlapping the others, so the jobs' times add up to more than the block's); ``cpu_s_by_stage`` of
a job is the CPU time of its own thread (``time.thread_time``: the native worker threads of polars
and DuckDB are not in it); the whole block is the stage ``outputs``, its wall time and the CPU time
of the process (and its children) while it ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass


@dataclass(frozen=True)
class JobTime:
    wall: float   # seconds from the block's start to the job's end
    cpu: float    # CPU seconds of the job's thread


def run_concurrently(jobs: Mapping[str, Callable[[], object]]) -> dict[str, JobTime]:
    """Run every job in a thread of its own and wait for all of them; returns each job's times.
    The first job (in ``jobs`` order) that raised re-raises its exception once all have ended."""
    start = time.perf_counter()
    times: dict[str, JobTime] = {}

    def timed(name: str, job: Callable[[], object]) -> None:
        cpu = time.thread_time()
        try:
            job()
        finally:
            times[name] = JobTime(round(time.perf_counter() - start, 3), round(time.thread_time() - cpu, 3))

    if len(jobs) <= 1:   # nothing to overlap
        for name, job in jobs.items():
            timed(name, job)
        return times
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="abm-output") as pool:
        futures = [pool.submit(timed, name, job) for name, job in jobs.items()]
        wait(futures)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return times
