"""Coverage: a draft must state the specifics its brief gives (dates, times, prices, contacts, names)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ScoreResult, ScoringContext, ScoringItem
from aigc_workflow.scoring.groundedness import GroundednessScorer, Specific, claim_tokens, supported

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

VERSION = "coverage-1"


def required_text(brief: BriefSpec) -> str:
    """What the brief asks to be said: its topic and its facts, one per line (the audience is who reads it,
    and keywords are the format scorer's)."""
    return "\n".join([brief.topic, *(getattr(brief, "facts", ()) or ())])


class CoverageScorer:
    """value = share of the brief's checkable specifics that the draft states; 1.0 when the brief gives none.

    The twin of groundedness, read the other way: groundedness rejects what a draft says that its brief does
    not; coverage rejects a draft that leaves out what its brief gives. Editors read a notice without its time,
    or a recall without its model number, as unpublishable (bench/writer/EVAL.md: the book club's 19:00, the
    gym's 24 December hours). The specifics are found as groundedness finds them (spaCy NER plus rules).
    """

    name = "coverage"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self._finder = GroundednessScorer(settings)

    def load(self) -> None:
        self._finder.load()

    @property
    def version(self) -> str:
        return f"{VERSION}+{self._finder.version.split('+', 1)[-1]}"

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        results = []
        for item in items:
            required = list(dict.fromkeys(s.text for s in self._finder.specifics(required_text(item.brief))))
            tokens = set(claim_tokens(item.text or ""))
            # Stated when every word and number of it occurs in the draft, in canonical form ("7pm" is "19:00").
            missing = [text for text in required if not supported(Specific(text, "REQUIRED"), tokens)]
            value = 1.0 if not required else (len(required) - len(missing)) / len(required)
            details: dict[str, Any] = {"required": required, "missing": missing}
            if missing:
                details["problems"] = ["leaves out what the brief gives: " + ", ".join(repr(m) for m in missing)]
            results.append(ScoreResult(self.name, round(value, 6), self._finder.pipeline_name, self.version, details))
        return results
