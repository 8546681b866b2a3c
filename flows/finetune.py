"""The finetune flow: feedback -> dataset -> training -> evaluation -> promotion, with artifacts."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel, Field

from aigc_workflow.db.models import RunStatus
from aigc_workflow.settings import get_settings
from aigc_workflow.training import run as stages
from aigc_workflow.training.dataset import FeedbackDataset, NotEnoughFeedback
from aigc_workflow.training.evaluate import Comparison, comparison_markdown
from flows.runtime import gpu_phase


class FinetuneConfig(BaseModel):
    """Parameters of one fine-tune run; the Prefect UI renders them as a form."""

    sft_steps: int | None = Field(None, ge=1, description="SFT steps (default from settings).")
    preference_steps: int | None = Field(None, ge=0, description="DPO/KTO steps after SFT; 0 skips them.")


@task
def collect(config: FinetuneConfig) -> tuple[int, FeedbackDataset] | str:
    try:
        return stages.start_run(_settings(config))
    except NotEnoughFeedback as error:
        return str(error)


@task
def train(config: FinetuneConfig, run_id: int, data: FeedbackDataset) -> int:
    return stages.train_candidate(_settings(config), run_id, data)


@task
def evaluate(config: FinetuneConfig, version_id: int, data: FeedbackDataset) -> Comparison:
    comparison = stages.evaluate_candidate(_settings(config), version_id, data)
    create_markdown_artifact(key=f"finetune-evaluation-{version_id}", markdown=comparison_markdown(comparison),
                             description="Candidate vs promoted model on held-out briefs.")
    return comparison


@task
def conclude(config: FinetuneConfig, run_id: int, version_id: int, comparison: Comparison) -> str:
    return stages.conclude(_settings(config), run_id, version_id, comparison)


@task
def report_filter_quality(config: FinetuneConfig, run_id: int) -> None:
    """The filters' measured quality on held-out labelled data, next to the model it gates."""
    from aigc_workflow.filters.evaluate import evaluate_scorers, report_markdown

    settings = _settings(config)
    if not settings.finetune.filters_report_limit:
        return
    report = evaluate_scorers(settings, limit=settings.finetune.filters_report_limit)
    create_markdown_artifact(key=f"finetune-{run_id}-filter-quality", markdown=report_markdown(report),
                             description="Filter quality (AUC, precision, recall, identity false alarms).")


def _settings(config: FinetuneConfig):  # type: ignore[no-untyped-def]
    settings = get_settings()
    overrides = config.model_dump(exclude_none=True)
    if not overrides:
        return settings
    return settings.model_copy(update={"finetune": settings.finetune.model_copy(update=overrides)})


@flow(name="finetune", log_prints=True)
def finetune(config: FinetuneConfig = FinetuneConfig()) -> dict[str, Any]:  # noqa: B008
    """Fine-tune the text generator on the feedback since the last run, and promote it if it is not worse."""
    logger = get_run_logger()
    collected = collect(config)
    if isinstance(collected, str):
        logger.info(collected)
        create_markdown_artifact(key="finetune-skipped", markdown=f"# Fine-tune skipped\n\n{collected}\n")
        return {"status": "skipped", "message": collected}
    run_id, data = collected
    logger.info("run %s: %d desirable, %d undesirable, %d pairs", run_id, len(data.desirable),
                len(data.undesirable), len(data.pairs))
    try:
        with gpu_phase(get_settings()):
            version_id = train(config, run_id, data)
            comparison = evaluate(config, version_id, data)
        status = conclude(config, run_id, version_id, comparison)
    except BaseException as error:
        stages.finish_run(get_settings(), run_id, RunStatus.FAILED, message=f"{type(error).__name__}: {error}")
        raise
    try:
        report_filter_quality(config, run_id)
    except Exception as error:  # noqa: BLE001 - a report must not undo a concluded (maybe promoted) run
        logger.warning("filter-quality report of run %s skipped: %s: %s", run_id, type(error).__name__, error)
    return {"status": status, "run_id": run_id, "version_id": version_id, **comparison.as_json()}
