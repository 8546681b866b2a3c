"""Models loaded once per worker process and reused by every task that runs there."""

from __future__ import annotations

import threading
from typing import Any

from aigc_workflow.generation.base import Generator
from aigc_workflow.scoring.base import Scorer, create_scorer
from aigc_workflow.settings import Settings

_lock = threading.Lock()
_cache: dict[tuple[str, ...], Any] = {}


def _key(kind: str, name: str, settings: Settings) -> tuple[str, ...]:
    # Settings that shape a model are part of the key, so a changed config loads a fresh one.
    return (kind, name, settings.model_dump_json(exclude={"gate", "channel_gates", "api_token"}))


def get_generator(modality: str, settings: Settings, *, spec: str | None = None, registered: Any = None) -> Generator:
    """The loaded generator for a modality and model spec, created on first use in this process."""
    from aigc_workflow.generation import create_generator

    if spec is None and modality == "text":
        spec = settings.text_model
    key = _key("generator", f"{modality}:{spec}:{getattr(registered, 'name', None)}", settings)
    with _lock:
        if key not in _cache:
            if spec and spec.startswith("fake:"):
                # Constant-time fakes for flow tests and orchestration benchmarks; never a default.
                from aigc_workflow.testing import fake_generator

                generator = fake_generator(spec)
            else:
                generator = create_generator(modality, settings, spec=spec, registered=registered)
            generator.load()
            _cache[key] = generator
        return _cache[key]


def get_scorers(names: list[str], settings: Settings) -> list[Scorer]:
    """Scorers by name, created once per process; loading happens inside score_safely so a failure holds."""
    scorers = []
    with _lock:
        for name in names:
            key = _key("scorer", name, settings)
            if key not in _cache:
                _cache[key] = create_scorer(name, settings)
            scorers.append(_cache[key])
    return scorers


def clear() -> None:
    with _lock:
        _cache.clear()
