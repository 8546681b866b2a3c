"""The Generator extension point: load() once, then generate(requests) -> drafts."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation.cleanup import clean_answer
from aigc_workflow.text_formats import shape_of


def derive_seed(batch_seed: int, brief_ref: str, candidate_index: int) -> int:
    """A per-draft seed: the same brief and candidate get the same seed whatever else is in the batch."""
    digest = hashlib.sha256(f"{batch_seed}:{brief_ref}:{candidate_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def cache_key(brief: BriefSpec, model_version: str, seed: int, params: dict[str, Any], candidate_index: int) -> str:
    """Identifies a draft by everything that determines it; a stored draft with this key is reused."""
    payload = json.dumps(
        [brief.content_hash(), model_version, seed, params, candidate_index], sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class GenerationRequest:
    """One draft to produce: the brief, which candidate it is, and its own seed."""

    brief: BriefSpec
    candidate_index: int
    seed: int


@dataclass(frozen=True)
class GeneratedDraft:
    """What a generator produced for one request, with the lineage the database keeps."""

    request: GenerationRequest
    prompt: str
    model_version: str
    params: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    image_path: str | None = None


def finished_draft(
    request: GenerationRequest, prompt: str, model_version: str, params: dict[str, Any], answer: str,
    hit_token_limit: bool,
) -> GeneratedDraft:
    """A text draft from a model's raw answer: tidied (cleanup.clean_answer), with how it ended in its params."""
    brief = request.brief
    cleaned = clean_answer(answer, hit_token_limit=hit_token_limit, max_words=brief.max_words,
                           shape=shape_of(brief.format), audience=brief.audience, topic=brief.topic)
    if cleaned.trimmed_to_sentence:
        finish = ("token limit: trimmed to the last complete sentence" if hit_token_limit
                  else "trimmed to the brief's max_words at a sentence end")
    else:
        finish = "token limit" if hit_token_limit else "end of answer"
    extra: dict[str, Any] = {"finish": finish}
    if cleaned.removed:
        extra["cleaned"] = list(cleaned.removed)
    return GeneratedDraft(request, prompt=prompt, model_version=model_version, params={**params, **extra},
                          text=cleaned.text)


class Generator(ABC):
    """A generative back-end. Heavy imports and weights belong in load(), not at import."""

    modality: str = "text"
    # Drafts this many at a time at most (None: any batch). A batch stores (and moves the progress bar) per
    # two generator batches, so a back-end that drafts one by one is stored, and shown, two drafts at a time.
    max_batch: int | None = None

    @property
    @abstractmethod
    def model_version(self) -> str:
        """A string that names the exact weights used (spec plus revision or digest)."""

    @property
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Generation parameters that shape the output (recorded on each draft, part of the cache key)."""

    @abstractmethod
    def load(self) -> None:
        """Load weights; called once per worker before the first generate()."""

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedDraft]:
        """One draft per request, in the same order."""
