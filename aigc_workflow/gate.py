"""The gate: a pure function from scores and thresholds to a verdict with reasons."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aigc_workflow.scoring.base import ScoreResult
from aigc_workflow.settings import Bound

APPROVED, REJECTED, HELD = "approved", "rejected", "held"


@dataclass(frozen=True)
class Verdict:
    decision: str  # approved | rejected | held
    reasons: tuple[str, ...]


def decide(
    scores: Mapping[str, ScoreResult],
    thresholds: Mapping[str, Bound],
    required: Iterable[str],
) -> Verdict:
    """Reject on any bound crossed; otherwise hold on any required scorer missing or failed; else approve.

    Fail closed: a scorer that did not run, errored or lacks its model can never let a draft through.
    A bound on a scorer that is not required still applies when that scorer ran.
    """
    rejections: list[str] = []
    holds: list[str] = []
    for name in required:
        result = scores.get(name)
        if result is None:
            holds.append(f"{name}: not scored")
        elif result.error is not None or result.value is None:
            holds.append(f"{name}: {result.error or 'no value'}")
        elif not math.isfinite(result.value):
            # NaN passes every comparison as "not crossed": it must hold, never approve.
            holds.append(f"{name}: not a number ({result.value})")
    for name, bound in thresholds.items():
        result = scores.get(name)
        if result is None or result.value is None or not math.isfinite(result.value):
            continue
        if bound.min is not None and result.value < bound.min:
            rejections.append(_rejection(name, result, f"is below the minimum {bound.min:g}"))
        if bound.max is not None and result.value > bound.max:
            rejections.append(_rejection(name, result, f"is above the maximum {bound.max:g}"))
    if rejections:
        return Verdict(REJECTED, tuple(rejections + holds))
    if holds:
        return Verdict(HELD, tuple(holds))
    return Verdict(APPROVED, ("all checks passed",))


def _rejection(name: str, result: ScoreResult, crossed: str) -> str:
    """The words first, when the scorer gave them: "format: 46 words, fewer than the minimum 50 (score 0.800 is
    below the minimum 1)"; else the number alone. Either way the line starts with the scorer's name, which the review
    statistics and the batch report read back."""
    assert result.value is not None
    problems = _problems(result)
    if not problems:
        return f"{name} {result.value:.3f} {crossed}"
    return f"{name}: {'; '.join(problems)} (score {result.value:.3f} {crossed})"


def _problems(result: ScoreResult) -> list[str]:
    """A scorer's own plain-words account of what failed (its details' "problems")."""
    problems = result.details.get("problems") if isinstance(result.details, dict) else None
    if not problems or not isinstance(problems, list):
        return []
    return [str(problem) for problem in problems]
