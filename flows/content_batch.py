"""The content_batch flow: demand -> generate -> score -> gate -> rank -> publish -> report, as thin Prefect tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import DEFAULT, NO_CACHE
from prefect.exceptions import FlowPauseTimeout, Pause
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from prefect.settings import get_current_settings
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field, create_model
from sqlalchemy.exc import DBAPIError

from aigc_workflow import (
    batch,
    image_feedback,
    images,
    report,
    review,
    review_form,
    workers,
)
from aigc_workflow.db.models import BatchStatus
from aigc_workflow.latent_steering import LatentFeedback
from aigc_workflow.settings import Settings, get_settings
from flows import progress
from flows.runtime import gpu_phase, task_resources


class ContentBatchConfig(BaseModel):
    """Parameters of one content batch; the Prefect UI renders them as a form."""

    brief_refs: list[str] | None = Field(
        None, description="Refs of the briefs to draft (imported with `aigc brief import`); empty means all briefs."
    )
    candidates: int | None = Field(
        None, ge=1, le=64, description="Drafts per brief, unless the brief sets its own; default from settings."
    )
    seed: int = Field(0, ge=0, description="Batch seed; the same seed and briefs give the same drafts.")
    review_mode: Literal["auto", "human", "held-only"] | None = Field(
        None, description="auto: the gate decides; human: every draft waits for a person; held-only: only held ones."
    )
    text_model: str | None = Field(
        None, description="Text model spec (bundled:..., a Hugging Face id[@rev], a directory); default from settings."
    )
    pending_only: bool = Field(
        False, description="Only briefs that have no drafts yet (what a scheduled batch picks up)."
    )
    briefs_folder: str | None = Field(
        None, description="Import every .yaml/.yml/.csv briefs file in this folder before drafting."
    )
    image_model: str | None = Field(
        None, description="Image model spec (bundled:dcgan-faces-64, a diffusers Hugging Face id[@rev], a directory)."
    )


def _transient(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Retry only what a retry can fix: the database dropping a connection, not a bug or bad input."""
    try:
        state.result()
    except DBAPIError as error:
        return bool(error.connection_invalidated) or "connection" in str(error).lower()
    except Exception:  # noqa: BLE001
        return False
    return False


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient)
def start_batch(config: ContentBatchConfig) -> tuple[int, list[int]]:
    settings = get_settings()
    if config.briefs_folder:
        batch.import_briefs_folder(settings, config.briefs_folder)
    return batch.start_batch(
        settings,
        pending_only=config.pending_only,
        flow_run_id=str(flow_run.get_id()) if flow_run.get_id() else None,
        brief_refs=config.brief_refs,
        seed=config.seed,
        candidates=config.candidates or settings.candidates,
        review_mode=config.review_mode or settings.review_mode,
        config=config.model_dump(mode="json"),
    )


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient)
def choose_text_model(config: ContentBatchConfig) -> batch.ModelChoice:
    return batch.text_model_choice(get_settings(), config.text_model)


@task
def plan_text_drafts(
    brief_ids: list[int], config: ContentBatchConfig, model: batch.ModelChoice, round_no: int = 0
) -> list[batch.PlannedDraft]:
    settings = get_settings()
    generator = workers.get_generator("text", settings, spec=model.spec, registered=model.registered)
    return batch.plan(
        settings, brief_ids, batch_seed=config.seed, candidates=config.candidates or settings.candidates,
        model_version=generator.model_version, params=generator.params, round_no=round_no,
    )


def _in_chunks(
    planned: list[batch.PlannedDraft], size: int, bar: UUID | None,
    store: Callable[[list[batch.PlannedDraft]], list[int]],
) -> list[int]:
    """Generate and store chunk by chunk: a crash loses at most one chunk, and the progress bar moves."""
    ids: list[int] = []
    for chunk in _chunks(planned, size):
        ids += store(chunk)
        progress.advance(bar, (draft.key for draft in chunk))
    return ids


# The progress bar's id is new on every run: it must not make a resumed run miss its stored results.
@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient, cache_policy=DEFAULT - "bar")
def generate_text(
    batch_id: int, planned: list[batch.PlannedDraft], model: batch.ModelChoice, bar: UUID | None = None
) -> list[int]:
    settings = get_settings()
    generator = workers.get_generator("text", settings, spec=model.spec, registered=model.registered)
    size = min(settings.generation.batch_size, generator.max_batch or settings.generation.batch_size)
    return _in_chunks(planned, size * 2, bar, lambda chunk: batch.generate_and_store(
        settings, generator, batch_id, chunk, model_version_id=model.version_id))


@task
def plan_image_drafts(
    brief_ids: list[int], config: ContentBatchConfig
) -> tuple[list[batch.PlannedDraft], LatentFeedback | None]:
    """Image drafts to make, and the ratings that steer them (fixed here, so planning and generation agree)."""
    settings = get_settings()
    generator = workers.get_generator("image", settings, spec=config.image_model or settings.image_model)
    feedback = None
    if getattr(generator, "steers", False):
        feedback = image_feedback.latent_feedback(settings, generator.model_version) or None
        generator = generator.with_feedback(feedback)
    planned = batch.plan(
        settings, brief_ids, batch_seed=config.seed, candidates=config.candidates or settings.candidates,
        model_version=generator.model_version, params=generator.params, modality="image",
    )
    return planned, feedback


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient, cache_policy=DEFAULT - "bar")
def generate_images(
    batch_id: int, planned: list[batch.PlannedDraft], config: ContentBatchConfig, feedback: LatentFeedback | None,
    bar: UUID | None = None,
) -> list[int]:
    settings = get_settings()
    generator = workers.get_generator("image", settings, spec=config.image_model or settings.image_model)
    if feedback:
        generator = generator.with_feedback(feedback)
    return _in_chunks(planned, settings.image.batch_size * 2, bar,
                      lambda chunk: batch.generate_and_store(settings, generator, batch_id, chunk))


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient)
def score(draft_ids: list[int], stage: str = "scores") -> None:
    settings = get_settings()
    # Each scorer sees only drafts of its modality; scorers with nothing to score load nothing.
    names = list(dict.fromkeys(settings.text_scorers + settings.image_scorers))
    batch.score_drafts(settings, draft_ids, workers.get_scorers(names, settings), stage=stage)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient)
def gate(draft_ids: list[int]) -> dict[int, str]:
    return batch.gate_drafts(get_settings(), draft_ids)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient)
def briefs_to_redraft(draft_ids: list[int]) -> list[int]:
    return batch.briefs_to_redraft(get_settings(), draft_ids)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient)
def rank(draft_ids: list[int]) -> list[int]:
    """A brief's candidates are alternatives: the best-ranked approved ones are chosen to publish."""
    return batch.rank_drafts(get_settings(), draft_ids)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def publish(draft_ids: list[int], review_mode: str) -> list[int]:
    return batch.publish_approved(get_settings(), draft_ids, review_mode)


@task
def pending_review(draft_ids: list[int], review_mode: str) -> list[review.ReviewItem]:
    return review.pending_items(get_settings(), draft_ids, review_mode)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def record_reviews(items: list[review.ReviewItem], values: dict[str, Any]) -> list[int]:
    reviewer, decisions = review_form.inputs_from_form(items, values)
    return review.record_reviews(get_settings(), reviewer, decisions)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient)
def settle_review_mode(batch_id: int, review_mode: str) -> None:
    batch.set_review_mode(get_settings(), batch_id, review_mode)


@task(cache_policy=NO_CACHE)
def report_overrides(batch_id: int, draft_ids: list[int]) -> None:
    stats = review.override_stats(get_settings(), draft_ids)
    create_markdown_artifact(
        key=f"batch-{batch_id}-review", markdown=review.override_markdown(stats),
        description=f"Who decided what in batch {batch_id}, and how often reviewers overrode the gate.",
    )


def wait_for_review(batch_id: int, items: list[review.ReviewItem]) -> dict[str, Any] | None:
    """Pause (or, under a deployment, suspend) until a person submits the review form; None on timeout."""
    settings = get_settings()
    artifact_url = review_artifact(batch_id, items)
    form = create_model(f"Batch{batch_id}Review", __base__=RunInput, **review_form.form_fields(items, artifact_url))
    form = form.with_initial_data(
        description=review_form.overview_markdown(items, image_uri=images.data_uri, artifact_url=artifact_url)
    )
    key = f"review-batch-{batch_id}"
    try:
        if deployment.get_id():
            # Suspending ends this process (freeing its GPU); the run restarts on resume and every
            # finished task comes back from its persisted result.
            values = suspend_flow_run(wait_for_input=form, timeout=settings.review_timeout_s, key=key)
        else:
            values = pause_flow_run(wait_for_input=form, timeout=settings.review_timeout_s, key=key)
    except FlowPauseTimeout:
        return None
    return values.model_dump(exclude={"metadata"})


def review_artifact(batch_id: int, items: list[review.ReviewItem]) -> str | None:
    """Every waiting draft side by side on a full-width page (the form is a narrow modal); its UI address."""
    artifact_id = create_markdown_artifact(
        key=f"batch-{batch_id}-to-review", markdown=review_form.drafts_markdown(items, image_uri=images.data_uri),
        description=f"The drafts of batch {batch_id} waiting for review: every score, text and image.",
    )
    # Prefect's url_for knows no artifact pages; the UI serves them at this path.
    ui_url = get_current_settings().ui_url
    return f"{ui_url.rstrip('/')}/artifacts/artifact/{artifact_id}" if ui_url else None


@task(cache_policy=NO_CACHE)
def report_batch(batch_id: int, draft_ids: list[int], review_mode: str) -> dict[str, Any]:
    settings = get_settings()
    rows = report.batch_rows(settings, draft_ids)
    summary = report.summarize(rows)
    create_table_artifact(
        key=f"batch-{batch_id}-drafts", table=report.table_rows(rows),
        description=f"Every draft of batch {batch_id} with its scores, verdict and reasons.",
    )
    if any(row["image_path"] for row in rows):
        create_markdown_artifact(
            key=f"batch-{batch_id}-images", markdown=images.gallery_markdown(batch_id, rows),
            description=f"Thumbnails of the image drafts of batch {batch_id} with their scores and verdicts.",
        )
    create_markdown_artifact(
        key=f"batch-{batch_id}-summary", markdown=report.markdown(batch_id, summary),
        description=f"Summary of content batch {batch_id}.",
    )
    # Whatever happened on the way (a timeout, a terminal review meanwhile), the status says what still waits.
    waiting = review_mode != "auto" and review.pending_items(settings, draft_ids, review_mode)
    status = BatchStatus.AWAITING_REVIEW if waiting else BatchStatus.SUCCEEDED
    batch.finish_batch(settings, batch_id, status, summary)
    return {"batch_id": batch_id, "flow_run_id": str(flow_run.get_id()), **summary}


def redraft(batch_id: int, draft_ids: list[int], config: ContentBatchConfig, model: batch.ModelChoice) -> list[int]:
    """Rounds of new candidates for the text briefs whose every candidate the gate rejected; their new draft ids.

    Redrafting costs time only where drafts failed, and gives such a brief another chance instead of nothing.
    """
    settings = get_settings()
    new_ids: list[int] = []
    for round_no in range(1, settings.redraft_rounds + 1):
        brief_ids = briefs_to_redraft(draft_ids + new_ids)
        if not brief_ids:
            break
        with gpu_phase(settings):
            planned = plan_text_drafts(brief_ids, config, model, round_no)
            get_run_logger().info("batch %s: redraft round %d, %d new drafts for %d brief(s) whose drafts were "
                                  "all rejected", batch_id, round_no, len(planned), len(brief_ids))
            with progress.ProgressBar(f"batch-{batch_id}-redraft-{round_no}", len(planned),
                                      description=f"Redraft round {round_no} of batch {batch_id}",
                                      stage=f"drafts (redraft {round_no})") as bar:
                bar_id = bar.id if settings.task_runner == "threads" else None
                with task_resources(settings):
                    futures = [generate_text.submit(batch_id, part, model, bar_id)
                               for part in _task_parts(settings, planned, settings.generation.batch_size)]
                ids = _results(futures, bar, bar_id)
            score(ids, f"scores (redraft {round_no})")
        gate(ids)
        new_ids += ids
    return new_ids


def _results(futures: list[Any], bar: progress.ProgressBar, bar_id: UUID | None) -> list[int]:
    """The draft ids of generation futures in order; the bar moves here when tasks cannot move it (Ray)."""
    ids: list[int] = []
    for future in futures:
        done = future.result()
        ids += done
        if bar_id is None:
            bar.advance(done)
    bar.complete()
    return ids


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _task_parts(settings: Settings, planned: list[Any], batch_size: int) -> list[list[Any]]:
    """How drafts split into generation tasks.

    Under Ray, one task per chunk of two generator batches, so chunks spread over its workers. In threads,
    one task per thread, of whole generator batches, working through its chunks: every task costs API calls
    and a stored result, which 25 small tasks per 400 drafts showed (bench/orchestration.py).
    """
    if settings.task_runner == "ray":
        return _chunks(planned, batch_size * 2)
    per_thread = -(-len(planned) // settings.task_workers)
    return _chunks(planned, max(batch_size, -(-per_thread // batch_size) * batch_size))


# Results persist so that a run suspended for review (under a deployment) resumes without redoing its tasks;
# tasks with effects that must happen again (publishing after the review, reports) opt out of caching.
@flow(name="content_batch", log_prints=True, persist_result=True, task_runner=ThreadPoolTaskRunner(max_workers=1))
def content_batch(config: ContentBatchConfig = ContentBatchConfig()) -> dict[str, Any]:  # noqa: B008
    """Draft every brief, score and gate each draft, publish each brief's best approved draft(s), and report."""
    settings = get_settings()
    batch_id, brief_ids = start_batch(config)
    try:
        return _run(batch_id, brief_ids, config)
    except Pause:
        # Suspended for review under a deployment: the run comes back when a person answers.
        batch.finish_batch(settings, batch_id, BatchStatus.AWAITING_REVIEW, {})
        raise
    except BaseException:
        # Leave an honest record: a re-run reuses every stored draft and publishes nothing twice.
        batch.finish_batch(settings, batch_id, BatchStatus.FAILED, {})
        raise


def _run(batch_id: int, brief_ids: list[int], config: ContentBatchConfig) -> dict[str, Any]:
    logger = get_run_logger()
    settings = get_settings()
    wanted = batch.modalities(settings, brief_ids)
    # Planning loads the generators (for their versions), so it runs inside the GPU slot too.
    with gpu_phase(settings):
        # Only the generators a batch needs are loaded: an image-only batch never loads the text model.
        model = choose_text_model(config) if "text" in wanted else None
        planned = plan_text_drafts(brief_ids, config, model) if model is not None else []
        planned_images, feedback = plan_image_drafts(brief_ids, config) if "image" in wanted else ([], None)
        logger.info("batch %s: %d briefs, %d text and %d image drafts planned", batch_id, len(brief_ids),
                    len(planned), len(planned_images))
        with progress.ProgressBar(f"batch-{batch_id}-generation", len(planned) + len(planned_images),
                                  description=f"Generation progress of batch {batch_id}") as bar:
            # Tasks in threads advance the bar themselves as chunks finish; Ray workers cannot reach it.
            bar_id = bar.id if settings.task_runner == "threads" else None
            # Submitted, parts spread over Ray workers when the task runner is Ray (one model load per worker).
            with task_resources(settings):
                futures = [generate_text.submit(batch_id, part, model, bar_id)
                           for part in _task_parts(settings, planned, settings.generation.batch_size)]
                futures += [generate_images.submit(batch_id, part, config, feedback, bar_id)
                            for part in _task_parts(settings, planned_images, settings.image.batch_size)]
            draft_ids = _results(futures, bar, bar_id)
        score(draft_ids)
    gate(draft_ids)
    review_mode = config.review_mode or settings.review_mode
    # A person who reviews every draft may approve a rejected one; elsewhere a failed brief gets new candidates.
    if model is not None and review_mode != "human":
        draft_ids += redraft(batch_id, draft_ids, config, model)
    rank(draft_ids)
    publish(draft_ids, review_mode)  # in held-only mode, the chosen approved drafts go out now
    if review_mode == "auto":
        return report_batch(batch_id, draft_ids, review_mode)
    items = pending_review(draft_ids, review_mode)
    if items:
        values = wait_for_review(batch_id, items)
        if values is None:
            logger.warning("review of batch %s timed out: nothing more published, drafts stay held", batch_id)
            return report_batch(batch_id, draft_ids, review_mode)
        record_reviews(items, values)
        # What the reviewer left to the gate, the gate decides now: its chosen approved drafts publish.
        review_mode = review_form.mode_after_form(review_mode)
        settle_review_mode(batch_id, review_mode)
        publish(draft_ids, review_mode)
    report_overrides(batch_id, draft_ids)
    return report_batch(batch_id, draft_ids, review_mode)
