"""PostgreSQL stopped mid-batch: `aigc run` fails clearly (naming the database) and a re-run completes the batch.

This stops the shared local PostgreSQL for a few seconds; deselect it with `-m "not postgres"` when others use it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_process import ALL_DRAFTS, BRIEFS_YAML, BatchWorld, logged, wait_for
from sqlalchemy import make_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PG_VERSION = next(iter(sorted(p.name for p in Path("/etc/postgresql").glob("*"))), None)


def pg_ctl(action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", str(PG_VERSION), "main", action, *(
        ["-m", "fast"] if action == "stop" else [])], check=True, timeout=60, capture_output=True)


def wait_pg_ready(timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError("PostgreSQL did not come back")
        time.sleep(0.2)


@pytest.fixture
def world(tmp_path: Path, postgres_url: str, prefect_server) -> Iterator[BatchWorld]:  # type: ignore[no-untyped-def]
    if PG_VERSION is None:
        pytest.skip("no local PostgreSQL cluster to stop")
    briefs = tmp_path / "briefs.yaml"
    briefs.write_text(BRIEFS_YAML)
    yield BatchWorld(tmp_path / "home", postgres_url, briefs, prefect_server.env())


def test_database_gone_mid_batch_fails_clearly_and_a_rerun_completes(world: BatchWorld, tmp_path: Path) -> None:
    out = tmp_path / "run-1.out"
    process = world.start(world.env(tmp_path / "gen-1.log", delay_s=3.0), out)
    try:
        wait_for(lambda: world.draft_count() >= 4, 120, "the first chunk of drafts was stored", process, out)
        pg_ctl("stop")  # while the second chunk is being generated
        stopped = time.monotonic()
        rc = process.wait(timeout=90)
        outage_s = time.monotonic() - stopped
    finally:
        # Others share this server: it comes back whatever happened above.
        pg_ctl("start")
        wait_pg_ready()
        if process.poll() is None:
            process.kill()
    text = out.read_text()
    database = make_url(world.db_url).render_as_string(hide_password=True)
    assert rc == 1, text
    assert f"error: database {database} failed:" in text, text
    assert "run the same command again" in text
    assert outage_s < 60, "the run gave up within its retries instead of hanging"
    print(f"run failed {outage_s:.1f} s after PostgreSQL stopped")

    stored = world.drafts()
    rerun = world.run(world.env(tmp_path / "gen-2.log"), tmp_path / "run-2.out")
    assert rerun.returncode == 0, (tmp_path / "run-2.out").read_text()
    after = world.drafts()  # every (brief, candidate) stored once
    assert set(after) == ALL_DRAFTS
    assert {name: after[name] for name in stored} == stored
    assert sorted(logged(tmp_path / "gen-2.log")) == sorted(ALL_DRAFTS - set(stored))
    publications = world.publications()  # nothing published twice
    assert {draft for _, draft, _ in publications} == world.chosen()
    assert world.chosen() <= world.approved(), "only approved drafts are chosen and published"
