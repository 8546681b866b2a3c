"""Start-up: `aigc run` to the first stored draft on a temporary Prefect server, on the home's managed server
when the run starts it, and when it is already running (the default after the first run)."""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import ROOT, footer, header, table

BRIEF = "- ref: startup\n  topic: Why cities need trees\n  candidates: 1\n"
AIGC = str(Path(sys.executable).with_name("aigc"))


def first_draft_run(home: Path, env: dict[str, str], seed: int = 0) -> dict[str, float | None]:
    """Run `aigc run` on one brief; seconds to its first new draft row in SQLite and to the process exit.

    A home that ran before keeps its drafts: only a draft beyond those counts, and a new seed makes the run
    draft anew instead of reusing the stored one."""
    briefs = home.parent / f"{home.name}.yaml"
    briefs.write_text(BRIEF)
    db = home / "aigc.db"
    env = {**env, "AIGC_HOME": str(home)}
    before = _draft_count(db)
    started = time.perf_counter()
    proc = subprocess.Popen([AIGC, "run", "--briefs", str(briefs), "--candidates", "1", "--seed", str(seed)],
                            env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    marks: dict[str, float | None] = {"server up": None}

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            # Prefect logs this once its temporary server answers; absent when PREFECT_API_URL names one.
            if marks["server up"] is None and "Starting temporary server" in line:
                marks["server starting"] = time.perf_counter() - started
            if marks["server up"] is None and ("Beginning flow run" in line or "Created flow run" in line):
                marks["server up"] = time.perf_counter() - started
            marks.setdefault("log", 0.0)
            log_lines.append(line)

    log_lines: list[str] = []
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    first = None
    while proc.poll() is None:
        if first is None and _draft_count(db) > before:
            first = time.perf_counter() - started
        time.sleep(0.05)
    reader.join(timeout=5)
    if proc.returncode != 0:
        print("".join(log_lines[-30:]))
        raise SystemExit(f"aigc run failed with {proc.returncode}")
    return {"first draft s": first, "exit s": time.perf_counter() - started,
            "flow run begins s": marks.get("server up")}


def _draft_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=0.5) as conn:
            return conn.execute("select count(*) from drafts").fetchone()[0]
    except sqlite3.Error:
        return 0


def timed_command(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new-tokens", type=int, default=16, help="kept short: this measures start-up, not drafting")
    args = parser.parse_args()
    header("start-up: `aigc run` to first draft (1 brief, 1 candidate, embedded defaults)",
           ["prefect", "llama-cpp-python", "torch", "sentence-transformers"])
    env = {**os.environ, "AIGC_GENERATION__MAX_NEW_TOKENS": str(args.new_tokens), "HF_HUB_OFFLINE": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           # Prefect's INFO lines ("Beginning flow run") mark when the flow run begins.
           "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO"}
    env.pop("PREFECT_API_URL", None)
    parts = [
        {"phase": "python + `aigc --help` (CLI imports)",
         "s": timed_command("import sys; sys.argv=['aigc','--help'];\nfrom aigc_workflow.cli.main import app\n"
                            "try: app()\nexcept SystemExit: pass", env)},
        {"phase": "import flows.content_batch (prefect)", "s": timed_command("import flows.content_batch", env)},
        {"phase": "temporary Prefect server start alone",
         "s": timed_command("from prefect.server.api.server import SubprocessASGIServer as S\n"
                            "s=S(); s.start(timeout=180); s.stop()", env)},
        {"phase": "load the default writer (cache warm)",
         "s": timed_command("from aigc_workflow import workers\n"
                            "from aigc_workflow.settings import Settings\n"
                            "s = Settings(); workers.get_generator('text', s, spec=s.text_model).load()", env)},
    ]
    table(parts, ["phase", "s"])
    with tempfile.TemporaryDirectory() as scratch:
        # Every run has a fresh home; a shared model cache keeps the one-time GGUF conversion out of the timed
        # runs (the warm-up run converts, as `aigc models prepare` does at set-up).
        env.setdefault("AIGC_MODEL_CACHE", str(Path(scratch) / "model-cache"))
        first_draft_run(Path(scratch) / "warm", {**env, "AIGC_SERVER__MODE": "temporary"})
        runs = [{"server": "temporary (AIGC_SERVER__MODE=temporary)",
                 **first_draft_run(Path(scratch) / "temp", {**env, "AIGC_SERVER__MODE": "temporary"})}]
        # The default: the home's own server, started by the first run and found running by the next.
        home = Path(scratch) / "managed"
        managed = {**env, "AIGC_SERVER__PORT": str(_free_port())}
        try:
            runs.append({"server": "managed, started by this run", **first_draft_run(home, managed)})
            runs.append({"server": "managed, already running (default)", **first_draft_run(home, managed, seed=1)})
        finally:
            subprocess.run([AIGC, "server", "stop"], env={**managed, "AIGC_HOME": str(home)}, check=False,
                           capture_output=True)
        server = _start_server(Path(scratch), env)
        if server is not None:
            proc, url = server
            try:
                runs.append({"server": "running `prefect server start` (PREFECT_API_URL)",
                             **first_draft_run(Path(scratch) / "reuse", {**env, "PREFECT_API_URL": url})})
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    table(runs, ["server", "first draft s", "exit s", "flow run begins s"])
    footer()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(scratch: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str] | None:
    import urllib.request

    port = _free_port()
    server_env = {**env, "PREFECT_HOME": str(scratch / "prefect-home")}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "server", "start", "--host",
                             "127.0.0.1", "--port", str(port)], env=server_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    print("note: `prefect server start` did not answer within 180 s; the reuse row is skipped")
    return None


if __name__ == "__main__":
    main()
