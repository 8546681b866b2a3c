"""Fine-tune run stages (dataset, train, evaluate, promote) recorded in finetune_runs; flows only order them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from aigc_workflow.db.models import FinetuneRun, ModelStatus, RunStatus
from aigc_workflow.db.session import session_scope
from aigc_workflow.models import registry
from aigc_workflow.settings import Settings
from aigc_workflow.training.dataset import FeedbackDataset, NotEnoughFeedback, check_enough, collect_feedback
from aigc_workflow.training.evaluate import Comparison, decide_promotion, heldout_briefs, score_model


def _last_cutoff(settings: Settings) -> datetime | None:
    with session_scope(settings.db_url) as session:
        run = session.scalar(
            select(FinetuneRun).where(FinetuneRun.status == RunStatus.SUCCEEDED).order_by(FinetuneRun.id.desc())
        )
        cutoff = (run.dataset or {}).get("cutoff") if run else None
    return datetime.fromisoformat(cutoff) if cutoff else None


def start_run(settings: Settings) -> tuple[int, FeedbackDataset]:
    """Record a run and collect the feedback since the last successful one; NotEnoughFeedback ends it cleanly."""
    since = _last_cutoff(settings)
    now = datetime.now(UTC)
    with session_scope(settings.db_url) as session:
        data = collect_feedback(session=session, since=since, until=now)
        parent = registry.promoted("text", session=session)
        run = FinetuneRun(status=RunStatus.RUNNING, base_model_version_id=parent.id if parent else None,
                          dataset=data.lineage())
        session.add(run)
        session.flush()
        run_id = run.id
    config = settings.finetune
    try:
        check_enough(data, min_desirable=config.min_desirable, min_total=config.min_total,
                     max_imbalance=config.max_imbalance)
    except NotEnoughFeedback as error:
        finish_run(settings, run_id, RunStatus.SKIPPED, message=str(error))
        raise
    return run_id, data


def finish_run(settings: Settings, run_id: int, status: RunStatus, *, message: str | None = None,
               metrics: dict[str, Any] | None = None) -> None:
    with session_scope(settings.db_url) as session:
        run = session.get(FinetuneRun, run_id)
        run.status = status
        run.message = message
        if metrics is not None:
            run.metrics = metrics
        run.finished_at = datetime.now(UTC)


def train_candidate(settings: Settings, run_id: int, data: FeedbackDataset) -> int:
    """Train an adapter from the promoted version (or the base) and register it as a candidate."""
    from aigc_workflow.training.finetune import train_adapter

    with session_scope(settings.db_url) as session:
        parent = registry.promoted("text", session=session)
        parent_model = registry.as_registered(parent) if parent else None
        base_spec = parent.base if parent else settings.text_model
        parent_id = parent.id if parent else None
    name = f"text-ft{run_id}-{datetime.now(UTC):%Y%m%d%H%M%S}"
    result = train_adapter(
        settings, base_spec=base_spec, parent=parent_model, desirable=data.desirable,
        undesirable=data.undesirable, pairs=data.pairs, output_dir=settings.adapters_dir / name,
    )
    # The row is written only after the adapter folder is complete: the registry never lists half a model.
    with session_scope(settings.db_url) as session:
        version = registry.register(
            session=session, name=name, kind="text", base=base_spec, path=str(result.adapter_path),
            parent_id=parent_id, finetune_run_id=run_id, metrics={"training": result.metrics},
        )
        return version.id


def evaluate_candidate(settings: Settings, version_id: int, data: FeedbackDataset) -> Comparison:
    """Draft the held-out briefs with the candidate and the promoted model (same seeds) and compare."""
    with session_scope(settings.db_url) as session:
        candidate = registry.get(version_id, session=session)
        incumbent = registry.promoted("text", session=session)
        candidate_model = registry.as_registered(candidate)
        incumbent_model = registry.as_registered(incumbent) if incumbent else None
    briefs = heldout_briefs(settings, data.brief_ids, settings.finetune.eval_briefs)
    seed = settings.finetune.seed
    cand = score_model(settings, f"registry:{candidate_model.name}", candidate_model, briefs, seed)
    if incumbent_model is not None:
        inc = score_model(settings, f"registry:{incumbent_model.name}", incumbent_model, briefs, seed)
    else:
        inc = score_model(settings, settings.text_model, None, briefs, seed)
    promote, reasons = decide_promotion(cand, inc, settings.finetune)
    comparison = Comparison(cand, inc, promote, reasons, [b.ref for b in briefs])
    with session_scope(settings.db_url) as session:
        version = registry.get(version_id, session=session)
        version.metrics = {**version.metrics, "evaluation": comparison.as_json()}
    return comparison


def conclude(settings: Settings, run_id: int, version_id: int, comparison: Comparison) -> str:
    """Promote the candidate if the evaluation allows it; record the run's outcome. Returns the status."""
    with session_scope(settings.db_url) as session:
        if comparison.promote:
            registry.promote(version_id, session=session)
        status = str(registry.get(version_id, session=session).status)
    finish_run(settings, run_id, RunStatus.SUCCEEDED, message=f"candidate {version_id}: {status}",
               metrics={"version_id": version_id, "promoted": status == ModelStatus.PROMOTED,
                        "evaluation": comparison.as_json()})
    return status
