"""Load on the ratings API: N concurrent clients against `aigc api` on PostgreSQL; every accepted rating stored once.

    .venv/bin/python bench/ratings_load.py [--clients 50] [--seconds 30] [--retry-share 0.1]

Creates a fresh PostgreSQL database (dropped afterwards), migrates it, seeds publications, starts `aigc api`
on loopback with a random token, and runs the clients for a bounded time. Each POST carries a unique
Idempotency-Key; a share of posts resend an earlier key (a client retry) and must come back 200 with the
first rating. Afterwards the database must hold exactly one rating per accepted key: none lost, none twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MAX_SECONDS = 300  # bounded: this is a benchmark, not a soak test


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed_publications(url: str, count: int) -> list[int]:
    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.db import repo
    from aigc_workflow.db.models import Draft, Modality, Publication
    from aigc_workflow.db.session import session_scope

    with session_scope(url) as session:
        repo.upsert_briefs([BriefSpec(ref="load", topic="Load test")], session=session)
        brief = repo.list_briefs(session=session)[0]
        batch = repo.create_batch(session=session, review_mode="auto", seed=0, candidates=count, config={})
        ids = []
        for index in range(count):
            draft = Draft(cache_key=f"load-{index}", batch_id=batch.id, brief_id=brief.id, candidate_index=index,
                          modality=Modality.TEXT, text=f"Draft {index}.", prompt="p", model_version="bench",
                          seed=index, params={})
            session.add(draft)
            session.flush()
            publication = Publication(draft_id=draft.id, channel="load", location=f"load/draft-{draft.id}.md",
                                      text=draft.text)
            session.add(publication)
            session.flush()
            ids.append(publication.id)
    return ids


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.status: dict[int, int] = {}
        self.accepted: dict[str, int] = {}  # key -> rating id the server returned
        self.unsettled: set[str] = set()  # keys whose outcome the client never learned (timeouts, resets)
        self.replays_ok = 0
        self.replays_bad = 0
        self.errors: dict[str, int] = {}


async def client(http: httpx.AsyncClient, publications: list[int], tally: Tally, deadline: float,
                 retry_share: float, rng: random.Random) -> None:
    mine: list[tuple[str, int]] = []
    while time.monotonic() < deadline:
        if mine and rng.random() < retry_share:
            key, publication = rng.choice(mine)
            retry = True
        else:
            key, publication = uuid.uuid4().hex, rng.choice(publications)
            retry = False
        started = time.perf_counter()
        try:
            response = await http.post(f"/publications/{publication}/ratings", headers={"Idempotency-Key": key},
                                       json={"rating": rng.randint(1, 5), "rater": "bench"})
        except httpx.HTTPError as error:
            tally.unsettled.add(key)
            tally.errors[type(error).__name__] = tally.errors.get(type(error).__name__, 0) + 1
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.status[response.status_code] = tally.status.get(response.status_code, 0) + 1
        if response.status_code in (200, 201):
            rating_id = response.json()["id"]
            if retry:
                good = response.status_code == 200 and tally.accepted.get(key) == rating_id
                tally.replays_ok += good
                tally.replays_bad += not good
            else:
                tally.accepted[key] = rating_id
                mine.append((key, publication))
                tally.unsettled.discard(key)
        else:
            tally.unsettled.add(key)


async def drive(base: str, token: str, publications: list[int], clients: int, seconds: float,
                retry_share: float) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=30) as http:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(client(http, publications, tally, deadline, retry_share, random.Random(i))
                               for i in range(clients)))
        elapsed = time.monotonic() - started
    return tally, elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else "?"
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--retry-share", type=float, default=0.1, help="Share of posts that resend an earlier key.")
    parser.add_argument("--publications", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("AIGC_TEST_POSTGRES_URL",
                                                               "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    seconds = min(args.seconds, MAX_SECONDS)

    from aigc_workflow.db.migrate import upgrade

    name = f"aigc_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        pg_version = connection.execute(sa.text("SHOW server_version")).scalar()
    url = sa.make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    token = secrets.token_urlsafe(32)
    process = None
    try:
        upgrade(url)
        publications = seed_publications(url, args.publications)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
        env.update({"AIGC_DATABASE_URL": url, "AIGC_API_TOKEN": token, "AIGC_CONFIG": "/nonexistent/aigc.toml",
                    "AIGC_HOME": str(Path("/tmp") / name)})
        log = Path("/tmp") / f"{name}-api.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-c", "from aigc_workflow.cli.main import app; app(prog_name='aigc')", "api",
                 "--port", str(port), "--log-level", "warning"], env=env, stdout=sink, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"aigc api did not start:\n{log.read_text()}")
        tally, elapsed = asyncio.run(drive(base, token, publications, args.clients, seconds, args.retry_share))

        from aigc_workflow.db.models import Rating
        from aigc_workflow.db.session import session_scope

        with session_scope(url) as session:
            rows = session.execute(sa.select(Rating.external_id, Rating.id)).all()
        stored = dict(rows)
        lost = [key for key in tally.accepted if key not in stored]
        wrong = [key for key, rid in tally.accepted.items() if key in stored and stored[key] != rid]
        duplicates = len(rows) - len(stored)
        # A key whose response never arrived may or may not be stored; anything else stored is unexplained.
        unexplained = [key for key in stored if key not in tally.accepted and key not in tally.unsettled]
        requests = len(tally.latencies)
        print(f"machine: {machine()}; PostgreSQL {pg_version}; server: one uvicorn worker; client on the same host")
        print(f"{args.clients} clients for {elapsed:.1f} s: {requests} responses, {requests / elapsed:.0f} req/s; "
              f"status {dict(sorted(tally.status.items()))}; {len(tally.unsettled)} without a response {tally.errors or ''}")
        print(f"latency p50 {percentile(tally.latencies, 0.50) * 1000:.1f} ms, "
              f"p99 {percentile(tally.latencies, 0.99) * 1000:.1f} ms, "
              f"mean {statistics.fmean(tally.latencies) * 1000:.1f} ms, max {max(tally.latencies) * 1000:.1f} ms")
        print(f"accepted keys {len(tally.accepted)}, rows {len(rows)}: lost {len(lost)}, duplicated {duplicates}, "
              f"wrong id {len(wrong)}, unexplained {len(unexplained)}; "
              f"replays answered with the first rating {tally.replays_ok}, otherwise {tally.replays_bad}")
        ok = not (lost or wrong or duplicates or unexplained or tally.replays_bad) and tally.accepted
        print("OK: every accepted rating stored exactly once" if ok else "FAILED")
        assert token not in log.read_text(), "the server logged its token"
        return 0 if ok else 1
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        from aigc_workflow.db.session import get_engine

        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    raise SystemExit(main())
