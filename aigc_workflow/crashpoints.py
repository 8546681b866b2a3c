"""A test-only hook: stop at a named point so crash tests can SIGKILL the process there; inert unless set."""

from __future__ import annotations

import os
import sys
import time

PAUSE_ENV = "AIGC_TEST_PAUSE_AT"


def pause_for_crash_test(point: str) -> None:
    """With AIGC_TEST_PAUSE_AT=<point>, print a marker to stderr and sleep (AIGC_TEST_PAUSE_S, default 600 s).

    Unset, which it always is outside tests/e2e/test_crash_resume.py, it does nothing. Points:
    `publish`: the second publication's files are written and its row is not yet committed;
    `train`: supervised training has run and the adapter is not yet saved or registered.
    """
    if point in os.environ.get(PAUSE_ENV, "").split(","):
        # Written, not printed: inside a flow run Prefect turns print() into a log line (log_prints), which the
        # terminal no longer shows below WARNING.
        sys.stderr.write(f"aigc-test-paused-at:{point}\n")
        sys.stderr.flush()
        time.sleep(float(os.environ.get("AIGC_TEST_PAUSE_S", "600")))
