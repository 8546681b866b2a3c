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
    """The home's server if it is up and answers; a record of one that died is removed."""
    state = _state_file(settings)
    try:
        record = json.loads(state.read_text())
        info = ServerInfo(int(record["pid"]), int(record["port"]), Path(record["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(info.pid):
        state.unlink(missing_ok=True)
        return None
    return info if _healthy(info) else None


def start(settings: Settings) -> tuple[ServerInfo, bool]:
    """The home's server, started if none runs; True when this call started it.

    A file lock makes two commands that start at once share one server instead of racing for the port.
    """
    with _lock(settings):
        if (info := running(settings)) is not None:
            return info, False
        recorded = _recorded(settings)
        if recorded is not None and _alive(recorded.pid):
            # Started by another command and not answering yet (a busy machine): wait for it, do not start a second.
            return _wait_healthy(recorded, None, settings.server.start_timeout_s), False
        return _spawn(settings), True


def stop(settings: Settings, timeout_s: float = 30.0) -> ServerInfo | None:
    """Stop the home's server (the whole process group it started); None if none was running."""
    with _lock(settings):
        info = _recorded(settings)
        _state_file(settings).unlink(missing_ok=True)
        if info is None or not _alive(info.pid):
            return None
        _signal_group(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(info.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(info.pid):
            _signal_group(info.pid, signal.SIGKILL)
        return info


def _spawn(settings: Settings) -> ServerInfo:
    port = settings.server.port
    if not _port_free(port):
        raise ServerError(
            f"port {port} on {HOST} is in use by another program, so the engine cannot start its Prefect server "
            "there: stop that program, choose another port with AIGC_SERVER__PORT, or point the engine at a "
            "running Prefect server with PREFECT_API_URL"
        )
    home = prefect_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
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
    try:
        return _wait_healthy(info, process, settings.server.start_timeout_s)
    except ServerError:
        _state_file(settings).unlink(missing_ok=True)
        _signal_group(process.pid, signal.SIGKILL)
        raise


def _wait_healthy(info: ServerInfo, process: subprocess.Popen[bytes] | None, timeout_s: float) -> ServerInfo:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _healthy(info):
            return info
        exited = process.poll() if process is not None else (None if _alive(info.pid) else -1)
        if exited is not None:
            raise ServerError(f"the Prefect server stopped while starting (exit {exited}); its log: {info.log}"
                              f"{_tail(info.log)}")
        time.sleep(0.5)
    raise ServerError(
        f"the Prefect server did not answer at {info.url} within {timeout_s:g} s; on a busy machine allow it "
        f"longer with AIGC_SERVER__START_TIMEOUT_S; its log: {info.log}{_tail(info.log)}"
    )


def _recorded(settings: Settings) -> ServerInfo | None:
    try:
        record = json.loads(_state_file(settings).read_text())
        return ServerInfo(int(record["pid"]), int(record["port"]), Path(record["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _healthy(info: ServerInfo) -> bool:
    try:
        return httpx.get(f"{info.api_url}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    """Whether the recorded server process still runs (not another program that got its pid after a reboot)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        cmdline = b"prefect"  # no /proc here: trust the pid
    if b"prefect" not in cmdline:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child of this process that exited is a zombie until reaped: it counts as gone.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == 0


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
