"""Helpers for tests that run `aigc run` as a real process, kill it, and inspect what it left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from aigc_workflow.db.models import Draft, Publication, Verdict
from aigc_workflow.db.session import session_scope

AIGC = [sys.executable, "-c", "from aigc_workflow.cli.main import app; app(prog_name='aigc')"]
REFS = ["trees", "sleep", "cycling", "reading", "water"]
BRIEFS_YAML = "\n".join(
    f"- ref: {ref}\n  topic: Why {ref} matters in a city\n  channel: blog\n  keywords: [{ref}]" for ref in REFS
) + "\n"
CANDIDATES = 2
ALL_DRAFTS = {f"{ref}#{index}" for ref in REFS for index in range(CANDIDATES)}


@dataclass
class BatchWorld:
    """One engine home and database, and the environment `aigc run` gets there."""

    home: Path
    db_url: str
    briefs: Path
    base_env: dict[str, str]

    def env(self, generator_log: Path, delay_s: float = 0.0, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in self.base_env.items() if not k.startswith("AIGC_")}
        env.update({
            "AIGC_HOME": str(self.home),
            "AIGC_DATABASE_URL": self.db_url,
            "AIGC_CONFIG": "/nonexistent/aigc.toml",
            # The echo fake makes generation take a known time and logs every draft it was asked for.
            "AIGC_TEXT_MODEL": f"fake:echo?delay={delay_s}&log={generator_log}",
            "AIGC_GENERATION__BATCH_SIZE": "2",  # the flow stores drafts in chunks of 2 x batch size
            # The rule-based scorer alone: these tests are about orchestration, not model quality.
            "AIGC_TEXT_SCORERS": '["format"]',
            "HF_HUB_OFFLINE": "1",
            **extra,
        })
        return env

    def start(self, env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
        with output.open("wb") as sink:
            # Its own session, so a kill reaches the whole process group and nothing else.
            return subprocess.Popen(
                [*AIGC, "run", "--briefs", str(self.briefs), "--candidates", str(CANDIDATES), "--json"],
                env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def run(self, env: dict[str, str], output: Path, timeout_s: float = 240) -> subprocess.CompletedProcess[str]:
        with output.open("w") as sink:
            return subprocess.run(
                [*AIGC, "run", "--briefs", str(self.briefs), "--candidates", str(CANDIDATES), "--json"],
                env=env, stdout=sink, stderr=subprocess.STDOUT, text=True, timeout=timeout_s,
            )

    def drafts(self) -> dict[str, tuple[int, str]]:
        """'ref#candidate' -> (draft id, cache key), failing if any (brief, candidate) was stored twice."""
        with session_scope(self.db_url) as session:
            rows = session.scalars(select(Draft).order_by(Draft.id)).all()
            keyed = [(f"{d.brief.ref}#{d.candidate_index}", d.id, d.cache_key) for d in rows]
        names = [name for name, _, _ in keyed]
        assert len(names) == len(set(names)), f"a brief was drafted twice: {sorted(names)}"
        return {name: (draft_id, key) for name, draft_id, key in keyed}

    def publications(self) -> list[tuple[int, int, str]]:
        """(publication id, draft id, channel), failing if a draft was published twice to a channel."""
        with session_scope(self.db_url) as session:
            rows = [(p.id, p.draft_id, p.channel) for p in session.scalars(select(Publication).order_by(Publication.id))]
        pairs = [(draft, channel) for _, draft, channel in rows]
        assert len(pairs) == len(set(pairs)), f"published twice: {pairs}"
        return rows

    def approved(self) -> set[int]:
        with session_scope(self.db_url) as session:
            return set(session.scalars(select(Verdict.draft_id).where(Verdict.decision == "approved")))

    def chosen(self) -> set[int]:
        """The drafts the ranking chose to publish: one per brief (the briefs ask for no more)."""
        with session_scope(self.db_url) as session:
            return set(session.scalars(select(Verdict.draft_id).where(Verdict.chosen.is_(True))))

    def draft_count(self) -> int:
        with session_scope(self.db_url) as session:
            return session.scalar(select(func.count(Draft.id))) or 0

    def published_files(self) -> list[str]:
        folder = self.home / "published" / "blog"
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, process: subprocess.Popen[bytes],
             output: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the batch ended (rc {process.returncode}) before {what}:\n{output.read_text()}")
        if time.monotonic() > deadline:
            kill(process)
            raise AssertionError(f"timed out waiting for {what}:\n{output.read_text()}")
        time.sleep(0.05)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no finally blocks, no atexit, no flushing; what a power cut or the OOM killer does."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def logged(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """Ask a server process to stop; kill it if it will not, and reap it either way."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
