"""The evaluation gate: candidate and promoted model draft the same held-out briefs; promote only if not worse."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import select

from aigc_workflow.briefs import BriefSpec, parse_yaml
from aigc_workflow.db.models import Brief, Modality
from aigc_workflow.db.repo import brief_to_spec
from aigc_workflow.db.session import session_scope
from aigc_workflow.gate import decide
from aigc_workflow.generation.base import GenerationRequest, derive_seed
from aigc_workflow.models.specs import RegisteredModel
from aigc_workflow.scoring.base import ScoringContext, ScoringItem, score_safely
from aigc_workflow.settings import FinetuneSettings, Settings


@dataclass(frozen=True)
class ModelScore:
    """How one model did on the held-out briefs."""

    model: str
    version: str
    drafts: int
    pass_rate: float
    relevance: float | None
    toxicity: float | None
    texts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    candidate: ModelScore
    incumbent: ModelScore
    promote: bool
    reasons: list[str]
    briefs: list[str]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for side in ("candidate", "incumbent"):
            data[side].pop("texts")
        return data


def heldout_briefs(settings: Settings, exclude_ids: set[int], count: int) -> list[BriefSpec]:
    """Text briefs the training data did not come from; the packaged evaluation briefs fill any gap."""
    with session_scope(settings.db_url) as session:
        query = select(Brief).where(Brief.modality == Modality.TEXT).order_by(Brief.id.desc())
        briefs = [brief_to_spec(b) for b in session.scalars(query) if b.id not in exclude_ids][:count]
    if len(briefs) < count:
        text = resources.files("aigc_workflow.examples").joinpath("eval_briefs.yaml").read_text(encoding="utf-8")
        briefs += parse_yaml(text, "aigc_workflow/examples/eval_briefs.yaml")[: count - len(briefs)]
    return briefs


def score_model(
    settings: Settings, spec: str, registered: RegisteredModel | None, briefs: Sequence[BriefSpec], seed: int
) -> ModelScore:
    """Draft one text per brief with fixed seeds, score with the batch's scorers and gate it."""
    from aigc_workflow.generation import create_generator
    from aigc_workflow.workers import get_scorers

    eval_settings = settings.model_copy(deep=True)
    eval_settings.generation.max_new_tokens = settings.finetune.eval_max_new_tokens
    # Built directly, not through the worker cache: a candidate is loaded once here and then let go. Both sides
    # go through the same factory, so candidate and promoted model draft on the same back-end.
    generator = create_generator("text", eval_settings, spec=spec, registered=registered)
    requests = [GenerationRequest(brief, 0, derive_seed(seed, brief.ref, 0)) for brief in briefs]
    drafts = generator.generate(requests)
    items = [ScoringItem(d.request.brief, d.text) for d in drafts]
    results: dict[str, list] = {}
    for scorer in get_scorers(settings.text_scorers, settings):
        results[scorer.name] = score_safely(scorer, items, ScoringContext())
    passed, relevance, toxicity = 0, [], []
    for index, item in enumerate(items):
        scores = {name: values[index] for name, values in results.items()}
        bounds = settings.gate_for(item.brief.channel or settings.default_channel)
        passed += decide(scores, bounds, settings.text_scorers).decision == "approved"
        if (r := scores.get("relevance")) is not None and r.value is not None:
            relevance.append(r.value)
        if (t := scores.get("toxicity")) is not None and t.value is not None:
            toxicity.append(t.value)
    return ModelScore(
        spec, generator.model_version, len(items), passed / len(items) if items else 0.0,
        statistics.fmean(relevance) if relevance else None, statistics.fmean(toxicity) if toxicity else None,
        [d.text or "" for d in drafts],
    )


def decide_promotion(candidate: ModelScore, incumbent: ModelScore, margins: FinetuneSettings) -> tuple[bool, list[str]]:
    """Promote only if the candidate is not worse on pass rate, relevance and toxicity (within the margins)."""
    reasons = []
    if candidate.pass_rate < incumbent.pass_rate - margins.margin_pass_rate:
        reasons.append(f"pass rate {candidate.pass_rate:.2f} < {incumbent.pass_rate:.2f}")
    if candidate.relevance is None or incumbent.relevance is None:
        reasons.append("relevance could not be measured")
    elif candidate.relevance < incumbent.relevance - margins.margin_relevance:
        reasons.append(f"relevance {candidate.relevance:.3f} < {incumbent.relevance:.3f}")
    if candidate.toxicity is None or incumbent.toxicity is None:
        reasons.append("toxicity could not be measured")
    elif candidate.toxicity > incumbent.toxicity + margins.margin_toxicity:
        reasons.append(f"toxicity {candidate.toxicity:.3f} > {incumbent.toxicity:.3f}")
    if reasons:
        return False, reasons
    return True, ["not worse on pass rate, relevance and toxicity"]


def comparison_markdown(comparison: Comparison) -> str:
    c, i = comparison.candidate, comparison.incumbent

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    verdict = "**promoted**" if comparison.promote else "**kept as candidate**"
    return "\n".join([
        "# Fine-tune evaluation",
        "",
        f"Candidate {verdict}: {'; '.join(comparison.reasons)}.",
        f"Held-out briefs ({len(comparison.briefs)}): {', '.join(comparison.briefs)}",
        "",
        "| model | version | drafts | pass rate | relevance | toxicity |",
        "|---|---|---|---|---|---|",
        f"| candidate | {c.version} | {c.drafts} | {c.pass_rate:.2f} | {fmt(c.relevance)} | {fmt(c.toxicity)} |",
        f"| promoted | {i.version} | {i.drafts} | {i.pass_rate:.2f} | {fmt(i.relevance)} | {fmt(i.toxicity)} |",
    ]) + "\n"
