"""The engine's own long-lived Prefect server for one home: find it, start it, stop it (loopback only)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from aigc_workflow.settings import Settings

HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """The local server could not be started or reached; the message says what to do."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"


def prefect_home(settings: Settings) -> Path:
    """Where the server keeps its database and log: inside the engine's home, so one home is one history."""
    return (settings.home / "prefect").resolve()


def _state_file(settings: Settings) -> Path:
    return prefect_home(settings) / "server.json"


def running(settings: Settings) -> ServerInfo | None:
    """The home's server if it is up and answers."""
    state, info = server_state(settings)
    return info if state == "running" else None


def server_state(settings: Settings) -> tuple[str, ServerInfo | None]:
    """"running", "not answering" (its process lives, its API does not answer) or "not running"."""
    info = _recorded(settings)
    if info is None or not _alive(info):
        return "not running", None
    return ("running" if _healthy(info) else "not answering"), info


def start(settings: Settings) -> tuple[ServerInfo, bool]:
    """The home's server, started if none runs; True when this call started it.

    A file lock makes two commands that start at once share one server instead of racing for the port.
    """
    with _lock(settings):
        state, recorded = server_state(settings)
        if state == "running" and recorded is not None:
            return recorded, False
        if recorded is not None:
            # Started by another command and not answering yet (a busy machine): wait for it, never start a
            # second one beside it.
            stuck = (f"the Prefect server (pid {recorded.pid}) runs but did not answer at {recorded.url} within "
                     f"{settings.server.start_timeout_s:g} s: stop it with `aigc server stop` and run again")
            return _wait_healthy(recorded, None, settings.server.start_timeout_s, stuck), False
        _state_file(settings).unlink(missing_ok=True)  # a record of a server that is gone
        return _spawn(settings), True


def stop(settings: Settings, timeout_s: float = 30.0) -> ServerInfo | None:
    """Stop the home's server (the whole process group it started); None if none was running."""
    with _lock(settings):
        info = _recorded(settings)
        _state_file(settings).unlink(missing_ok=True)
        if info is None or not _alive(info):
            return None
        _signal_group(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(info) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(info):
            _signal_group(info.pid, signal.SIGKILL)
        return info


def _spawn(settings: Settings) -> ServerInfo:
    port = settings.server.port
    if not _port_free(port):
        if _healthy(ServerInfo(0, port, Path())):
            raise ServerError(
                f"port {port} on {HOST} already has a Prefect server that is not this home's (another home's, or "
                f"a `prefect server start`): use it with PREFECT_API_URL=http://{HOST}:{port}/api, or give this "
                "home another port with AIGC_SERVER__PORT"
            )
        raise ServerError(
            f"port {port} on {HOST} is in use by another program, so the engine cannot start its Prefect server "
            "there: stop that program, choose another port with AIGC_SERVER__PORT, or point the engine at a "
            "running Prefect server with PREFECT_API_URL"
        )
    home = prefect_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    # Neither Prefect settings meant for clients nor the engine's own (a database URL may hold a password).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIGC_"))}
    env.update({
        "PREFECT_HOME": str(home),  # its database: <home>/prefect/prefect.db
        "PREFECT_SERVER_API_HOST": HOST,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": f"http://{HOST}:{port}/api",  # the UI asks its API there, whatever the port
        # Offline, telemetry only logs errors; and nothing about a team's runs should leave the machine.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    })
    with log.open("ab") as sink:
        # Its own session: the server outlives this command and a Ctrl-C in the terminal does not reach it.
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
    info = ServerInfo(process.pid, port, log)
    _state_file(settings).write_text(json.dumps({"pid": info.pid, "port": port, "log": str(log)}))
    slow = (f"the Prefect server did not answer at {info.url} within {settings.server.start_timeout_s:g} s; on a "
            "busy machine allow it longer with AIGC_SERVER__START_TIMEOUT_S")
    try:
        return _wait_healthy(info, process, settings.server.start_timeout_s, slow)
    except ServerError:
        _state_file(settings).unlink(missing_ok=True)
        _signal_group(process.pid, signal.SIGKILL)
        raise


def _wait_healthy(
    info: ServerInfo, process: subprocess.Popen[bytes] | None, timeout_s: float, too_slow: str
) -> ServerInfo:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _healthy(info):
            return info
        exited = process.poll() if process is not None else (None if _alive(info) else -1)
        if exited is not None:
            raise ServerError(f"the Prefect server stopped while starting (exit {exited}); its log: {info.log}"
                              f"{_tail(info.log)}")
        time.sleep(0.5)
    raise ServerError(f"{too_slow}; its log: {info.log}{_tail(info.log)}")


def _recorded(settings: Settings) -> ServerInfo | None:
    try:
        record = json.loads(_state_file(settings).read_text())
        return ServerInfo(int(record["pid"]), int(record["port"]), Path(record["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _healthy(info: ServerInfo) -> bool:
    try:
        # trust_env=False: a proxy set for the outside world must not stand between us and loopback.
        return httpx.get(f"{info.api_url}/health", timeout=5, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(info: ServerInfo) -> bool:
    """Whether the recorded server still runs: its process, with this port on its command line (after a
    reboot the pid may belong to another program, or to another home's server)."""
    proc = Path(f"/proc/{info.pid}/cmdline")
    if Path("/proc/self").exists():
        try:
            words = proc.read_bytes().split(b"\0")
        except OSError:
            return False
        # A child of this process that exited is a zombie with an empty command line until reaped: gone.
        return b"prefect" in b" ".join(words) and str(info.port).encode() in words
    try:  # no /proc (macOS): the pid alone
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _tail(log: Path, lines: int = 5) -> str:
    try:
        last = log.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return ("\n" + "\n".join(last)) if last else ""


@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    home = prefect_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    with (home / "server.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
