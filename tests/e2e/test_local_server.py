"""The engine's own Prefect server: `aigc run` starts it once and reuses it; `aigc server` starts, shows and
stops it; a port taken by another program or a server too slow to start is one clear line, not a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e]

AIGC = [sys.executable, "-c", "from aigc_workflow.cli.main import app; app(prog_name='aigc')"]
BRIEFS = """\
- ref: chess-night
  topic: Reminder email for the Riverside chess club's open night
  audience: club members
  tone: friendly
  format: email
  min_words: 40
  max_words: 120
  keywords: [chess]
  facts: ["Open night is Thursday 14 March from 18:30 to 21:00 at the Riverside Library, room 2."]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def engine_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    """The defaults a user gets (the bundled writer through llama.cpp, every default scorer), in a fresh home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGC_", "PREFECT_"))}
    env.update({
        "AIGC_HOME": str(home), "AIGC_CONFIG": "/nonexistent/aigc.toml", "AIGC_SERVER__PORT": str(port),
        "HF_HUB_OFFLINE": "1", **extra,
    })
    return env


def aigc(env: dict[str, str], *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AIGC, *args], env=env, capture_output=True, text=True, timeout=timeout_s)


@pytest.mark.slow
def test_run_starts_the_homes_server_once_and_reuses_it(tmp_path: Path, model_cache: Path) -> None:
    port = free_port()
    env = engine_env(tmp_path / "home", port, AIGC_MODEL_CACHE=str(model_cache))
    briefs = tmp_path / "briefs.yaml"
    briefs.write_text(BRIEFS)
    try:
        assert aigc(env, "server", "status").returncode == 1  # none yet

        first = aigc(env, "run", "--briefs", str(briefs), "--candidates", "1")
        assert first.returncode == 0, first.stderr[-3000:]
        assert f"Prefect UI: http://127.0.0.1:{port} (the engine's local server, started in" in first.stdout
        status = json.loads(aigc(env, "server", "status", "--json").stdout)
        assert status["state"] == "running" and status["ui_url"] == f"http://127.0.0.1:{port}"

        started = time.monotonic()
        second = aigc(env, "run", "--briefs", str(briefs), "--candidates", "1", "--seed", "1")
        second_s = time.monotonic() - started
        assert second.returncode == 0, second.stderr[-3000:]
        assert f"Prefect UI: http://127.0.0.1:{port}\n" in second.stdout  # found running, not started again
        assert json.loads(aigc(env, "server", "status", "--json").stdout)["pid"] == status["pid"]
        run_url = next(line for line in second.stdout.splitlines() if "/runs/flow-run/" in line).split()[-1]
        run_id = run_url.rsplit("/", 1)[1]
        flow_run = httpx.get(f"http://127.0.0.1:{port}/api/flow_runs/{run_id}", timeout=10).json()
        assert flow_run["state"]["type"] == "COMPLETED"
        # Both runs' history is on the one server, its database inside the engine's home.
        runs = httpx.post(f"http://127.0.0.1:{port}/api/flow_runs/filter", json={}, timeout=10).json()
        assert len(runs) == 2 and (tmp_path / "home" / "prefect" / "prefect.db").exists()
        # The run's UI page is served too (offline, from the package), as a browser asks for it.
        page = httpx.get(run_url, headers={"Accept": "text/html"}, timeout=10, follow_redirects=True)
        assert page.status_code == 200 and "<html" in page.text.lower()
        # A healthy run on the real writer: no traceback (llama.cpp's at exit), no ERROR, none of Prefect's INFO
        # lines or llama.cpp's load messages; the engine's bars (their last state, off a terminal) instead.
        for run in (first, second):
            assert "Traceback" not in run.stderr and "ERROR" not in run.stderr and "INFO" not in run.stderr
            assert "llama" not in run.stderr.lower(), run.stderr[-2000:]
        bars = [line.split()[0] for line in first.stderr.splitlines() if "━" in line]
        assert bars[:2] == ["drafts", "scores"], first.stderr[-2000:]
        print(f"second run on the running server: {second_s:.1f} s")
    finally:
        stopped = aigc(env, "server", "stop", "--json")
    assert json.loads(stopped.stdout)["state"] == "stopped"
    assert aigc(env, "server", "status").returncode == 1
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)


def test_a_port_taken_by_another_program_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = aigc(engine_env(tmp_path / "home", port), "server", "start")
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use by another program" in result.stderr
    assert "AIGC_SERVER__PORT" in result.stderr and "Traceback" not in result.stderr


def test_a_server_too_slow_to_start_names_the_setting_and_leaves_nothing_running(tmp_path: Path) -> None:
    port = free_port()
    env = engine_env(tmp_path / "home", port, AIGC_SERVER__START_TIMEOUT_S="0.5")
    result = aigc(env, "server", "start")
    assert result.returncode == 1
    assert "did not answer" in result.stderr and "AIGC_SERVER__START_TIMEOUT_S" in result.stderr
    assert "Traceback" not in result.stderr
    assert aigc(env, "server", "status").returncode == 1
    time.sleep(1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the half-started server was stopped: its port is free again


def test_serve_refuses_a_temporary_server_for_schedules(tmp_path: Path) -> None:
    result = aigc(engine_env(tmp_path / "home", free_port(), AIGC_SERVER__MODE="temporary"), "serve")
    assert result.returncode == 1
    assert "schedules need a server that outlives this command" in result.stderr
