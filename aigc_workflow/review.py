"""Human review: what waits for a person, recording their decisions, and how they compare with the gate."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select

from aigc_workflow.db import repo
from aigc_workflow.db.models import Decision, Review, ReviewDecision
from aigc_workflow.db.session import session_scope
from aigc_workflow.ranking import label
from aigc_workflow.settings import Settings


@dataclass(frozen=True)
class ReviewItem:
    """A draft waiting for a person, with what they need to decide."""

    draft_id: int
    brief_ref: str
    topic: str
    text: str | None
    image_path: str | None
    scores: dict[str, float | None]
    verdict: str
    reasons: tuple[str, ...]
    rank: int | None = None  # among the brief's approved candidates; None: not approved (or not ranked yet)
    chosen: bool = False
    rank_reason: str | None = None
    # Spans of the text that a scorer found unsupported by the brief (names, figures): shown highlighted.
    unsupported: tuple[str, ...] = ()

    @property
    def choice(self) -> str:
        """'chosen', 'alt 2' or '-': whether this draft publishes unless a person picks otherwise."""
        return label(self.rank, self.chosen)

    @property
    def suggested(self) -> Literal["approve", "reject"]:
        # An alternate is pre-filled "reject": submitting the form as it stands publishes one draft per brief.
        ranked_out = self.rank is not None and not self.chosen
        return "approve" if self.verdict == Decision.APPROVED and not ranked_out else "reject"


@dataclass(frozen=True)
class ReviewInput:
    """One person's decision on one draft."""

    draft_id: int
    decision: Literal["approve", "reject"]
    edited_text: str | None = None
    note: str | None = None


@dataclass
class OverrideStats:
    """How reviewers' decisions compare with the gate's: the signal for tuning thresholds."""

    reviews: int = 0
    by_reviewer: dict[str, dict[str, int]] = field(default_factory=dict)
    approved_over_gate: int = 0  # the gate rejected or held, a person approved
    rejected_over_gate: int = 0  # the gate approved, a person rejected
    edited: int = 0
    alternates_left: int = 0  # gate-approved alternates (not chosen) that a person rejected: not overrides
    per_scorer: dict[str, dict[str, int]] = field(default_factory=dict)


def needs_review(verdict: str, mode: str) -> bool:
    """`human`: every gated draft waits; `held-only`: only held ones; `auto`: none."""
    if mode == "human":
        return True
    if mode == "held-only":
        return verdict == Decision.HELD
    return False


def pending_items(settings: Settings, draft_ids: Sequence[int], mode: str) -> list[ReviewItem]:
    """Drafts of the batch that wait for a person and have no review yet.

    In `held-only` mode a held draft of a brief that already has its `publish` drafts out is an alternate,
    not something a person must decide: it is not offered.
    """
    items = []
    with session_scope(settings.db_url) as session:
        drafts = repo.list_drafts(session=session, ids=draft_ids)
        out = Counter(d.brief_id for d in drafts if d.publications)
        for draft in drafts:
            verdict = draft.verdict
            if verdict is None or repo.latest_review(draft.id, session=session) is not None:
                continue
            if not needs_review(str(verdict.decision), mode):
                continue
            if mode == "held-only" and out[draft.brief_id] >= (draft.brief.publish or 1):
                continue
            items.append(ReviewItem(
                draft.id, draft.brief.ref, draft.brief.topic, draft.text, draft.image_path,
                {s.scorer: s.value for s in draft.scores}, str(verdict.decision), tuple(verdict.reasons),
                verdict.rank, verdict.chosen, verdict.rank_reason,
                tuple(dict.fromkeys(span for s in draft.scores for span in (s.details or {}).get("unsupported", []))),
            ))
    return items


def record_reviews(settings: Settings, reviewer: str, decisions: Sequence[ReviewInput]) -> list[int]:
    """Store one review per decision (a draft already reviewed keeps its review); returns new review ids."""
    ids = []
    with session_scope(settings.db_url) as session:
        for decision in decisions:
            draft = repo.draft_with_lineage(decision.draft_id, session=session)
            if draft is None or draft.verdict is None:
                raise LookupError(f"draft {decision.draft_id} does not exist or has not been gated")
            if repo.latest_review(draft.id, session=session) is not None:
                continue
            review = Review(
                draft_id=draft.id, reviewer=reviewer, decision=ReviewDecision(decision.decision),
                gate_decision=draft.verdict.decision, edited_text=decision.edited_text, note=decision.note,
            )
            session.add(review)
            session.flush()
            ids.append(review.id)
    return ids


def override_stats(settings: Settings, draft_ids: Sequence[int] | None = None) -> OverrideStats:
    """Compare every review with the gate, overall, per reviewer and per scorer that flagged the draft."""
    stats = OverrideStats()
    per_reviewer: dict[str, Counter[str]] = defaultdict(Counter)
    per_scorer: dict[str, Counter[str]] = defaultdict(Counter)
    with session_scope(settings.db_url) as session:
        query = select(Review).order_by(Review.id)
        if draft_ids is not None:
            query = query.where(Review.draft_id.in_(list(draft_ids)))
        for review in session.scalars(query):
            stats.reviews += 1
            per_reviewer[review.reviewer][str(review.decision)] += 1
            stats.edited += review.edited_text is not None
            gate_ok = review.gate_decision == Decision.APPROVED
            human_ok = review.decision == ReviewDecision.APPROVE
            reasons = review.draft.verdict.reasons if review.draft.verdict else []
            flagged = {reason.split(" ", 1)[0].rstrip(":") for reason in reasons} - {"all"}
            if human_ok and not gate_ok:
                stats.approved_over_gate += 1
                for scorer in flagged:
                    per_scorer[scorer]["approved_although_flagged"] += 1
            elif gate_ok and not human_ok and _alternate(review):
                # The ranking had passed it over and the person agreed: no sign that a scorer was too lenient.
                stats.alternates_left += 1
            elif gate_ok and not human_ok:
                stats.rejected_over_gate += 1
                # Every scorer let this draft through that a person would not publish: each was too lenient.
                for score in review.draft.scores:
                    per_scorer[score.scorer]["rejected_although_passed"] += 1
            for scorer in flagged:
                per_scorer[scorer]["flagged"] += 1
    stats.by_reviewer = {name: dict(counts) for name, counts in per_reviewer.items()}
    stats.per_scorer = {name: dict(counts) for name, counts in sorted(per_scorer.items())}
    return stats


def _alternate(review: Review) -> bool:
    verdict = review.draft.verdict
    return verdict is not None and verdict.rank is not None and not verdict.chosen


def override_markdown(stats: OverrideStats) -> str:
    lines = [
        "# Review decisions against the gate",
        "",
        f"{stats.reviews} review(s); {stats.approved_over_gate} approved although the gate did not, "
        f"{stats.rejected_over_gate} rejected although the gate approved; {stats.edited} edited."
        + (f" {stats.alternates_left} alternate(s) the ranking passed over were rejected too (not counted as "
           "overrides)." if stats.alternates_left else ""),
        "",
        "| reviewer | approve | reject |",
        "|---|---|---|",
        *(f"| {name} | {c.get('approve', 0)} | {c.get('reject', 0)} |" for name, c in stats.by_reviewer.items()),
    ]
    if stats.per_scorer:
        lines += ["", "| scorer | flagged | approved although flagged | rejected although passed |", "|---|---|---|---|"]
        lines += [
            f"| {name} | {c.get('flagged', 0)} | {c.get('approved_although_flagged', 0)} | "
            f"{c.get('rejected_although_passed', 0)} |"
            for name, c in stats.per_scorer.items()
        ]
    return "\n".join(lines) + "\n"
