"""A run's generation progress bar: one Prefect progress artifact, advanced by the tasks that make the drafts."""

from __future__ import annotations

import threading
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact

# Every update is an API round trip (~30 ms): steps of 10 points move the bar just as well.
STEP = 10.0

_bars: dict[UUID, ProgressBar] = {}
_bars_lock = threading.Lock()


class ProgressBar:
    """Counts finished drafts out of a total; safe to advance from the task threads of this process."""

    def __init__(self, key: str, total: int, description: str) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.reported = 0.0
        self._lock = threading.Lock()
        self.id = create_progress_artifact(progress=0.0, key=key, description=description)
        with _bars_lock:
            _bars[self.id] = self

    def advance(self, count: int) -> None:
        with self._lock:
            self.done += count
            percent = min(100.0, 100.0 * self.done / self.total)
            if percent - self.reported < STEP and self.done < self.total:
                return
            self.reported = percent
        update_progress_artifact(self.id, progress=percent)

    def finish(self) -> None:
        """Show 100 % (a batch with nothing to draft never advanced) and forget the bar."""
        with _bars_lock:
            _bars.pop(self.id, None)
        if self.reported < 100.0:
            self.reported = 100.0
            update_progress_artifact(self.id, progress=100.0)


def advance(bar_id: UUID | None, count: int) -> None:
    """Advance the bar with this id if it lives in this process (thread runner); elsewhere (Ray) a no-op."""
    with _bars_lock:
        bar = _bars.get(bar_id) if bar_id is not None else None
    if bar is not None:
        bar.advance(count)
