"""Writing a run's output files at the same time: the writers are independent once the tables exist.

Parquet, the DuckDB database, the CSV files, the graph files, report.html and report.xlsx each read
the finished tables and write their own files into the staging directory, so they run side by side
and the outputs take about as long as the longest *lane*, not the sum. A lane is a thread that runs
its jobs one after another: the overlap is real on two cores because most of the work releases the
GIL (polars and DuckDB run natively), and the writers that hold the GIL (the report's JSON and
template, the xlsx sheets) share one lane — two GIL-bound threads would only take turns, and on a
busy machine each hand-over of the GIL waits for the scheduler.

Errors: a failed job ends its lane; every other lane runs to its end (nothing is abandoned half-way
in the staging directory), then the first failure is raised as it was raised (an ``AbmError``
reaches the CLI unchanged); the staging directory is then discarded as for any failed run
(``abm.publish``). Ctrl-C likewise takes effect once the running writers have ended (seconds).

Timings (run.json): each job's ``timings_s`` is its own wall time from the common start to its end
(overlapping the others, so the jobs' times add up to more than the block's); ``cpu_s_by_stage`` of
a job is the CPU time of its own thread (``time.thread_time``: the native worker threads of polars
and DuckDB are not in it); the whole block is the stage ``outputs``, its wall time and the CPU time
of the process (and its children) while it ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass


@dataclass(frozen=True)
class JobTime:
    wall: float   # seconds from the block's start to the job's end
    cpu: float    # CPU seconds of the job's thread


Lane = Mapping[str, Callable[[], object]]


def run_concurrently(lanes: Sequence[Lane]) -> dict[str, JobTime]:
    """Run each lane in a thread of its own (its jobs one after another; a failed job ends its lane)
    and wait for all of them; returns each job's times. The first failure, in the order of the lanes
    and their jobs, is re-raised once every lane has ended."""
    start = time.perf_counter()
    times: dict[str, JobTime] = {}

    def lane_runner(lane: Lane) -> None:
        for name, job in lane.items():
            cpu = time.thread_time()
            try:
                job()
            finally:
                times[name] = JobTime(round(time.perf_counter() - start, 3), round(time.thread_time() - cpu, 3))

    lanes = [lane for lane in lanes if lane]
    if len(lanes) <= 1:   # nothing to overlap
        for lane in lanes:
            lane_runner(lane)
        return times
    with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="abm-output") as pool:
        futures = [pool.submit(lane_runner, lane) for lane in lanes]
        wait(futures)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return times
