"""The gate: table-driven. Bounds reject; missing or failed scorers hold; nothing else approves."""

from __future__ import annotations

import pytest

from aigc_workflow.gate import decide
from aigc_workflow.scoring.base import ScoreResult
from aigc_workflow.settings import Bound

BOUNDS = {"relevance": Bound(min=0.3), "toxicity": Bound(max=0.5)}
REQUIRED = ("relevance", "toxicity")


def ok(name: str, value: float) -> ScoreResult:
    return ScoreResult(name, value, "m", "1")


def failed(name: str, error: str) -> ScoreResult:
    return ScoreResult(name, None, "m", "1", error=error)


@pytest.mark.parametrize(
    ("scores", "decision", "reason"),
    [
        ([ok("relevance", 0.6), ok("toxicity", 0.1)], "approved", "all checks passed"),
        ([ok("relevance", 0.3), ok("toxicity", 0.5)], "approved", "all checks passed"),  # bounds are inclusive
        ([ok("relevance", 0.1), ok("toxicity", 0.1)], "rejected", "relevance 0.100 is below the minimum 0.3"),
        ([ok("relevance", 0.6), ok("toxicity", 0.9)], "rejected", "toxicity 0.900 is above the maximum 0.5"),
        ([ok("relevance", 0.6)], "held", "toxicity: not scored"),
        ([ok("relevance", 0.6), failed("toxicity", "model unavailable: no checkpoint")], "held",
         "toxicity: model unavailable: no checkpoint"),
        ([ok("relevance", 0.6), failed("toxicity", "TimeoutError: 30 s")], "held", "toxicity: TimeoutError: 30 s"),
        ([], "held", "relevance: not scored"),
        # A clear failure rejects even when another scorer is missing; the hold reason is kept.
        ([ok("relevance", 0.0), failed("toxicity", "boom")], "rejected", "toxicity: boom"),
    ],
)
def test_gate_table(scores: list[ScoreResult], decision: str, reason: str) -> None:
    verdict = decide({s.scorer: s for s in scores}, BOUNDS, REQUIRED)
    assert verdict.decision == decision
    assert reason in verdict.reasons


def test_a_failed_scorer_never_approves_even_without_a_bound() -> None:
    verdict = decide({"format": failed("format", "crashed")}, {}, ("format",))
    assert verdict.decision == "held"


def test_informational_scorers_without_bounds_do_not_block() -> None:
    scores = {"relevance": ok("relevance", 0.9), "toxicity": ok("toxicity", 0.0), "extra": ok("extra", 99.0)}
    assert decide(scores, BOUNDS, REQUIRED).decision == "approved"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_value_that_is_not_a_finite_number_holds(value: float) -> None:
    verdict = decide({"relevance": ok("relevance", 0.9), "toxicity": ok("toxicity", value)}, BOUNDS, REQUIRED)
    assert verdict.decision == "held"
    assert any(reason.startswith("toxicity: not a number") for reason in verdict.reasons)


def test_a_rejection_leads_with_the_scorers_words_and_ends_with_the_bound() -> None:
    short = ScoreResult("format", 0.8, "rules", "rules-3",
                        {"problems": ["46 words, fewer than the minimum 50", "keyword 'shade' missing"]})
    verdict = decide({"format": short}, {"format": Bound(min=1.0)}, ("format",))
    assert verdict.reasons == (
        "format: 46 words, fewer than the minimum 50; keyword 'shade' missing (score 0.800 is below the minimum 1)",
    )
    # The review statistics and the batch report read the scorer's name from the first word.
    assert verdict.reasons[0].split(" ", 1)[0].rstrip(":") == "format"


def test_without_words_a_rejection_says_the_number_and_the_bound() -> None:
    verdict = decide({"toxicity": ok("toxicity", 0.9)}, BOUNDS, ())
    assert verdict.reasons == ("toxicity 0.900 is above the maximum 0.5",)
