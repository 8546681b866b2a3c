"""Filter-quality metrics: AUC, precision/recall at a gate bound, false alarms per group, calibration."""

from __future__ import annotations

import pytest

from aigc_workflow.filters.metrics import (
    at_threshold,
    false_alarm_rates,
    roc_auc,
    summarise,
    threshold_for_false_alarm,
    threshold_for_precision,
)


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1.0),
        ([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 0.0),
        ([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 0.5),  # ties count half
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),  # sklearn's roc_auc_score gives 0.75 too
        ([0.3, 0.7], [1, 1], None),  # one class: undefined
    ],
)
def test_roc_auc(scores, labels, expected) -> None:
    assert roc_auc(scores, labels) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("threshold", "precision", "recall", "flagged_rate"),
    [
        (0.5, 2 / 3, 2 / 3, 0.5),  # flagged: 0.6, 0.9 (pos), 0.7 (neg)
        (0.9, None, 0.0, 0.0),  # strictly above the bound: 0.9 itself passes, nothing flagged
        (0.0, 0.5, 1.0, 1.0),
    ],
)
def test_at_threshold(threshold, precision, recall, flagged_rate) -> None:
    scores = [0.6, 0.9, 0.2, 0.7, 0.1, 0.4]
    labels = [1, 1, 1, 0, 0, 0]
    point = at_threshold(scores, labels, threshold)
    assert point.precision == (None if precision is None else pytest.approx(precision))
    assert point.recall == pytest.approx(recall) and point.flagged_rate == pytest.approx(flagged_rate)


def test_false_alarm_rates_per_group() -> None:
    rates = false_alarm_rates([0.9, 0.1, 0.2, 0.6, 0.7], ["a", "a", "b", "b", "b"], 0.5)
    assert rates == {"a": {"n": 2, "false_alarm_rate": 0.5}, "b": {"n": 3, "false_alarm_rate": 0.6667}}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (1.0, 0.7),  # flag 0.9 and 0.8 only
        (0.75, 0.3),  # flag the top four: 3 of 4 positive
        (0.5, 0.0),  # flag everything: 3 of 6
    ],
)
def test_threshold_for_precision(target, expected) -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.3, 0.1]
    labels = [1, 1, 0, 1, 0, 0]
    bound = threshold_for_precision(scores, labels, target)
    assert bound == pytest.approx(expected)
    assert at_threshold(scores, labels, bound).precision >= target


def test_threshold_for_precision_unreachable_and_invalid() -> None:
    assert threshold_for_precision([0.9, 0.1], [0, 1], 0.9) is None
    with pytest.raises(ValueError):
        threshold_for_precision([0.9], [1], 0.0)


@pytest.mark.parametrize(("max_rate", "expected"), [(0.0, 0.9), (0.25, 0.5), (0.5, 0.3)])
def test_threshold_for_false_alarm(max_rate, expected) -> None:
    negatives = [0.9, 0.5, 0.3, 0.1]
    bound = threshold_for_false_alarm(negatives, max_rate)
    assert bound == pytest.approx(expected)
    assert sum(s > bound for s in negatives) <= max_rate * len(negatives)


def test_summarise_shape() -> None:
    summary = summarise([0.2, 0.8], [0, 1], 0.5)
    assert summary == {"n": 2, "positives": 1, "roc_auc": 1.0, "threshold": 0.5, "precision": 1.0, "recall": 1.0,
                       "flagged_rate": 0.5}


def test_report_markdown_lists_every_scorer() -> None:
    from aigc_workflow.filters.evaluate import NOT_APPLICABLE, report_markdown

    metrics = {"roc_auc": 0.9, "precision": 0.8, "recall": 0.7}
    report = {"scorers": {
        "relevance": {"applicable": False, "reason": NOT_APPLICABLE},
        "bias": {"applicable": True, "threshold": 0.5, "biased_comments": metrics, "implicit_harm": metrics,
                 "identity_false_alarm": {"overall": 0.034}, "benign_slang_flagged": 0.9},
    }}
    text = report_markdown(report)
    assert "| bias | 0.5 | 0.9 / 0.8 / 0.7 |" in text and "3.4%" in text and NOT_APPLICABLE in text
