"""Pure filter-quality metrics: ROC AUC, precision/recall at a gate bound, false alarms per group, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Probability that a random positive scores above a random negative (ties count half); None if one class."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(1 for _, label in pairs if label == 1)
    negatives = len(pairs) - positives
    if positives == 0 or negatives == 0:
        return None
    # Mann-Whitney U with average ranks for ties.
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2
        rank_sum += average_rank * sum(1 for k in range(i, j) if pairs[k][1] == 1)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def flagged(value: float, threshold: float) -> bool:
    """The gate rejects a value strictly above its `max` bound (gate.decide)."""
    return value > threshold


@dataclass(frozen=True)
class AtThreshold:
    threshold: float
    precision: float | None  # None when nothing is flagged
    recall: float | None  # None when there are no positives
    flagged_rate: float
    true_positives: int
    false_positives: int
    false_negatives: int


def at_threshold(scores: Sequence[float], labels: Sequence[int], threshold: float) -> AtThreshold:
    tp = fp = fn = 0
    for score, label in zip(scores, labels, strict=True):
        hit = flagged(score, threshold)
        tp += hit and label == 1
        fp += hit and label == 0
        fn += (not hit) and label == 1
    n = len(labels)
    return AtThreshold(
        threshold,
        tp / (tp + fp) if tp + fp else None,
        tp / (tp + fn) if tp + fn else None,
        (tp + fp) / n if n else 0.0,
        tp,
        fp,
        fn,
    )


def false_alarm_rates(scores: Sequence[float], groups: Sequence[str], threshold: float) -> dict[str, dict[str, float]]:
    """For texts that should all pass: per group, how many there were and the share flagged."""
    totals: dict[str, list[int]] = {}
    for score, group in zip(scores, groups, strict=True):
        count = totals.setdefault(group, [0, 0])
        count[0] += 1
        count[1] += flagged(score, threshold)
    return {group: {"n": n, "false_alarm_rate": round(hits / n, 4)} for group, (n, hits) in sorted(totals.items())}


def threshold_for_precision(scores: Sequence[float], labels: Sequence[int], target: float) -> float | None:
    """The lowest `max` bound whose precision reaches `target` (most recall at that precision); None if none does.

    Candidates are the observed scores: flagging is `score > bound`, so bound = a score flags everything above it.
    """
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target precision must be in (0, 1], got {target}")
    pairs = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    best: float | None = None
    tp = fp = 0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            tp += pairs[j][1] == 1
            fp += pairs[j][1] == 0
            j += 1
        # Flag pairs[:j]: the bound sits just below pairs[i][0], i.e. at the next lower score (or 0).
        bound = pairs[j][0] if j < len(pairs) else min(0.0, pairs[-1][0] - 1e-6)
        if tp and tp / (tp + fp) >= target:
            best = bound
        i = j
    return best


def threshold_for_false_alarm(negative_scores: Sequence[float], max_rate: float) -> float:
    """The lowest `max` bound that flags at most `max_rate` of texts that should all pass."""
    if not 0.0 <= max_rate <= 1.0:
        raise ValueError(f"false-alarm rate must be in [0, 1], got {max_rate}")
    ordered = sorted(negative_scores, reverse=True)
    if not ordered:
        return 0.0
    allowed = int(max_rate * len(ordered))
    if allowed >= len(ordered):
        return min(0.0, ordered[-1] - 1e-6)
    return ordered[allowed]  # flags only scores strictly above it: at most `allowed` of them (fewer on ties)


def summarise(scores: Sequence[float], labels: Sequence[int], threshold: float) -> dict[str, object]:
    """AUC plus precision/recall at the bound, rounded for reports."""
    point = at_threshold(scores, labels, threshold)
    auc = roc_auc(scores, labels)
    return {
        "n": len(labels),
        "positives": sum(labels),
        "roc_auc": None if auc is None else round(auc, 4),
        "threshold": threshold,
        "precision": None if point.precision is None else round(point.precision, 4),
        "recall": None if point.recall is None else round(point.recall, 4),
        "flagged_rate": round(point.flagged_rate, 4),
    }
