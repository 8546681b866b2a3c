"""Progress of long work (drafts, scores, training steps) for whoever shows it: the terminal's bars listen here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# stage, named by its unit ("drafts", "scores", ...), units done, units in all
Listener = Callable[[str, int, int], None]

log = logging.getLogger(__name__)
_listeners: list[Listener] = []
_lock = threading.Lock()


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener` with every report made inside the block, from any thread of this process."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def report(stage: str, done: int, total: int) -> None:
    """Tell the listeners how far a stage is; without listeners (a served run, a Ray worker) a no-op."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(stage, done, total)
        except Exception:  # noqa: BLE001 - a display that fails must never fail the work it shows
            log.debug("progress listener failed", exc_info=True)
