"""The text gate and each text scorer measured on labelled drafts: bounds calibrated on validation, reported on test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aigc_workflow.filters.drafts import TEST, VALIDATION, LabelledDraft
from aigc_workflow.filters.metrics import at_threshold, roc_auc

if TYPE_CHECKING:
    from aigc_workflow.scoring.base import ScoreResult
    from aigc_workflow.settings import Bound, Settings

STOPPED = ("rejected", "held")


def score_all(settings: Settings, drafts: Sequence[LabelledDraft], names: Sequence[str]) -> dict[str, list[ScoreResult]]:
    """Every draft scored by every named scorer, against its own brief, exactly as a batch scores it."""
    from aigc_workflow.scoring.base import ScoringContext, ScoringItem, create_scorer, score_safely

    items = [ScoringItem(d.brief, d.text) for d in drafts]
    return {name: score_safely(create_scorer(name, settings), items, ScoringContext()) for name in names}


def verdicts(settings: Settings, drafts: Sequence[LabelledDraft], scores: dict[str, list[ScoreResult]]) -> list[str]:
    """The gate's decision on each draft with its brief's channel bounds, requiring the scorers that ran."""
    from aigc_workflow.gate import decide

    return [decide({name: results[i] for name, results in scores.items()},
                   settings.gate_for(draft.brief.channel or settings.default_channel), scores).decision
            for i, draft in enumerate(drafts)]


def oriented(result: ScoreResult, bound: Bound | None) -> float:
    """Higher is worse, whatever the scorer's direction; a failed scorer is the worst (the gate holds it)."""
    if result.error is not None or result.value is None:
        return float("inf")
    return -result.value if bound is not None and bound.min is not None else result.value


def cut_of(bound: Bound | None) -> float | None:
    """The bound in oriented units: a draft is flagged when its oriented value is strictly above it."""
    if bound is None:
        return None
    return -bound.min if bound.min is not None else bound.max


def scorer_figures(values: list[float], bad: list[int], cut: float | None) -> dict[str, Any]:
    finite = [v if v != float("inf") else 1e12 for v in values]
    auc = roc_auc(finite, bad)
    figures: dict[str, Any] = {"n": len(bad), "bad": sum(bad), "roc_auc": None if auc is None else round(auc, 4)}
    if cut is not None:
        point = at_threshold(finite, bad, cut)
        figures.update(precision=None if point.precision is None else round(point.precision, 4),
                       recall=None if point.recall is None else round(point.recall, 4),
                       flagged=round(point.flagged_rate, 4))
    return figures


def best_cut(values: list[float], bad: list[int]) -> float | None:
    """The oriented bound with the largest Youden J (recall of bad drafts minus false alarms on good ones)."""
    bads, goods = sum(bad), len(bad) - sum(bad)
    if not bads or not goods:
        return None
    best, best_j = None, -1.0
    for cut in sorted({v for v in values if v != float("inf")}):
        hits = [v > cut for v in values]
        j = sum(h and b for h, b in zip(hits, bad, strict=True)) / bads - \
            sum(h and not b for h, b in zip(hits, bad, strict=True)) / goods
        if j > best_j:
            best, best_j = cut, j
    return best


def gate_figures(drafts: Sequence[LabelledDraft], decisions: Sequence[str]) -> dict[str, Any]:
    """What an editor asks of the gate: does it stop what must not go out, and pass what may?"""
    def share(rows: list[tuple[LabelledDraft, str]], wanted: tuple[str, ...]) -> dict[str, Any]:
        n = len(rows)
        return {"n": n, "share": round(sum(d in wanted for _, d in rows) / n, 4) if n else None}

    rows = list(zip(drafts, decisions, strict=True))
    defects = sorted({defect for draft in drafts for defect in draft.defects})
    return {
        "not_publishable_stopped": share([r for r in rows if r[0].bad], STOPPED),
        "invented_specifics_stopped": share([r for r in rows if "invented_specifics" in r[0].defects], STOPPED),
        "publishable_approved": share([r for r in rows if not r[0].bad], ("approved",)),
        "by_defect_stopped": {d: share([r for r in rows if d in r[0].defects], STOPPED) for d in defects},
    }


def evaluate_on_drafts(settings: Settings, drafts: Sequence[LabelledDraft], names: Sequence[str]) -> dict[str, Any]:
    """Per scorer: AUC, precision and recall at its gate bound on each split, a bound calibrated on validation
    (largest Youden J) with its test figures; and the gate's stop and pass rates on each split.

    The gate is that of the named scorers (all default text scorers unless fewer are named). Originality has
    no batch to compare with here: it sees each draft alone."""
    scores = score_all(settings, drafts, names)
    decisions = verdicts(settings, drafts, scores)
    splits = {s: [i for i, d in enumerate(drafts) if d.split == s] for s in (VALIDATION, TEST)}
    report: dict[str, Any] = {
        "data": {s: {"drafts": len(ix), "briefs": len({drafts[i].brief.ref for i in ix}),
                     "not_publishable": sum(drafts[i].bad for i in ix)} for s, ix in splits.items()},
        "scorers": {}, "gate": {},
    }
    for name in names:
        bound = settings.gate.get(name)
        values = [oriented(r, bound) for r in scores[name]]
        errors = sorted({r.error for r in scores[name] if r.error})
        entry: dict[str, Any] = {"bound": None if bound is None else bound.model_dump(exclude_none=True),
                                 "model": f"{scores[name][0].model} {scores[name][0].version}" if drafts else ""}
        if errors:
            entry["errors"] = errors[:3]
        for split, ix in splits.items():
            entry[split] = scorer_figures([values[i] for i in ix], [drafts[i].bad for i in ix], cut_of(bound))
        cut = best_cut([values[i] for i in splits[VALIDATION]], [drafts[i].bad for i in splits[VALIDATION]])
        if cut is not None:
            is_min = bound is not None and bound.min is not None
            # Rounded away from the flagged side, so the bound flags exactly what the figures below count.
            value = math.floor(-cut * 1e6) / 1e6 if is_min else math.ceil(cut * 1e6) / 1e6
            entry["calibrated"] = {"bound": {"min" if is_min else "max": value},
                                   TEST: scorer_figures([values[i] for i in splits[TEST]],
                                                        [drafts[i].bad for i in splits[TEST]], cut)}
        report["scorers"][name] = entry
    for split, ix in splits.items():
        report["gate"][split] = gate_figures([drafts[i] for i in ix], [decisions[i] for i in ix])
    return report
