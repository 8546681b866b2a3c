"""Implicit toxicity: the mean of the bias classifier and the classic toxicity model, chosen by measurement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aigc_workflow.scoring.base import ModelUnavailable, ScoreResult, ScoringContext, ScoringItem
from aigc_workflow.scoring.excerpts import quote, sentences

if TYPE_CHECKING:
    from aigc_workflow.filters.bias_classifier import LoadedClassifier
    from aigc_workflow.scoring.toxicity import ToxicityBackend
    from aigc_workflow.settings import Settings


class ImplicitToxicityScorer:
    """value = (bias classifier + toxicity model) / 2 in [0, 1]; higher is worse.

    Measured on held-out data (README, Filter quality): the classifier alone has the best recall but
    flags most benign slang ("This hot sauce is sick"); the classic model alone misses most attacks
    without swear words; their mean keeps the AUC of the classifier with the highest precision.
    Needs a built classifier: without one it is unavailable, so the gate holds (it is opt-in).
    """

    name = "implicit_toxicity"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._classifier: LoadedClassifier | None = None
        self._toxicity: ToxicityBackend | None = None

    def load(self) -> None:
        if self._classifier is None:
            from aigc_workflow.filters.bias_classifier import load_for_scoring

            classifier, status = load_for_scoring(self.settings)
            if classifier is None:
                raise ModelUnavailable(f"no bias classifier: {status['source']}")
            self._classifier = classifier
        if self._toxicity is None:
            from aigc_workflow.scoring.toxicity import backend_for

            self._toxicity = backend_for(self.settings)  # the same cached model as the toxicity scorer

    @property
    def model(self) -> str:
        return f"bias-classifier+{self._toxicity.model if self._toxicity else '?'}"

    @property
    def version(self) -> str:
        classifier = self._classifier.version.removeprefix("sha256:")[:12] if self._classifier else "?"
        return f"clf={classifier};{self._toxicity.version if self._toxicity else '?'}"

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        self.load()
        assert self._classifier is not None and self._toxicity is not None
        texts = [(item.text or "").strip() for item in items]
        read = iter(self._read([t for t in texts if t]))
        drafts = [next(read) if text else (0.0, 0.0) for text in texts]
        # A draft that reads as harmful at all, and has several sentences, has each read too, to quote the one
        # its score comes from; read apart from the drafts, so their own values do not depend on it.
        split = [parts if (clf + tox) / 2 >= QUOTE_FROM and len(parts := sentences(text)) > 1 else []
                 for text, (clf, tox) in zip(texts, drafts, strict=True)]
        readings = iter(self._read([sentence for parts in split for sentence in parts]))
        results = []
        for text, (clf, tox), parts in zip(texts, drafts, split, strict=True):
            own = [(sentence, next(readings)) for sentence in parts]
            if not text:
                results.append(ScoreResult(self.name, 0.0, self.model, self.version, {"empty_text": True}))
                continue
            clf, tox = float(clf), float(tox)
            details = {"classifier": round(clf, 6), "toxicity": round(tox, 6), "problems": [problem(clf, tox, own)]}
            results.append(ScoreResult(self.name, round((clf + tox) / 2, 6), self.model, self.version, details))
        return results


    def _read(self, texts: list[str]) -> list[tuple[float, float]]:
        """(bias classifier, toxicity) per text."""
        assert self._classifier is not None and self._toxicity is not None
        if not texts:
            return []
        toxic = [max(p.values()) for p in self._toxicity.predict(texts)]
        return list(zip(self._classifier.predict(texts), toxic, strict=True))


# Below this a draft needs no quote; above it a reviewer sees which sentence the value comes from.
QUOTE_FROM = 0.2


def problem(classifier: float, toxicity: float, parts: Sequence[tuple[str, tuple[float, float]]]) -> str:
    """Both readings the value averages, and the sentence whose average is highest."""
    said = f"the bias classifier rates it {classifier:.2f}, the toxicity model {toxicity:.2f}"
    if not parts:
        return said
    worst = max(parts, key=lambda part: sum(part[1]))[0]
    return f"{said}; highest in {quote(worst)}"
