"""`aigc run`: import a briefs file and run a content batch on it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from aigc_workflow.cli.choices import ReviewMode
from aigc_workflow.cli.common import JsonOption, database_errors, db_session, fail, print_json, settings

if TYPE_CHECKING:
    from flows.runtime import RunServer


def run(
    briefs: Path = typer.Option(..., "--briefs", "-b", help="Briefs file (YAML or CSV) to import and draft."),
    candidates: int = typer.Option(None, "--candidates", "-n", min=1, max=64, help="Drafts per brief."),
    seed: int = typer.Option(0, "--seed", "-s", min=0, help="Batch seed: same seed and briefs, same drafts."),
    review_mode: ReviewMode = typer.Option(
        None, "--review-mode",
        help="auto: the gate decides; human: every draft waits for a person; held-only: only held ones "
             "(default from settings)."),
    model: str = typer.Option(None, "--model", help="Text model spec (default from settings)."),
    image_model: str = typer.Option(None, "--image-model", help="Image model spec (default from settings)."),
    json_out: bool = JsonOption,
) -> None:
    """Run a content batch: draft, score, gate and publish the briefs of FILE, then print a summary."""
    from aigc_workflow.briefs import BriefFileError, load_briefs
    from aigc_workflow.db.repo import upsert_briefs

    try:
        specs = load_briefs(briefs)
    except BriefFileError as error:
        fail(str(error))
    with database_errors(), db_session() as session:
        upsert_briefs(specs, session=session)
    from aigc_workflow.workers import needs_gpu_slot, warm_up_text_in_background

    # Tasks run in this process: load the text models while Prefect imports and starts its server; not on a
    # GPU shared through the slot, which the flow must take before any model is loaded onto it.
    text = any(spec.modality == "text" for spec in specs)
    if settings().task_runner == "threads" and text and not needs_gpu_slot(settings()):
        warm_up_text_in_background(settings(), model)

    from flows.content_batch import ContentBatchConfig, content_batch

    try:
        config = ContentBatchConfig(
            brief_refs=[s.ref for s in specs], candidates=candidates, seed=seed,
            review_mode=str(review_mode) if review_mode else None, text_model=model, image_model=image_model,
        )
    except ValueError as error:
        fail(str(error))
    from flows.runtime import make_task_runner, run_settings

    from aigc_workflow.batch import UnknownBriefs
    from aigc_workflow.models.registry import RegistryError
    from aigc_workflow.generation.llamacpp import LlamaCppUnavailable
    from aigc_workflow.models.bundled import BundledModelMissing

    from flows.local_server import ServerError

    from aigc_workflow.cli.progress import progress_bars

    try:
        with database_errors(), run_settings(settings()) as server:
            if not json_out:
                _say_server(server)
            with progress_bars(enabled=not json_out):
                summary = content_batch.with_options(task_runner=make_task_runner(settings()))(config)
    except ServerError as error:
        fail(f"{error}. Or run on a temporary server per run with AIGC_SERVER__MODE=temporary.")
    except (ValueError, RegistryError, UnknownBriefs, BundledModelMissing, LlamaCppUnavailable) as error:
        # A bad model spec or a missing model is the user's to fix: one line, not a traceback.
        fail(f"{type(error).__name__}: {error}")
    if json_out:
        print_json(summary)
        return
    decisions = ", ".join(f"{count} {name}" for name, count in sorted(summary["decisions"].items()))
    typer.echo(
        f"batch {summary['batch_id']}: {summary['drafts']} drafts for {summary['briefs']} briefs ({decisions}); "
        f"pass rate {summary['pass_rate']:.0%}; {summary['published']} published "
        f"({summary['chosen']} chosen, {summary['alternates']} alternates)"
    )
    for reason, count in summary["reasons"].items():
        typer.echo(f"  {count:>3} x {reason}")
    typer.echo(f"see them with: aigc drafts list --batch {summary['batch_id']}")
    if server.ui_url:
        typer.echo(f"this run in the Prefect UI: {server.ui_url}/runs/flow-run/{summary['flow_run_id']}")
    typer.echo(f"published files: {settings().published_dir.resolve()}")


def _say_server(server: RunServer) -> None:
    if server.api_url is None:
        typer.echo("Prefect: a temporary server for this run (AIGC_SERVER__MODE=temporary)")
    elif server.ui_url is None:
        typer.echo(f"Prefect API: {server.api_url}")
    elif server.started:
        typer.echo(f"Prefect UI: {server.ui_url} (the engine's local server, started in {server.start_s:.0f} s; "
                   "it keeps running: `aigc server stop` stops it)")
    else:
        typer.echo(f"Prefect UI: {server.ui_url}")
