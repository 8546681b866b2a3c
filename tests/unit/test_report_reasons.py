"""The batch report counts rejections and holds by scorer and kind, whatever words a scorer put in the reason."""

from __future__ import annotations

from typing import Any

from aigc_workflow.report import summarize


def row(verdict: str, *reasons: str) -> dict[str, Any]:
    return {"id": 1, "brief_ref": "b", "verdict": verdict, "reasons": list(reasons), "scores": {},
            "publications": [], "chosen": False, "rank": None, "rank_reason": None}


def test_reasons_are_counted_by_scorer_and_bound_crossed() -> None:
    rows = [
        row("rejected", "format: 46 words, fewer than the minimum 50 (score 0.800 is below the minimum 1)"),
        row("rejected", "format 0.800 is below the minimum 1"),  # a scorer without words
        # Words quoting a draft that says "is above the maximum" do not make it a maximum.
        row("rejected", "relevance: similarity 0.12 to the brief 'Prices is above the maximum we pay' "
                        "(score 0.120 is below the minimum 0.25)"),
        row("rejected", "toxicity 0.910 is above the maximum 0.5: profanity"),  # as stored before the words led
        row("held", "bias: not scored", "hate: model unavailable: no detector", "nsfw: OSError: broken"),
    ]
    assert summarize(rows)["reasons"] == {
        "format below minimum": 2, "relevance below minimum": 1, "toxicity above maximum": 1,
        "bias: not scored": 1, "hate: model unavailable": 1, "nsfw: scorer failed": 1,
    }
