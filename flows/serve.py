"""Deployments with cron schedules, served from this process: the daily content batch and the weekly fine-tune."""

from __future__ import annotations

from typing import Any

from prefect import serve
from prefect.client.orchestration import get_client
from prefect.schedules import Cron

from aigc_workflow.settings import Settings
from flows.content_batch import ContentBatchConfig, content_batch
from flows.finetune import FinetuneConfig, finetune
from flows.runtime import make_task_runner

CONTENT_DEPLOYMENT = "daily"
FINETUNE_DEPLOYMENT = "weekly"


def deployments(settings: Settings) -> list[Any]:
    """The two deployments; each takes its one pydantic config, which the UI renders as a form."""
    schedule = settings.schedule
    folder = str(schedule.briefs_folder.resolve()) if schedule.briefs_folder else None
    daily = ContentBatchConfig(pending_only=True, briefs_folder=folder)
    batch_flow = content_batch.with_options(task_runner=make_task_runner(settings))
    return [
        batch_flow.to_deployment(
            name=CONTENT_DEPLOYMENT,
            schedules=[Cron(schedule.content_cron, timezone=schedule.timezone)],
            parameters={"config": daily.model_dump(mode="json")},
            description="Drafts every pending brief (new ones in the briefs folder too), scores, gates, publishes.",
            tags=["aigc", "content"],
            concurrency_limit=1,
        ),
        finetune.to_deployment(
            name=FINETUNE_DEPLOYMENT,
            schedules=[Cron(schedule.finetune_cron, timezone=schedule.timezone)],
            parameters={"config": FinetuneConfig().model_dump(mode="json")},
            description="Fine-tunes the text generator on the week's ratings and reviews; promotes it if not worse.",
            tags=["aigc", "finetune"],
            concurrency_limit=1,
        ),
    ]


def ensure_gpu_limit(settings: Settings) -> None:
    """Create the global GPU concurrency limit (one slot) if it does not exist yet."""
    if not settings.gpu_concurrency_limit:
        return
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(settings.gpu_concurrency_limit)
        except Exception:  # noqa: BLE001 - not found: create it; the server decides what "found" means
            client.upsert_global_concurrency_limit_by_name(settings.gpu_concurrency_limit, limit=1)


def serve_deployments(settings: Settings, limit: int | None = None) -> None:
    """Register the deployments with the Prefect server and run their scheduled runs until stopped."""
    ensure_gpu_limit(settings)
    serve(*deployments(settings), limit=limit)
