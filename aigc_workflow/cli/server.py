"""`aigc server start|stop|status`: the engine's long-lived local Prefect server for this home."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from aigc_workflow.cli.common import JsonOption, fail, print_json, settings

if TYPE_CHECKING:
    from flows.local_server import ServerInfo

app = typer.Typer(
    help="The local Prefect server (UI, run history) for this home; `aigc run` starts it when it is not running.",
    no_args_is_help=True,
)


def _report(info: ServerInfo | None, state: str, json_out: bool, **extra: object) -> None:
    record = {"state": state, "ui_url": info.url if info else None, "api_url": info.api_url if info else None,
              "pid": info.pid if info else None, "log": str(info.log) if info else None, **extra}
    if json_out:
        print_json(record)
    elif info is None:
        typer.echo(f"no server running for {settings().home.resolve()}")
    elif state == "not answering":
        typer.echo(f"not answering: the server (pid {info.pid}) runs but its API at {info.api_url} does not "
                   f"answer; `aigc server stop` stops it (log {info.log})")
    else:
        typer.echo(f"{state}: Prefect UI {info.url} (pid {info.pid}; log {info.log})")


@app.command()
def start(json_out: bool = JsonOption) -> None:
    """Start the server (if it is not running) and wait until it answers."""
    from flows.local_server import ServerError, start as start_server

    began = time.perf_counter()
    try:
        info, started = start_server(settings())
    except ServerError as error:
        fail(str(error))
    _report(info, "started" if started else "running", json_out, seconds=round(time.perf_counter() - began, 1))


@app.command()
def stop(json_out: bool = JsonOption) -> None:
    """Stop the server; its run history stays in the home and is there again at the next start."""
    from flows.local_server import stop as stop_server

    info = stop_server(settings())
    _report(info, "stopped" if info else "not running", json_out)


@app.command()
def status(json_out: bool = JsonOption) -> None:
    """Say whether the server runs and where its UI is; exit code 1 when it does not run or answer."""
    from flows.local_server import server_state

    state, info = server_state(settings())
    _report(info, state, json_out)
    if state != "running":
        raise typer.Exit(1)
