"""Generators: turn briefs into draft candidates."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aigc_workflow.generation.base import Generator
    from aigc_workflow.settings import Settings

# name -> "module:Class"; imported only when asked for, so heavy back-ends cost nothing until used. Text has
# two back-ends: "text" (transformers) and "text-llama.cpp"; `text_backend` picks one for a model.
GENERATORS: dict[str, str] = {
    "text": "aigc_workflow.generation.text:TextGenerator",
    "text-llama.cpp": "aigc_workflow.generation.llamacpp:LlamaCppGenerator",
    "image": "aigc_workflow.generation.image:ImageGenerator",
}


def text_backend(settings: Settings, spec: str | None = None, registered: Any = None) -> str:
    """"llama.cpp" or "transformers" for a text model: the setting, or for "auto" what the model drafts best on.

    Bundled GGUF writers run on llama.cpp when drafting on a CPU; on a CUDA GPU, and for hub ids and local
    folders (safetensors), transformers does.
    """
    if settings.text_backend != "auto":
        return settings.text_backend
    from aigc_workflow.models.specs import BUNDLED_TEXT_MODELS, parse_spec

    parsed = parse_spec(spec or settings.text_model)
    if parsed.kind == "registry" and registered is not None:
        parsed = parse_spec(registered.base_spec)
    carrier = BUNDLED_TEXT_MODELS.get(parsed.name) if parsed.kind == "bundled" else None
    if carrier is None or carrier.cpu_backend != "llama.cpp" or _drafts_on_gpu(settings):
        return "transformers"
    return "llama.cpp"


def _drafts_on_gpu(settings: Settings) -> bool:
    if settings.device == "cpu":
        return False
    if settings.device == "cuda":
        return True
    import torch

    return torch.cuda.is_available()


def generator_class(modality: str) -> type[Generator]:
    """The Generator class registered for a modality."""
    try:
        target = GENERATORS[modality]
    except KeyError:
        raise ValueError(f"no generator for modality {modality!r}; known: {', '.join(sorted(GENERATORS))}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_generator(modality: str, settings: Settings, **kwargs: Any) -> Generator:
    """Build (not load) the generator for a modality; kwargs go to its constructor (e.g. spec=, registered=)."""
    if modality == "text" and text_backend(settings, kwargs.get("spec"), kwargs.get("registered")) == "llama.cpp":
        return generator_class("text-llama.cpp")(settings, **kwargs)
    return generator_class(modality)(settings, **kwargs)
