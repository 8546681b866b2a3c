"""Model files are loaded as data: a checkpoint that would run code when unpickled is refused, not run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


class _Payload:
    """Unpickling this calls os.system: what a booby-trapped checkpoint does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_with_a_code_running_pickle_is_refused_as_unavailable(tmp_path: Path) -> None:
    import torch

    from aigc_workflow.scoring.base import ModelUnavailable
    from aigc_workflow.scoring.toxicity import _torch_load

    marker = tmp_path / "pwned"
    checkpoint = tmp_path / "evil.ckpt"
    torch.save({"config": {}, "state_dict": {}, "extra": _Payload(marker)}, checkpoint)
    with pytest.raises(ModelUnavailable, match="will not unpickle"):
        _torch_load(checkpoint)
    assert not marker.exists(), "loading the checkpoint ran its code"


def test_a_plain_checkpoint_loads(tmp_path: Path) -> None:
    import torch

    from aigc_workflow.scoring.toxicity import _torch_load

    checkpoint = tmp_path / "plain.ckpt"
    torch.save({"config": {"arch": {"args": {}}}, "state_dict": {"w": torch.ones(2)}}, checkpoint)
    assert torch.equal(_torch_load(checkpoint)["state_dict"]["w"], torch.ones(2))
