"""Model-test fixtures: the bundled text model converted once per session, shared by per-test AIGC homes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def converted_models_dir(model_cache: Path) -> Path:
    """The session's models folder: SmolLM2 as safetensors and the default writer's joined GGUF."""
    return model_cache


@pytest.fixture
def model_settings(tmp_path: Path, converted_models_dir: Path):  # type: ignore[no-untyped-def]
    """SmolLM2 (the small, fast writer) on a fresh home sharing the session's model cache; CPU, short drafts."""
    from aigc_workflow.settings import Settings

    return Settings(
        home=tmp_path / "home",
        model_cache=converted_models_dir,
        device="cpu",
        text_model="bundled:smollm2-135m-instruct",
        generation={"max_new_tokens": 24, "temperature": 0.8, "top_p": 0.95, "batch_size": 8},
    )


@pytest.fixture(scope="module")
def default_writer_settings(tmp_path_factory: pytest.TempPathFactory, converted_models_dir: Path):  # type: ignore[no-untyped-def]
    """The default settings (the bundled Qwen writer on llama.cpp) on a fresh home sharing the model cache."""
    from aigc_workflow.settings import Settings

    return Settings(home=tmp_path_factory.mktemp("writer-home"), model_cache=converted_models_dir, device="cpu")
