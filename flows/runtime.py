"""Where flows run their tasks (threads or Ray) and the GPU slot a run holds while its models are loaded."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prefect import get_run_logger

from aigc_workflow import workers
from aigc_workflow.settings import Settings
from flows import local_server


def make_task_runner(settings: Settings) -> Any:
    """The task runner named in settings: a thread pool here, or Ray (a local cluster or settings.ray_address)."""
    if settings.task_runner == "ray":
        from prefect_ray import RayTaskRunner

        # Ray workers are separate processes: they must see the same engine settings as this one.
        # The API token is no business of a worker (and a remote cluster shows runtime_env in its dashboard).
        env = {k: v for k, v in os.environ.items()
               if k.startswith(("AIGC_", "HF_", "TRANSFORMERS_", "PREFECT_")) and k != "AIGC_API_TOKEN"}
        init_kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}}
        if settings.ray_address is None:
            init_kwargs.update(num_cpus=os.cpu_count() or 1, include_dashboard=False)
        return RayTaskRunner(address=settings.ray_address, init_kwargs=init_kwargs)
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=settings.task_workers)


@contextmanager
def task_resources(settings: Settings) -> Iterator[None]:
    """Ask Ray for GPUs for the tasks submitted inside, when configured; elsewhere a no-op."""
    if settings.task_runner == "ray" and settings.ray_gpus_per_task:
        from prefect_ray.context import remote_options

        with remote_options(num_gpus=settings.ray_gpus_per_task):
            yield
        return
    yield


@dataclass(frozen=True)
class RunServer:
    """The Prefect server a command-line run talks to: its UI address (None: a temporary one, or a server
    whose UI address Prefect does not know), whether this run started it, and whether it is the home's own."""

    ui_url: str | None
    api_url: str | None = None
    managed: bool = False
    started: bool = False
    start_s: float = 0.0


@contextmanager
def run_settings(settings: Settings) -> Iterator[RunServer]:
    """Prefect settings for a run started from the command line, and the server it runs on.

    With PREFECT_API_URL set, that server and Prefect's settings stand. Otherwise, by default
    (settings.server.mode "managed"), the home's long-lived local server is started once and reused: no run
    waits for a server to start after the first, and the UI keeps every run's history. In "temporary" mode
    Prefect runs the flow on a server that stops with this process; its flow-run heartbeats (there for a
    long-lived server's automations to spot crashed runs) then have no reader, and the heartbeat thread, which
    sleeps in 1 s steps, holds the end of every run for up to a second: they are turned off. So is that
    server's telemetry: offline it printed "ERROR ... Failed to send telemetry" into every healthy run.
    """
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        get_current_settings,
        temporary_settings,
    )

    current = get_current_settings()
    if current.api.url:
        yield RunServer(current.ui_url, current.api.url)
        return
    if settings.server.mode == "managed":
        began = time.perf_counter()
        info, started = local_server.start(settings)
        with temporary_settings(updates={PREFECT_API_URL: info.api_url}):
            yield RunServer(info.url, info.api_url, True, started, time.perf_counter() - began)
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_SERVER_ANALYTICS_ENABLED: False}):
        yield RunServer(None)


@contextmanager
def gpu_phase(settings: Settings) -> Iterator[None]:
    """Hold the global GPU slot while this run's models are on the GPU, then unload them and let go.

    Two runs then never load models onto one GPU at once; a run waiting for review holds no slot.
    Create the limit with `aigc serve` (it makes it if missing) or `prefect gcl create aigc-gpu --limit 1`.
    """
    if not workers.needs_gpu_slot(settings):
        yield
        return
    from prefect.concurrency.sync import concurrency

    logger = get_run_logger()
    logger.info("waiting for GPU slot %r", settings.gpu_concurrency_limit)
    with concurrency(settings.gpu_concurrency_limit, occupy=1, strict=False):
        try:
            yield
        finally:
            workers.clear()
            import torch

            torch.cuda.empty_cache()
