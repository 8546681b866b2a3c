"""Model-test fixtures: the bundled text model converted once per session, shared by per-test AIGC homes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def converted_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the safetensors copy of the bundled SmolLM2 (the ~25 s conversion runs once)."""
    from aigc_workflow.models.convert import ensure_bundled_text_model
    from aigc_workflow.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("model-cache"))
    started = time.perf_counter()
    ensure_bundled_text_model(settings, "smollm2-135m-instruct")
    print(f"\n[models] bundled GGUF converted to safetensors in {time.perf_counter() - started:.1f} s")
    return settings.models_dir


@pytest.fixture
def model_settings(tmp_path: Path, converted_models_dir: Path):  # type: ignore[no-untyped-def]
    """Settings on a fresh home whose models/ points at the session's converted cache; CPU, short drafts."""
    from aigc_workflow.settings import Settings

    return Settings(
        home=tmp_path / "home",
        model_cache=converted_models_dir,
        device="cpu",
        generation={"max_new_tokens": 24, "temperature": 0.8, "top_p": 0.95, "batch_size": 8},
    )
