"""Ranking: which approved candidates of one brief publish, by how far their scores clear the gate's bounds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aigc_workflow.settings import Bound

APPROVED = "approved"


@dataclass(frozen=True)
class Candidate:
    """One draft of a brief as the ranking sees it: its gate decision and its score values by scorer."""

    draft_id: int
    candidate_index: int
    decision: str
    scores: Mapping[str, float | None]
    published: bool = False  # already out: it keeps its place, so a re-run never publishes a second one


@dataclass(frozen=True)
class Ranked:
    """A draft's place among its brief's approved candidates (rank 1 is the best; None: not approved)."""

    draft_id: int
    rank: int | None
    score: float | None
    chosen: bool
    reason: str


def headroom(value: float | None, bound: Bound) -> float | None:
    """How far a value clears its bound, from 0 (on the bound) to 1 (the end of a 0..1 scale), or None.

    None when there is nothing to measure: no finite value, no bound, or a bound at the end of the scale
    (`format`'s min 1.0 is passed or not; it says nothing about which of two passing drafts is better).
    """
    if value is None or not math.isfinite(value):
        return None
    parts = []
    if bound.min is not None and bound.min < 1:
        parts.append((value - bound.min) / (1 - bound.min))
    if bound.max is not None and bound.max > 0:
        parts.append((bound.max - value) / bound.max)
    if not parts:
        return None
    return sum(min(1.0, max(0.0, part)) for part in parts) / len(parts)


def _headrooms(candidate: Candidate, bounds: Mapping[str, Bound]) -> dict[str, float]:
    rooms = {name: headroom(candidate.scores.get(name), bound) for name, bound in bounds.items()}
    return {name: room for name, room in sorted(rooms.items()) if room is not None}


def rank_score(candidate: Candidate, bounds: Mapping[str, Bound]) -> float | None:
    """The mean headroom over the bounded scorers that measured this draft; None when none did."""
    rooms = _headrooms(candidate, bounds)
    return sum(rooms.values()) / len(rooms) if rooms else None


def _compare(mine: Candidate, other: Candidate, bounds: Mapping[str, Bound]) -> str:
    """'headroom 0.62 vs 0.48; relevance 0.71 vs 0.64': the overall margin and the scorer that differs most."""
    score, theirs = rank_score(mine, bounds), rank_score(other, bounds)
    if score is None and theirs is None:
        return f"no score clears a bound by a measurable margin; candidate order, vs draft {other.draft_id}"
    if score == theirs:
        return f"tied with draft {other.draft_id} at headroom {score:.2f}; candidate order"
    text = f"headroom {_fmt(score)} vs {_fmt(theirs)} of draft {other.draft_id}"
    a, b = _headrooms(mine, bounds), _headrooms(other, bounds)
    shared = [name for name in a if name in b and a[name] != b[name]]
    if shared:
        name = max(shared, key=lambda n: abs(a[n] - b[n]))
        text += f"; {name} {mine.scores[name]:.2f} vs {other.scores[name]:.2f}"
    return text


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def rank(candidates: Sequence[Candidate], bounds: Mapping[str, Bound], publish: int = 1) -> dict[int, Ranked]:
    """Rank one brief's approved candidates; the best `publish` of them are chosen, the rest are alternates.

    Order: drafts already published first (they hold their slots), then by rank score, best first, a missing
    score counting as 0; ties go to the lower candidate index. Returns draft id -> Ranked for every candidate.
    """
    publish = max(1, publish)
    approved = [c for c in candidates if c.decision == APPROVED]
    scores = {c.draft_id: rank_score(c, bounds) for c in approved}
    order = sorted(approved, key=lambda c: (not c.published, -(scores[c.draft_id] or 0.0), c.candidate_index,
                                            c.draft_id))
    total = len(order)
    result = {c.draft_id: Ranked(c.draft_id, None, None, False, f"not ranked: {c.decision}")
              for c in candidates if c.decision != APPROVED}
    for position, candidate in enumerate(order, start=1):
        chosen = position <= publish
        quota = f", publish {publish}" if publish > 1 else ""
        out = "already published; " if candidate.published else ""
        if chosen and total == 1:
            score = scores[candidate.draft_id]
            reason = f"chosen: the only approved candidate ({out}headroom {_fmt(score)})"
        elif chosen:
            place = "best" if position == 1 else f"rank {position}"
            # Against the best alternate: why this one publishes and that one does not.
            versus = order[publish] if total > publish else None
            detail = _compare(candidate, versus, bounds) if versus else f"headroom {_fmt(scores[candidate.draft_id])}"
            reason = f"chosen: {place} of {total} approved{quota} ({out}{detail})"
        else:
            # Against the last chosen draft: what this one would have needed.
            detail = _compare(candidate, order[publish - 1], bounds)
            reason = f"alternate: rank {position} of {total} approved{quota} ({detail})"
        result[candidate.draft_id] = Ranked(candidate.draft_id, position, scores[candidate.draft_id], chosen, reason)
    return result


def label(rank: int | None, chosen: bool) -> str:
    """What lists show: 'chosen', 'alt 2' (an alternate, ranked second) or '-' (not approved or not ranked)."""
    if chosen:
        return "chosen"
    return f"alt {rank}" if rank is not None else "-"
