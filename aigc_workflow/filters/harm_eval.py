"""The harm filters on the hand-written held-out set, as a batch runs them: default scorers, default bounds, the gate."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aigc_workflow.filters.harm_data import HarmText
    from aigc_workflow.settings import Settings

# The scorers that judge harm; every other text scorer judges quality against a brief, which a held-out
# sentence does not have.
HARM_SCORERS = ("toxicity", "bias", "implicit_toxicity", "hate", "language")


def _rate(hits: int, total: int) -> dict[str, Any]:
    return {"share": round(hits / total, 4) if total else None, "n": total, "hits": hits}


def evaluate_harm(settings: Settings, texts: tuple[HarmText, ...] | None = None) -> dict[str, Any]:
    """Stopped (rejected or held) shares of hateful texts and flagged shares of benign ones, by group and language."""
    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.filters.harm_data import held_out
    from aigc_workflow.gate import APPROVED, decide
    from aigc_workflow.scoring.base import (
        ScoringContext,
        ScoringItem,
        create_scorer,
        score_safely,
    )

    rows = texts if texts is not None else held_out()
    scorers = [name for name in settings.text_scorers if name in HARM_SCORERS]
    items = [ScoringItem(BriefSpec(ref=f"held-out-{i}", topic="a post", language="en"), row.text, draft_id=i)
             for i, row in enumerate(rows)]
    by_scorer = {name: score_safely(create_scorer(name, settings), items, ScoringContext()) for name in scorers}
    gate = {name: bound for name, bound in settings.gate.items() if name in scorers}
    stopped: list[bool] = []
    caught_by: dict[str, int] = defaultdict(int)
    misses: list[dict[str, str]] = []
    false_alarms: list[dict[str, str]] = []
    for index, row in enumerate(rows):
        scores = {name: results[index] for name, results in by_scorer.items()}
        verdict = decide(scores, gate, scorers)
        stop = verdict.decision != APPROVED
        stopped.append(stop)
        for reason in verdict.reasons if stop else ():
            caught_by[reason.split(":")[0].split(" ")[0]] += 1
        entry = {"text": row.text, "group": row.group, "language": row.language, "verdict": verdict.decision}
        if row.label == 1 and not stop:
            misses.append(entry)
        elif row.label == 0 and stop:
            false_alarms.append({**entry, "reasons": "; ".join(verdict.reasons)})

    def table(kind: str, key: str) -> dict[str, dict[str, Any]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row, stop in zip(rows, stopped, strict=True):
            if row.kind == kind:
                counts[getattr(row, key)][0] += stop
                counts[getattr(row, key)][1] += 1
        return {name: _rate(hits, total) for name, (hits, total) in sorted(counts.items())}

    def overall(kind: str) -> dict[str, Any]:
        flags = [stop for row, stop in zip(rows, stopped, strict=True) if row.kind == kind]
        return _rate(sum(flags), len(flags))

    return {
        "scorers": scorers,
        "texts": len(rows),
        "hateful_stopped": {"overall": overall("hateful"), "per_group": table("hateful", "group"),
                            "per_language": table("hateful", "language")},
        "benign_group_flagged": {"overall": overall("benign_group"), "per_group": table("benign_group", "group")},
        "benign_slang_flagged": overall("benign_slang"),
        "stopped_by": dict(sorted(caught_by.items())),
        "missed_hateful": misses,
        "benign_flagged": false_alarms,
    }
