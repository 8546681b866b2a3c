"""Models loaded once per worker process and reused by every task that runs there."""

from __future__ import annotations

import logging
import threading
from typing import Any

from aigc_workflow.generation.base import Generator
from aigc_workflow.scoring.base import Scorer, create_scorer
from aigc_workflow.settings import Settings

log = logging.getLogger(__name__)
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


def needs_gpu_slot(settings: Settings) -> bool:
    """Whether models may only be loaded while holding the global GPU slot (flows.runtime.gpu_phase)."""
    if not settings.gpu_concurrency_limit or settings.device == "cpu":
        return False
    import torch

    return settings.device == "cuda" or torch.cuda.is_available()


def warm_up_text_in_background(settings: Settings, explicit_spec: str | None = None) -> threading.Thread:
    """Load the batch's text generator and text scorers in a daemon thread, in this process.

    `aigc run` calls this before importing Prefect and starting its temporary server, so the model loads
    (importing torch and transformers is most of it) overlap with that start instead of following it.
    The flow's tasks then find the models in this cache (the lock makes them wait if loading is still
    under way). A failure here is only logged: the task that needs the model meets it again and
    reports it the usual way.
    """

    def load() -> None:
        from aigc_workflow import batch

        try:
            choice = batch.text_model_choice(settings, explicit_spec)
            get_generator("text", settings, spec=choice.spec, registered=choice.registered)
        except Exception:  # noqa: BLE001 - the flow reports it; this is only a head start
            log.debug("warm-up of the text generator failed; the flow will meet it again", exc_info=True)
        try:
            scorers = get_scorers(settings.text_scorers, settings)
        except Exception:  # noqa: BLE001 - an unknown scorer name is the flow's to report
            return
        for scorer in scorers:
            try:
                scorer.load()
            except Exception:  # noqa: BLE001 - a scorer without its model holds drafts in the flow
                log.debug("warm-up of scorer %s failed", getattr(scorer, "name", scorer), exc_info=True)

    thread = threading.Thread(target=load, name="aigc-warm-up", daemon=True)
    thread.start()
    return thread


def clear() -> None:
    with _lock:
        _cache.clear()
