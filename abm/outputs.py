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

Ahead of the block (``Ahead``): writers whose tables are final before the last post-resolve stage
(the evidence files after resolve, the large tables' part of abm.duckdb) start in one more thread as
soon as their tables exist, and run beside the post-resolve stages, which leave part of the second
core idle; the block then has less to do. Their ``timings_s`` is their own wall time (from their own
start), their ``cpu_s_by_stage`` the CPU time of their thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar


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


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class Ahead:
    """Writers started before the outputs block: one thread runs them in the order submitted (a
    failed job skips the ones after it, as in a lane). ``settle`` waits for them and raises the first
    failure; leaving the ``with`` block settles them too (without raising when the block itself
    failed: its error is the one to report), then closes what ``closing`` was given — so nothing
    still writes into the staging directory when the run publishes or discards it (abm.publish)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: list[Future[None]] = []
        self._closables: list[_Closable] = []
        self._failed = False
        self.times: dict[str, JobTime] = {}

    def submit(self, name: str, job: Callable[[], object]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="abm-ahead")
        self._jobs.append(self._pool.submit(self._run, name, job))

    def closing(self, thing: C) -> C:
        """``thing`` is closed once the jobs have ended (its use by a job ends first)."""
        self._closables.append(thing)
        return thing

    def settle(self) -> None:
        """Wait for every job submitted; the first failure (in submission order) is raised."""
        wait(self._jobs)
        for future in self._jobs:
            error = future.exception()
            if error is not None:
                raise error

    def _run(self, name: str, job: Callable[[], object]) -> None:
        if self._failed:
            return
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            job()
        except BaseException:
            self._failed = True
            raise
        finally:
            self.times[name] = JobTime(round(time.perf_counter() - start, 3), round(time.thread_time() - cpu, 3))

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if error is None:
                self.settle()
            else:
                wait(self._jobs)
        finally:
            if self._pool is not None:
                self._pool.shutdown()
            for thing in self._closables:
                thing.close()
