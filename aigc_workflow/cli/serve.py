"""`aigc serve`: run the scheduled deployments against a Prefect server."""

from __future__ import annotations

import typer

from aigc_workflow.cli.common import db_session, fail, settings


def serve(
    limit: int = typer.Option(None, "--limit", min=1, help="Most flow runs executing at once in this process."),
) -> None:
    """Serve the daily content batch and the weekly fine-tune deployments (cron and zone from settings)."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        fail("PREFECT_API_URL is not set: start a server with `prefect server start` and export "
             "PREFECT_API_URL=http://127.0.0.1:4200/api (schedules need a server that outlives this command)")
    with db_session():
        pass  # the schema must be current before a scheduled run touches it
    from flows.serve import serve_deployments

    config = settings()
    typer.echo(f"serving content_batch/daily ({config.schedule.content_cron}) and finetune/weekly "
               f"({config.schedule.finetune_cron}) in {config.schedule.timezone}; Ctrl-C stops")
    serve_deployments(config, limit=limit)
