"""Ranking: table-driven. Approved candidates rank by headroom past the gate's bounds; the best N are chosen."""

from __future__ import annotations

import math

import pytest

from aigc_workflow.ranking import Candidate, headroom, rank, rank_score
from aigc_workflow.settings import Bound

BOUNDS = {"relevance": Bound(min=0.25), "toxicity": Bound(max=0.5), "format": Bound(min=1.0)}


def cand(draft_id: int, decision: str = "approved", published: bool = False, **scores: float | None) -> Candidate:
    return Candidate(draft_id, draft_id - 1, decision, scores, published)


@pytest.mark.parametrize(
    ("value", "bound", "expected"),
    [
        (0.25, Bound(min=0.25), 0.0),  # on the bound: no headroom
        (1.0, Bound(min=0.25), 1.0),
        (0.625, Bound(min=0.25), 0.5),
        (2.5, Bound(min=0.5), 1.0),  # a scale past 1 (CLIPScore) is clipped
        (0.1, Bound(max=0.5), 0.8),
        (0.5, Bound(max=0.5), 0.0),
        (0.9, Bound(max=0.5), 0.0),  # past the bound (the gate rejects it): clipped, never negative
        (0.5, Bound(min=0.0, max=1.0), 0.5),  # both sides: their mean
        (1.0, Bound(min=1.0), None),  # a bound at the end of the scale measures nothing
        (0.0, Bound(max=0.0), None),
        (0.7, Bound(), None),  # an empty bound informs, it does not rank
        (None, Bound(min=0.25), None),
        (math.nan, Bound(min=0.25), None),
    ],
)
def test_headroom_table(value: float | None, bound: Bound, expected: float | None) -> None:
    result = headroom(value, bound)
    assert result == (None if expected is None else pytest.approx(expected))


def test_rank_score_averages_the_bounded_scorers_that_measured_the_draft() -> None:
    # relevance (0.625-0.25)/0.75 = 0.5, toxicity (0.5-0.1)/0.5 = 0.8; format at its bound and "other" unbounded.
    assert rank_score(cand(1, relevance=0.625, toxicity=0.1, format=1.0, other=0.3), BOUNDS) == pytest.approx(0.65)
    assert rank_score(cand(1, format=1.0), BOUNDS) is None


@pytest.mark.parametrize(
    ("candidates", "publish", "expected"),
    [
        # (draft id -> (rank, chosen)) for the usual cases.
        ([cand(1, relevance=0.5, toxicity=0.1), cand(2, relevance=0.9, toxicity=0.1)], 1,
         {1: (2, False), 2: (1, True)}),
        ([cand(1, relevance=0.5), cand(2, relevance=0.9), cand(3, relevance=0.7)], 2,
         {1: (3, False), 2: (1, True), 3: (2, True)}),
        # Rejected and held drafts are not ranked; the approved one is chosen alone.
        ([cand(1, "rejected", relevance=0.1), cand(2, "held"), cand(3, relevance=0.3)], 1,
         {1: (None, False), 2: (None, False), 3: (1, True)}),
        # A tie (or nothing measurable, as with format alone) goes to the lower candidate index.
        ([cand(2, relevance=0.6), cand(1, relevance=0.6)], 1, {1: (1, True), 2: (2, False)}),
        ([cand(1, format=1.0), cand(2, format=1.0)], 1, {1: (1, True), 2: (2, False)}),
        # An already published draft keeps its slot even if another now scores higher.
        ([cand(1, relevance=0.9), cand(2, published=True, relevance=0.5)], 1, {1: (2, False), 2: (1, True)}),
        # More asked for than approved: every approved one is chosen.
        ([cand(1, relevance=0.9), cand(2, "rejected")], 3, {1: (1, True), 2: (None, False)}),
        ([], 1, {}),
    ],
)
def test_rank_table(candidates: list[Candidate], publish: int, expected: dict[int, tuple[int | None, bool]]) -> None:
    ranked = rank(candidates, BOUNDS, publish)
    assert {draft_id: (r.rank, r.chosen) for draft_id, r in ranked.items()} == expected


@pytest.mark.parametrize(
    ("candidates", "publish", "reasons"),
    [
        ([cand(1, relevance=0.7, toxicity=0.1), cand(2, relevance=0.55, toxicity=0.1)], 1, {
            1: "chosen: best of 2 approved (headroom 0.70 vs 0.60 of draft 2; relevance 0.70 vs 0.55)",
            2: "alternate: rank 2 of 2 approved (headroom 0.60 vs 0.70 of draft 1; relevance 0.55 vs 0.70)",
        }),
        ([cand(1, relevance=0.625), cand(2, "rejected", relevance=0.1), cand(3, "held")], 1, {
            1: "chosen: the only approved candidate (headroom 0.50)",
            2: "not ranked: rejected",
            3: "not ranked: held",
        }),
        ([cand(1, relevance=0.9), cand(2, relevance=0.7), cand(3, relevance=0.4)], 2, {
            1: "chosen: best of 3 approved, publish 2 (headroom 0.87 vs 0.20 of draft 3; relevance 0.90 vs 0.40)",
            2: "chosen: rank 2 of 3 approved, publish 2 (headroom 0.60 vs 0.20 of draft 3; relevance 0.70 vs 0.40)",
            3: "alternate: rank 3 of 3 approved, publish 2 (headroom 0.20 vs 0.60 of draft 2; relevance 0.40 vs 0.70)",
        }),
        ([cand(1, format=1.0), cand(2, format=1.0)], 1, {
            1: "chosen: best of 2 approved (no score clears a bound by a measurable margin; candidate order, "
               "vs draft 2)",
            2: "alternate: rank 2 of 2 approved (no score clears a bound by a measurable margin; candidate order, "
               "vs draft 1)",
        }),
        ([cand(1, relevance=0.625), cand(2, relevance=0.625)], 1, {
            1: "chosen: best of 2 approved (tied with draft 2 at headroom 0.50; candidate order)",
            2: "alternate: rank 2 of 2 approved (tied with draft 1 at headroom 0.50; candidate order)",
        }),
        ([cand(1, relevance=0.9), cand(2, published=True, relevance=0.625)], 1, {
            1: "alternate: rank 2 of 2 approved (headroom 0.87 vs 0.50 of draft 2; relevance 0.90 vs 0.62)",
            2: "chosen: best of 2 approved (already published; headroom 0.50 vs 0.87 of draft 1; "
               "relevance 0.62 vs 0.90)",
        }),
    ],
)
def test_reasons_say_why_in_one_line(candidates: list[Candidate], publish: int, reasons: dict[int, str]) -> None:
    assert {draft_id: r.reason for draft_id, r in rank(candidates, BOUNDS, publish).items()} == reasons


def test_scores_are_recorded_for_ranked_drafts_only() -> None:
    ranked = rank([cand(1, relevance=0.625), cand(2, "rejected", relevance=0.1)], BOUNDS)
    assert ranked[1].score == pytest.approx(0.5)
    assert ranked[2].score is None
