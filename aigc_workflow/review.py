"""Human review: what waits for a person, the form they fill, recording their decisions, and override stats."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select

from aigc_workflow.db import repo
from aigc_workflow.db.models import Decision, Review, ReviewDecision
from aigc_workflow.db.session import session_scope
from aigc_workflow.ranking import label
from aigc_workflow.settings import Settings

PREVIEW_CHARS = 600


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


def form_fields(items: Sequence[ReviewItem]) -> dict[str, Any]:
    """Fields for a pydantic form: a decision per draft (pre-filled from the gate), an edit and a note."""
    fields: dict[str, Any] = {
        "reviewer": (
            str, Field(..., min_length=1, max_length=200, title="Reviewer",
                       description="Your name, recorded with each decision."),
        ),
    }
    for item in items:
        # The field's description always shows (the markdown above may collapse): the choice goes there too.
        ranked = f". Ranking: {item.rank_reason}" if item.rank_reason and item.rank is not None else ""
        fields[f"draft_{item.draft_id}"] = (
            Literal["approve", "reject"],
            Field(item.suggested, title=f"Decision on draft {item.draft_id} ({item.brief_ref}, {_choice(item)})",
                  description=f"The gate says **{item.verdict}**: {'; '.join(item.reasons)}{ranked}"),
        )
        if item.image_path and item.text is None:
            # An image cannot be edited in a form; what the reviewer writes is published as its caption.
            edit = Field("", title=f"Caption for image draft {item.draft_id}", description="Optional.")
        else:
            edit = Field("", title=f"Edited text of draft {item.draft_id}",
                         description="Leave empty to publish the draft as written.")
        fields[f"edit_{item.draft_id}"] = (str, edit)
        fields[f"note_{item.draft_id}"] = (str, Field("", title=f"Note on draft {item.draft_id}"))
    return fields


def inputs_from_form(items: Sequence[ReviewItem], values: Mapping[str, Any]) -> tuple[str, list[ReviewInput]]:
    """The reviewer and one ReviewInput per item, from a submitted form's values."""
    decisions = []
    for item in items:
        edited = (values.get(f"edit_{item.draft_id}") or "").strip()
        note = (values.get(f"note_{item.draft_id}") or "").strip()
        decisions.append(ReviewInput(
            item.draft_id, values.get(f"draft_{item.draft_id}", item.suggested), edited or None, note or None,
        ))
    return str(values["reviewer"]).strip(), decisions


def _fmt(value: float | None) -> str:
    return "error" if value is None else f"{value:.2f}"


def _choice(item: ReviewItem) -> str:
    if item.chosen:
        return "chosen"
    return f"alternate, rank {item.rank}" if item.rank is not None else f"{item.verdict}, not ranked"


def highlight(line: str, spans: Sequence[str]) -> str:
    """The line with each unsupported span in bold, so a reviewer sees where the claims are."""
    if not spans:
        return line
    # One pass over one alternation, longest first: "12 April 2025" is bolded whole, never "12 April" inside it.
    pattern = "|".join(re.escape(span) for span in sorted(spans, key=len, reverse=True))
    return re.sub(pattern, lambda m: f"**{m.group(0)}**", line)


def description_markdown(items: Sequence[ReviewItem], image_uri: Any = None) -> str:
    """What the reviewer reads above the form: a table of drafts and scores, then each draft in full."""
    scorers = sorted({name for item in items for name in item.scores})
    lines = [
        f"## {len(items)} draft(s) waiting for review",
        "",
        "Choose approve or reject for each draft, optionally edit its text, then submit. Only approved drafts are "
        "published; an edit replaces the text that is published. A brief's candidates are alternatives: its "
        "best-ranked approved draft (or its `publish` best) is **chosen** (pre-filled approve), the other approved "
        "ones are **alternates** (pre-filled reject). To publish an alternate instead, approve it and reject the "
        "chosen one; approve both to publish both.",
        "",
        "| draft | brief | verdict | choice | " + " | ".join(scorers) + " |",
        "|---|---|---|---|" + "---|" * len(scorers),
    ]
    for item in items:
        # A scorer of the other modality did not apply to this draft: a dash, not "error".
        scores = " | ".join(_fmt(item.scores[name]) if name in item.scores else "–" for name in scorers)
        lines.append(f"| {item.draft_id} | {item.brief_ref} | **{item.verdict}** | {item.choice} | {scores} |")
    for item in items:
        lines += ["", f"### Draft {item.draft_id}: {item.brief_ref}", "", f"*Brief:* {item.topic}", ""]
        if item.image_path and image_uri is not None:
            lines += [f"![draft {item.draft_id}]({image_uri(item.image_path)})", ""]
        if item.text:
            text = item.text if len(item.text) <= PREVIEW_CHARS else item.text[:PREVIEW_CHARS] + "…"
            lines += ["> " + highlight(line, item.unsupported) for line in text.splitlines() if line.strip()]
            lines.append("")
        if item.unsupported:
            lines += [f"*Not supported by the brief (bold above):* {', '.join(map(repr, item.unsupported))}", ""]
        lines.append(f"*Gate:* **{item.verdict}**: {'; '.join(item.reasons)}")
        if item.rank_reason and item.rank is not None:
            lines += ["", f"*Ranking:* {item.rank_reason}"]
    return "\n".join(lines) + "\n"


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
