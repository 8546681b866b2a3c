"""Training data from feedback: desirable and undesirable texts and edit pairs, each with its lineage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aigc_workflow.db.models import Draft, Modality, Publication, Rating, Review, ReviewDecision, Thumbs


class NotEnoughFeedback(RuntimeError):
    """Too little (or too one-sided) feedback to train on; nothing was changed."""


@dataclass(frozen=True)
class Example:
    """A prompt and a completion judged good or bad, with where the judgement came from."""

    prompt: str
    completion: str
    desirable: bool
    draft_id: int
    source: str  # "rating:<id>" or "review:<id>"


@dataclass(frozen=True)
class PreferencePair:
    """A person's edit: the edited text is preferred to what the model wrote."""

    prompt: str
    chosen: str
    rejected: str
    draft_id: int
    source: str


@dataclass
class FeedbackDataset:
    examples: list[Example] = field(default_factory=list)
    pairs: list[PreferencePair] = field(default_factory=list)
    rating_ids: list[int] = field(default_factory=list)
    review_ids: list[int] = field(default_factory=list)
    brief_ids: set[int] = field(default_factory=set)
    cutoff: datetime | None = None

    @property
    def desirable(self) -> list[Example]:
        return [e for e in self.examples if e.desirable]

    @property
    def undesirable(self) -> list[Example]:
        return [e for e in self.examples if not e.desirable]

    def lineage(self) -> dict[str, Any]:
        """What the fine-tune run records as the feedback it was trained on."""
        return {
            "rating_ids": self.rating_ids,
            "review_ids": self.review_ids,
            "desirable": len(self.desirable),
            "undesirable": len(self.undesirable),
            "pairs": len(self.pairs),
            "brief_ids": sorted(self.brief_ids),
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
        }


def _judgement(rating: Rating) -> bool | None:
    """True for 4-5 stars or thumbs up, False for 1-2 or thumbs down, None when it says neither."""
    if rating.rating is not None and rating.rating != 3:
        return rating.rating >= 4
    if rating.thumbs is not None:
        return rating.thumbs == Thumbs.UP
    return None


def collect_feedback(*, session: Session, since: datetime | None = None, until: datetime | None = None) -> FeedbackDataset:
    """Ratings and reviews of text drafts made after `since` (and up to `until`), as training data."""
    data = FeedbackDataset(cutoff=until)
    seen: set[tuple[int, str, bool]] = set()

    def add(draft: Draft, text: str | None, desirable: bool, source: str) -> None:
        if not text or not text.strip() or (draft.id, text, desirable) in seen:
            return
        seen.add((draft.id, text, desirable))
        data.examples.append(Example(draft.prompt, text, desirable, draft.id, source))
        data.brief_ids.add(draft.brief_id)

    ratings = select(Rating).join(Publication).join(Draft).where(Draft.modality == Modality.TEXT)
    reviews = select(Review).join(Draft).where(Draft.modality == Modality.TEXT)
    if since is not None:
        ratings, reviews = ratings.where(Rating.created_at > since), reviews.where(Review.created_at > since)
    if until is not None:
        ratings, reviews = ratings.where(Rating.created_at <= until), reviews.where(Review.created_at <= until)
    ratings = ratings.options(selectinload(Rating.publication).selectinload(Publication.draft)).order_by(Rating.id)
    for rating in session.scalars(ratings):
        judgement = _judgement(rating)
        if judgement is None:
            continue
        publication = rating.publication
        add(publication.draft, publication.text or publication.draft.text, judgement, f"rating:{rating.id}")
        data.rating_ids.append(rating.id)
    for review in session.scalars(reviews.options(selectinload(Review.draft)).order_by(Review.id)):
        draft = review.draft
        approved = review.decision == ReviewDecision.APPROVE
        add(draft, review.edited_text or draft.text, approved, f"review:{review.id}")
        if review.edited_text and draft.text and review.edited_text.strip() != draft.text.strip():
            data.pairs.append(PreferencePair(draft.prompt, review.edited_text, draft.text, draft.id, f"review:{review.id}"))
            # What the model wrote was not good enough to publish as is.
            add(draft, draft.text, False, f"review:{review.id}")
        data.review_ids.append(review.id)
    return data


def check_enough(data: FeedbackDataset, *, min_desirable: int, min_total: int, max_imbalance: float) -> None:
    """Refuse to train on too little or too lopsided feedback; the message says what is missing."""
    desirable, undesirable = len(data.desirable), len(data.undesirable)
    problems = []
    if desirable < min_desirable:
        problems.append(f"{desirable} desirable example(s), need at least {min_desirable}")
    if desirable + undesirable < min_total:
        problems.append(f"{desirable + undesirable} example(s) in all, need at least {min_total}")
    if undesirable and max(desirable, undesirable) / min(desirable, undesirable) > max_imbalance:
        problems.append(
            f"classes too unbalanced ({desirable} desirable vs {undesirable} undesirable; at most {max_imbalance:g}:1)"
        )
    if problems:
        raise NotEnoughFeedback("not enough feedback: " + "; ".join(problems))
