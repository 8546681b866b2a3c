"""Every text scorer measured on held-out labelled data at its gate bound, and thresholds for a target precision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aigc_workflow.filters.datasets import Example, FilterData
    from aigc_workflow.settings import Settings

# Scorers whose value says "harmful" (higher is worse) and the held-out set each is calibrated on.
LABELLED: dict[str, str] = {
    "toxicity": "implicit_harm", "bias": "biased_comments", "implicit_toxicity": "implicit_harm",
}
# `hate` trained on samples of these same sources (split its own way), so it is measured only on the
# hand-written held-out set (filters/harm_eval.py), never here.
NOT_APPLICABLE = "no labelled data for this scorer is available offline"


def _sets(data: FilterData) -> dict[str, list[Example]]:
    return {"biased_comments": data.test_biased_comments, "implicit_harm": data.test_implicit}


def score_texts(name: str, texts: list[str], settings: Settings) -> tuple[list[float | None], str | None, str]:
    """(values, first error, "model version") from the real scorer, exactly as the gate would see them."""
    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.scoring.base import ScoringContext, ScoringItem, create_scorer, score_safely

    brief = BriefSpec(ref="filters-evaluate", topic="held-out labelled data")
    results = score_safely(create_scorer(name, settings), [ScoringItem(brief, t) for t in texts], ScoringContext())
    error = next((r.error for r in results if r.error), None)
    model = f"{results[0].model} {results[0].version}" if results else ""
    return [r.value for r in results], error, model


def _bound(settings: Settings, name: str) -> float:
    bound = settings.gate.get(name)
    return bound.max if bound is not None and bound.max is not None else 0.5


def evaluate_scorers(
    settings: Settings, names: list[str] | None = None, *, limit: int | None = None, data: FilterData | None = None
) -> dict[str, Any]:
    """Quality of each scorer at its configured gate bound: ROC AUC, precision, recall, false alarms per group."""
    from aigc_workflow.filters.datasets import load_filter_data
    from aigc_workflow.filters.metrics import false_alarm_rates, summarise

    data = data or load_filter_data(limit=limit)
    texts = list(dict.fromkeys(e.text for e in data.test))
    report: dict[str, Any] = {
        "data": {"test_texts": len(texts), "limit": limit,
                 "sets": {k: len(v) for k, v in _sets(data).items()}, "identity_statements": len(data.test_identity)},
        "scorers": {},
    }
    for name in names if names is not None else settings.text_scorers:
        if name not in LABELLED:
            reason = "measured on the hand-written held-out set only (below)" if name == "hate" else NOT_APPLICABLE
            report["scorers"][name] = {"applicable": False, "reason": reason}
            continue
        values, error, model = score_texts(name, texts, settings)
        if error is not None:
            report["scorers"][name] = {"applicable": True, "error": error}
            continue
        by_text = dict(zip(texts, values, strict=True))
        threshold = _bound(settings, name)
        entry: dict[str, Any] = {"applicable": True, "model": model, "threshold": threshold}
        for set_name, examples in _sets(data).items():
            entry[set_name] = summarise([by_text[e.text] for e in examples], [e.label for e in examples], threshold)
        identity = data.test_identity
        identity_values = [by_text[e.text] for e in identity]
        entry["identity_false_alarm"] = {
            "overall": round(sum(v > threshold for v in identity_values) / max(len(identity), 1), 4),
            "per_group": false_alarm_rates(identity_values, [e.group for e in identity], threshold),
        }
        slang = [by_text[e.text] for e in data.test if e.source == "benign-slang"]
        entry["benign_slang_flagged"] = round(sum(v > threshold for v in slang) / max(len(slang), 1), 4)
        report["scorers"][name] = entry
    return report


def calibrate(
    settings: Settings, target_precision: float, names: list[str] | None = None, *, limit: int | None = None
) -> dict[str, Any]:
    """Per labelled scorer: the lowest `max` bound reaching `target_precision` on one half of its held-out set
    (validation), with precision, recall and identity false alarms reported on the other half (test)."""
    from aigc_workflow.filters.datasets import load_filter_data, split_of
    from aigc_workflow.filters.metrics import at_threshold, false_alarm_rates, threshold_for_precision

    data = load_filter_data(limit=limit)
    texts = list(dict.fromkeys(e.text for e in data.test))
    out: dict[str, Any] = {"target_precision": target_precision, "scorers": {}}
    for name in names if names is not None else settings.text_scorers:
        if name not in LABELLED:
            continue
        values, error, _ = score_texts(name, texts, settings)
        if error is not None:
            out["scorers"][name] = {"error": error}
            continue
        by_text = dict(zip(texts, values, strict=True))
        examples = _sets(data)[LABELLED[name]]
        # Choosing a bound and reporting its precision on the same texts would flatter it: halves by hash.
        validation = [e for e in examples if split_of(f"calibrate/{e.text}", 0.5) == "test"]
        test = [e for e in examples if split_of(f"calibrate/{e.text}", 0.5) == "train"]
        suggested = threshold_for_precision([by_text[e.text] for e in validation], [e.label for e in validation],
                                            target_precision)
        entry: dict[str, Any] = {"set": LABELLED[name], "current": _bound(settings, name), "suggested": suggested,
                                 "calibrated_on": len(validation), "reported_on": len(test)}
        if suggested is not None:
            point = at_threshold([by_text[e.text] for e in test], [e.label for e in test], suggested)
            identity = [e for e in data.test_identity if split_of(f"calibrate/{e.text}", 0.5) == "train"]
            rates = false_alarm_rates([by_text[e.text] for e in identity], [e.group for e in identity], suggested)
            entry.update(suggested=round(suggested, 6), precision=round(point.precision or 0.0, 4),
                         recall=round(point.recall or 0.0, 4),
                         identity_false_alarm_max=max((r["false_alarm_rate"] for r in rates.values()), default=0.0))
        out["scorers"][name] = entry
    return out


def calibration_toml(result: dict[str, Any]) -> str:
    """The [gate] lines to paste into aigc.toml."""
    lines = ["[gate]"]
    for name, entry in result["scorers"].items():
        if entry.get("suggested") is not None:
            lines.append(f"{name} = {{ max = {entry['suggested']:.4f} }}")
    return "\n".join(lines)


def report_markdown(report: dict[str, Any]) -> str:
    """The evaluation as a markdown table: for a Prefect artifact after each fine-tune or build."""
    lines = ["| scorer | bound | biased comments AUC / P / R | implicit harm AUC / P / R "
             "| identity false alarms | slang |", "|---|---|---|---|---|---|"]
    for name, entry in report["scorers"].items():
        if not entry.get("applicable") or "error" in entry:
            lines.append(f"| {name} | | {entry.get('error') or entry.get('reason')} | | | |")
            continue
        cells = [" / ".join(str(entry[s][k]) for k in ("roc_auc", "precision", "recall"))
                 for s in ("biased_comments", "implicit_harm")]
        lines.append(f"| {name} | {entry['threshold']:g} | {cells[0]} | {cells[1]} | "
                     f"{entry['identity_false_alarm']['overall']:.1%} | {entry['benign_slang_flagged']:.0%} |")
    return "\n".join(lines)
