"""Generators: turn briefs into draft candidates."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aigc_workflow.generation.base import Generator
    from aigc_workflow.settings import Settings

# modality -> "module:Class"; imported only when asked for, so heavy back-ends cost nothing until used.
GENERATORS: dict[str, str] = {
    "text": "aigc_workflow.generation.text:TextGenerator",
    "image": "aigc_workflow.generation.image:ImageGenerator",
}


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
    return generator_class(modality)(settings, **kwargs)
