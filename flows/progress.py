"""A run's generation progress bar: one Prefect progress artifact, advanced by the tasks that make the drafts,
and reported to the terminal's bar when the run was started there."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from types import TracebackType
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact

from aigc_workflow import progress

# Every update is an API round trip (~30 ms): steps of 10 points move the bar just as well.
STEP = 10.0

_bars: dict[UUID, ProgressBar] = {}
_bars_lock = threading.Lock()


class ProgressBar:
    """Counts finished drafts out of a total; safe to advance from the task threads of this process.

    Drafts are counted by key, so a retried task that walks its stored chunks again does not count them twice.
    Use it as a context manager: it is reachable by `advance` only inside the `with` block.
    """

    def __init__(self, key: str, total: int, description: str, stage: str = "drafts") -> None:
        self.total = max(total, 1)
        self.stage = stage
        self.sent = 0.0
        self._done: set[Hashable] = set()
        # Held while sending too, so updates reach the server in order and the bar never moves back.
        self._lock = threading.Lock()
        self.id = create_progress_artifact(progress=0.0, key=key, description=description)

    def __enter__(self) -> ProgressBar:
        with _bars_lock:
            _bars[self.id] = self
        progress.report(self.stage, 0, self.total)  # the terminal's bar shows from the start, with its clock
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        with _bars_lock:
            _bars.pop(self.id, None)

    def advance(self, done: Iterable[Hashable]) -> None:
        with self._lock:
            self._done.update(done)
            progress.report(self.stage, len(self._done), self.total)
            percent = min(100.0, 100.0 * len(self._done) / self.total)
            if percent - self.sent >= STEP or (percent == 100.0 and self.sent < 100.0):
                update_progress_artifact(self.id, progress=percent)
                self.sent = percent

    def complete(self) -> None:
        """Show 100 %: every draft is stored (a batch with nothing to draft, or resumed from results)."""
        with self._lock:
            progress.report(self.stage, self.total, self.total)
            if self.sent < 100.0:
                update_progress_artifact(self.id, progress=100.0)
                self.sent = 100.0


def advance(bar_id: UUID | None, done: Iterable[Hashable]) -> None:
    """Advance the bar with this id if it lives in this process (thread runner); elsewhere (Ray) a no-op."""
    with _bars_lock:
        bar = _bars.get(bar_id) if bar_id is not None else None
    if bar is not None:
        bar.advance(done)
