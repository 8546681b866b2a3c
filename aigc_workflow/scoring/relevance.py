"""Relevance: embedding cosine between a brief (topic, audience, keywords) and its draft."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ScoreResult, ScoringContext, ScoringItem
from aigc_workflow.scoring.excerpts import quote

if TYPE_CHECKING:
    from aigc_workflow.models.embeddings import Embedder
    from aigc_workflow.settings import Settings


def brief_text(brief: BriefSpec) -> str:
    """What a relevant draft should be about, as one sentence-like string for the embedder."""
    parts = [brief.topic.rstrip(".") + "."]
    if brief.audience:
        parts.append(f"For {brief.audience.rstrip('.')}.")
    if brief.keywords:
        parts.append("Keywords: " + ", ".join(brief.keywords) + ".")
    return " ".join(parts)


class RelevanceScorer:
    """value = cosine(brief, draft) in [-1, 1], in practice [0, 1]; higher is better."""

    name = "relevance"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedder: Embedder | None = None

    def load(self) -> None:
        if self._embedder is None:
            from aigc_workflow.models.embeddings import load_embedder, resolve_device

            self._embedder = load_embedder(self.settings.embedding_model, resolve_device(self.settings.device))

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        self.load()
        assert self._embedder is not None
        embedder = self._embedder
        texts = [(item.text or "").strip() for item in items]
        # Many drafts share a brief (several candidates each): embed every distinct brief once.
        briefs = list(dict.fromkeys(brief_text(item.brief) for item in items))
        todo = [text for text in texts if text]
        vectors = embedder.embed(briefs + todo)
        brief_vectors = dict(zip(briefs, vectors[: len(briefs)], strict=True))
        draft_vectors = iter(vectors[len(briefs):])
        results = []
        for item, text in zip(items, texts, strict=True):
            query = brief_text(item.brief)
            if not text:
                # Nothing written is relevant to nothing; the format scorer names the real problem.
                results.append(self._result(0.0, {"brief_text": query, "empty_text": True,
                                                  "problems": ["the text is empty"]}))
                continue
            cosine = float(brief_vectors[query] @ next(draft_vectors))
            problems = [f"similarity {cosine:.2f} to the brief {quote(item.brief.topic)}"]
            results.append(self._result(round(cosine, 6), {"brief_text": query, "problems": problems}))
        return results

    def _result(self, value: float, details: dict[str, object]) -> ScoreResult:
        assert self._embedder is not None
        return ScoreResult(self.name, value, self._embedder.spec, self._embedder.version, details)
