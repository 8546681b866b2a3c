"""The terminal's progress bars: one rich bar per stage of the work (drafts, scores, training steps)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from aigc_workflow.progress import listening


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[None]:
    """Show a bar per stage reported inside the block, on stderr (stdout stays for the summary or --json).

    A line fits 80 columns: the stage, the bar, done/total, time spent and time left.
    """
    if not enabled:
        yield
        return
    bars = Progress(
        TextColumn("{task.description:<24}"), BarColumn(bar_width=20), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
        console=Console(stderr=True), redirect_stdout=False, redirect_stderr=False,
    )
    tasks: dict[str, TaskID] = {}

    def show(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars, listening(show):
        yield
