"""Hate: text that demeans, dehumanises, threatens or calls for excluding a group (the fine-tuned hate detector)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aigc_workflow.languages import HARM_LANGUAGES, language_name
from aigc_workflow.scoring.base import ScoreResult, ScoringContext, ScoringItem
from aigc_workflow.scoring.excerpts import quote

if TYPE_CHECKING:
    from aigc_workflow.filters.hate_detector import HateDetector
    from aigc_workflow.settings import Settings


class HateScorer:
    """value = the detector's calibrated probability in [0, 1] (0.5 = its validation threshold); higher is worse.

    A fine-tuned sentence model, so it reads the statement ("X are vermin", "X should not be
    allowed to vote") rather than words: no swear word or slur is needed to flag it, and naming a group
    ("I love my Muslim neighbours") is not enough. English only: the language scorer holds other languages.
    """

    name = "hate"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._detector: HateDetector | None = None
        self._source = ""

    model = "hate-detector (all-MiniLM-L6-v2 fine-tuned)"

    @property
    def version(self) -> str:
        return self._detector.version if self._detector else "unknown"

    def load(self) -> None:
        if self._detector is None:
            from aigc_workflow.filters.hate_detector import detector_for

            self._detector, self._source = detector_for(self.settings)

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        self.load()
        assert self._detector is not None
        texts = [(item.text or "").strip() for item in items]
        # English only. The language scorer holds other languages too, but a configuration without it must not
        # turn this scorer into an approval of text it cannot read.
        readable = [bool(t) and item.brief.language in HARM_LANGUAGES for t, item in zip(texts, items, strict=True)]
        scored = iter(self._detector.predict_windows([t for t, ok in zip(texts, readable, strict=True) if ok]))
        results = []
        for text, ok, item in zip(texts, readable, items, strict=True):
            if not text:
                results.append(ScoreResult(self.name, 0.0, self.model, self.version, {"empty_text": True}))
                continue
            if not ok:
                results.append(ScoreResult(
                    self.name, None, self.model, self.version, {"brief_language": item.brief.language},
                    error=f"the hate detector reads {', '.join(sorted(HARM_LANGUAGES))} only, the brief is in "
                          f"{language_name(item.brief.language)}; held for a person"))
                continue
            raw, window = next(scored)
            probability = round(float(raw), 6)
            details: dict[str, object] = {"probability": probability, "source": self._source}
            problem = "reads as demeaning, dehumanising, threatening or excluding a group"
            if window != text:
                details["worst_window"] = window
                problem += f", most of all in {quote(window)}"  # a long draft: say which part
            if probability > 0.5:
                details["problems"] = [problem]
            results.append(ScoreResult(self.name, probability, self.model, self.version, details))
        return results
