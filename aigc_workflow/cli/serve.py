"""`aigc serve`: run the scheduled deployments against a Prefect server (the home's own, by default)."""

from __future__ import annotations

import os

import typer

from aigc_workflow.cli.common import db_session, fail, settings


def serve(
    limit: int = typer.Option(None, "--limit", min=1, help="Most flow runs executing at once in this process."),
) -> None:
    """Serve the daily content batch and the weekly fine-tune deployments (cron and zone from settings)."""
    from prefect.settings import PREFECT_API_URL

    config = settings()
    if not PREFECT_API_URL.value() and config.server.mode == "temporary":
        fail("schedules need a server that outlives this command: unset AIGC_SERVER__MODE (the engine then "
             "serves on its own local server) or set PREFECT_API_URL to a running Prefect server")
    with db_session():
        pass  # the schema must be current before a scheduled run touches it
    from flows.local_server import ServerError
    from flows.runtime import run_settings
    from flows.serve import serve_deployments

    try:
        with run_settings(config) as server:
            if server.managed:  # scheduled runs execute in child processes: they must find the same server
                os.environ["PREFECT_API_URL"] = str(server.api_url)
            typer.echo(f"serving content_batch/daily ({config.schedule.content_cron}) and finetune/weekly "
                       f"({config.schedule.finetune_cron}) in {config.schedule.timezone} on {server.ui_url or server.api_url}; "
                       "Ctrl-C stops")
            serve_deployments(config, limit=limit)
    except ServerError as error:
        fail(str(error))
