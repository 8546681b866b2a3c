"""When models may only be loaded while holding the global GPU slot."""

from __future__ import annotations

from pathlib import Path

from aigc_workflow.settings import Settings
from aigc_workflow.workers import needs_gpu_slot


def test_a_cuda_run_with_a_limit_takes_the_slot_before_loading(tmp_path: Path) -> None:
    assert needs_gpu_slot(Settings(home=tmp_path, device="cuda"))


def test_cpu_runs_and_runs_without_a_limit_load_freely(tmp_path: Path) -> None:
    assert not needs_gpu_slot(Settings(home=tmp_path, device="cpu"))
    assert not needs_gpu_slot(Settings(home=tmp_path, device="cuda", gpu_concurrency_limit=None))
