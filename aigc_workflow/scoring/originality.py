"""Originality: near-duplicates of published texts or of other drafts in the batch (embeddings + 3-grams)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from aigc_workflow.scoring.base import ScoreResult, ScoringContext, ScoringItem
from aigc_workflow.scoring.excerpts import quote

if TYPE_CHECKING:
    import numpy as np

    from aigc_workflow.models.embeddings import Embedder
    from aigc_workflow.settings import Settings

NGRAM = 3
_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")
CACHE_LIMIT = 20_000


def shingles(text: str, n: int = NGRAM) -> frozenset[tuple[str, ...]]:
    """Lower-cased word n-grams; a text shorter than n words is one shorter gram, so it still compares."""
    words = _WORD.findall(text.lower())
    if not words:
        return frozenset()
    if len(words) < n:
        return frozenset({tuple(words)})
    return frozenset(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def shared_passage(text: str, other: str) -> str:
    """The longest run of words (any case, any punctuation between) the two texts share, as the first writes it."""
    mine = list(_WORD.finditer(text))
    theirs = [word.lower() for word in _WORD.findall(other)]
    match = SequenceMatcher(None, [word.group(0).lower() for word in mine], theirs, autojunk=False)
    found = match.find_longest_match(0, len(mine), 0, len(theirs))
    if not found.size:
        return ""
    return text[mine[found.a].start():mine[found.a + found.size - 1].end()]


def published_name(text: str) -> str:
    # Published texts reach the scorer without their ids: their opening words are what a person recognises.
    return f"the published text {quote(text, 8)}"


def batch_name(item: ScoringItem) -> str:
    draft = f"draft {item.draft_id}" if item.draft_id is not None else "another draft"
    return f"{draft} of this batch (brief {item.brief.ref!r})"


def closeness_problem(similarity: float, closest: str, text: str, closest_text: str) -> str:
    """How close the draft is to the text it most resembles, and the longest passage both share."""
    problem = f"similarity {similarity:.2f} to {closest}"
    shared = shared_passage(text, closest_text)
    if len(shared.split()) >= NGRAM:  # shorter runs are not the overlap the 3-gram Jaccard counts
        problem += f"; both say {quote(shared)}"
    return problem


class OriginalityScorer:
    """value = 1 - max(similarity to any other text) in [0, 1]; higher is better.

    similarity is the larger of the embedding cosine and the word 3-gram Jaccard overlap, taken over
    every published text and every non-empty draft of another brief in the batch (so the same text drafted
    for two briefs scores 0 on both; a brief's own candidates are alternatives and are not compared).
    """

    name = "originality"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedder: Embedder | None = None
        # Published texts come back on every batch; their embeddings do not change.
        self._cache: dict[str, np.ndarray] = {}

    def load(self) -> None:
        if self._embedder is None:
            from aigc_workflow.models.embeddings import load_embedder, resolve_device

            self._embedder = load_embedder(self.settings.embedding_model, resolve_device(self.settings.device))

    @property
    def model(self) -> str:
        assert self._embedder is not None
        return f"{self._embedder.spec}+jaccard{NGRAM}"

    def _embed_published(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        assert self._embedder is not None
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if len(self._cache) + len(missing) > CACHE_LIMIT:
                self._cache.clear()
            self._cache.update(zip(missing, self._embedder.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        import numpy as np

        self.load()
        assert self._embedder is not None
        texts = [(item.text or "").strip() for item in items]
        # Keep each published text's own index so details point at the right one.
        published_at = [(i, t.strip()) for i, t in enumerate(context.published_texts) if t and t.strip()]
        published = [t for _, t in published_at]
        live = [i for i, text in enumerate(texts) if text]
        draft_vectors = self._embedder.embed([texts[i] for i in live])
        published_vectors = self._embed_published(published)
        batch_cos = draft_vectors @ draft_vectors.T if live else np.zeros((0, 0))
        published_cos = draft_vectors @ published_vectors.T if live and published else np.zeros((len(live), 0))
        draft_grams = {i: shingles(texts[i]) for i in live}
        published_grams = [shingles(t) for t in published]
        row_of = {i: row for row, i in enumerate(live)}

        results = []
        for index, text in enumerate(texts):
            if not text:
                # Nothing to compare; the format scorer fails an empty draft.
                details: dict[str, Any] = {"empty_text": True, "compared_with": 0}
                results.append(ScoreResult(self.name, 1.0, self.model, self._embedder.version, details))
                continue
            row = row_of[index]
            candidates: list[tuple[float, float, str, int]] = []  # (cosine, jaccard, source, index)
            for p, grams in enumerate(published_grams):
                similarity = jaccard(draft_grams[index], grams)
                candidates.append((float(published_cos[row, p]), similarity, "published", published_at[p][0]))
            for other in live:
                # A brief's own candidates are alternatives, one of which is published (ranking): they are
                # meant to be alike, and comparing them rejected both (originality 0.03-0.10, writer eval).
                if other != index and items[other].brief.ref != items[index].brief.ref:
                    cos = float(batch_cos[row, row_of[other]])
                    candidates.append((cos, jaccard(draft_grams[index], draft_grams[other]), "batch", other))
            if not candidates:
                details = {"compared_with": 0, "max_cosine": 0.0, "max_jaccard": 0.0, "closest": None}
                results.append(ScoreResult(self.name, 1.0, self.model, self._embedder.version, details))
                continue
            # Cosine can exceed 1 by rounding; clip so value stays in [0, 1].
            cos, jac, source, other = max(candidates, key=lambda c: max(c[0], c[1]))
            max_cos = min(1.0, max(c[0] for c in candidates))
            max_jac = max(c[1] for c in candidates)
            similarity = min(1.0, max(cos, jac))
            closest_text = context.published_texts[other].strip() if source == "published" else texts[other]
            closest_name = published_name(closest_text) if source == "published" else batch_name(items[other])
            details = {
                "compared_with": len(candidates),
                "closest": {"source": source, "index": other, "cosine": round(min(cos, 1.0), 6),
                            "jaccard": round(jac, 6)},
                "max_cosine": round(max_cos, 6),
                "max_jaccard": round(max_jac, 6),
                "problems": [closeness_problem(similarity, closest_name, text, closest_text)],
            }
            value = round(max(0.0, 1.0 - similarity), 6)
            results.append(ScoreResult(self.name, value, self.model, self._embedder.version, details))
        return results
