"""The Scorer protocol, its result type, and the registry of scorers by name."""

from __future__ import annotations

import importlib
import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from aigc_workflow.briefs import BriefSpec

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """A scorer's weights are missing; the message says how to provide them."""


@dataclass(frozen=True)
class ScoringItem:
    """One draft to score, with the brief it answers."""

    brief: BriefSpec
    text: str | None = None
    image_path: str | None = None
    draft_id: int | None = None


@dataclass(frozen=True)
class ScoringContext:
    """What a scorer may compare against beyond the items themselves."""

    published_texts: tuple[str, ...] = ()
    published_image_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoreResult:
    """One scorer's measurement of one draft. `value` is None exactly when `error` says why.

    `details["problems"]`, where a scorer gives it, says in plain words what in this draft drives the value
    toward rejection, quoting the draft where it can; the gate puts it in the reason line when a bound is
    crossed. A scorer never sees the bounds (they differ by channel), so a problem states what was measured
    ("similarity 0.21 to the brief ...") and judges ("hateful") only where the scorer itself decides.
    """

    scorer: str
    value: float | None
    model: str
    version: str
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@runtime_checkable
class Scorer(Protocol):
    name: str
    modality: str  # "text" or "image"

    def load(self) -> None:
        """Load weights once; raise ModelUnavailable when they are missing."""

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        """One result per item, same order."""


# Name -> "module:Class". Lazy so that listing scorers imports no model code.
# A new scorer is one module plus one line here; its class takes the Settings.
SCORERS: dict[str, str] = {
    "relevance": "aigc_workflow.scoring.relevance:RelevanceScorer",
    "toxicity": "aigc_workflow.scoring.toxicity:ToxicityScorer",
    "bias": "aigc_workflow.scoring.bias:BiasScorer",
    "implicit_toxicity": "aigc_workflow.scoring.implicit_toxicity:ImplicitToxicityScorer",
    "hate": "aigc_workflow.scoring.hate:HateScorer",
    "language": "aigc_workflow.scoring.language:LanguageScorer",
    "originality": "aigc_workflow.scoring.originality:OriginalityScorer",
    "format": "aigc_workflow.scoring.format:FormatScorer",
    "degeneration": "aigc_workflow.scoring.degeneration:DegenerationScorer",
    "completeness": "aigc_workflow.scoring.completeness:CompletenessScorer",
    "meta_talk": "aigc_workflow.scoring.meta_talk:MetaTalkScorer",
    "groundedness": "aigc_workflow.scoring.groundedness:GroundednessScorer",
    "coverage": "aigc_workflow.scoring.coverage:CoverageScorer",
    "clip": "aigc_workflow.scoring.clip:ClipScorer",
    "nsfw": "aigc_workflow.scoring.nsfw:NsfwScorer",
    "image_originality": "aigc_workflow.scoring.image_originality:ImageOriginalityScorer",
}


def create_scorer(name: str, settings: Settings) -> Scorer:
    try:
        target = SCORERS[name]
    except KeyError:
        raise KeyError(f"unknown scorer {name!r}; known: {', '.join(sorted(SCORERS))}") from None
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(settings)


def image_problem(item: ScoringItem) -> str | None:
    """Why a draft's image cannot be scored (no path, a missing or unreadable file); None when it can.

    Image scorers score the readable drafts and give the others this as their error (the gate holds them),
    so one broken file never holds the rest of a batch.
    """
    if not item.image_path:
        return f"no image for draft {item.draft_id}"
    from PIL import Image

    try:
        with Image.open(item.image_path) as image:
            image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return f"draft {item.draft_id}: image {item.image_path} cannot be read ({type(error).__name__}: {error})"
    return None


def failed_results(scorer: str, items: Sequence[ScoringItem], error: str, model: str = "unknown") -> list[ScoreResult]:
    return [ScoreResult(scorer, None, model, "unknown", error=error) for _ in items]


def score_safely(scorer: Scorer, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
    """Run a scorer; any failure becomes an error result per item (the gate then holds them)."""
    if not items:
        return []
    try:
        scorer.load()
        results = scorer.score(items, context)
        if len(results) != len(items):
            raise RuntimeError(f"returned {len(results)} results for {len(items)} drafts")
        return results
    except ModelUnavailable as error:
        return failed_results(scorer.name, items, f"model unavailable: {error}")
    except Exception as error:  # noqa: BLE001 - fail closed: any scorer error holds the draft
        log.warning("scorer %s failed: %s\n%s", scorer.name, error, traceback.format_exc())
        return failed_results(scorer.name, items, f"{type(error).__name__}: {error}")
