"""Long work reports its progress to whoever listens (the terminal's bars); a display that fails never fails
the work, and without a listener reporting costs nothing."""

from __future__ import annotations

import io

import pytest

from rich.console import Console

from aigc_workflow import progress
from aigc_workflow.cli import progress as terminal


def test_listeners_hear_reports_only_inside_their_block() -> None:
    heard: list[tuple[str, int, int]] = []
    progress.report("drafts", 0, 4)
    with progress.listening(lambda *event: heard.append(event)):
        progress.report("drafts", 2, 4)
        progress.report("scores", 11, 44)
    progress.report("drafts", 4, 4)
    assert heard == [("drafts", 2, 4), ("scores", 11, 44)]


def test_a_failing_display_does_not_fail_the_work() -> None:
    def broken(stage: str, done: int, total: int) -> None:
        raise RuntimeError("terminal went away")

    with progress.listening(broken):
        progress.report("drafts", 1, 2)  # no exception


def test_the_terminal_shows_one_bar_per_stage_with_counts_within_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(terminal, "Console", lambda stderr: Console(file=screen, width=80, force_terminal=False))
    with terminal.progress_bars():
        progress.report("drafts", 3, 6)
        progress.report("drafts", 6, 6)
        progress.report("scores", 66, 66)
    lines = [line for line in screen.getvalue().splitlines() if line.strip()]
    assert any(line.startswith("drafts") and "6/6" in line for line in lines)
    assert any(line.startswith("scores") and "66/66" in line for line in lines)
    assert all(len(line) <= 80 for line in lines)


def test_bars_can_be_switched_off_for_json_output(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(terminal, "Console", lambda stderr: Console(file=screen, width=80, force_terminal=False))
    heard: list[tuple[str, int, int]] = []
    with progress.listening(lambda *event: heard.append(event)), terminal.progress_bars(enabled=False):
        progress.report("drafts", 1, 1)
    assert heard == [("drafts", 1, 1)] and screen.getvalue() == ""  # reported, but no bar drawn
