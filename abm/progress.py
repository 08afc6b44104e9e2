"""The progress display of ``abm run`` on a terminal: the current stage, a spinner, elapsed time.

Shown only when stderr is a terminal and ``-q`` was not given; it writes to stderr and disappears
when the run ends (the closing summary goes to stdout).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def stage_progress(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """Yield a callback ``on_stage(name)`` for ``abm.pipeline.run``, or None when not shown."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("abm run: {task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def on_stage(name: str) -> None:
            bar.update(task, description=name)

        yield on_stage
