"""Served deployments on a real Prefect server: the daily batch runs by name, and human review suspends it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from batch_process import stop

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BIN = Path(sys.executable).parent
BRIEFS = "- ref: trees\n  topic: Why cities should plant more street trees\n- ref: sleep\n  topic: Better sleep\n"


def api(server, method: str, path: str, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
    for attempt in range(5):
        response = httpx.request(method, f"{server.api_url}{path}", timeout=30, **kwargs)
        # A busy server (its SQLite database locked for a moment) answers 503: ask again, as Prefect's client does.
        if response.status_code != 503:
            break
        time.sleep(1 + attempt)
    response.raise_for_status()
    return response.json() if response.content else None


def wait_for_deployment(server, name: str, process: subprocess.Popen, timeout_s: float = 240) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "aigc serve exited"
        try:
            return api(server, "GET", f"/deployments/name/{name}")
        except httpx.HTTPStatusError:
            time.sleep(1)
    raise AssertionError(f"deployment {name} never appeared")


def run_deployment(server, deployment: dict, parameters: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    body = {"parameters": parameters} if parameters else {}
    return api(server, "POST", f"/deployments/{deployment['id']}/create_flow_run", json=body)["id"]


def wait_for_state(server, run_id: str, states: set[str], timeout_s: float = 600) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = api(server, "GET", f"/flow_runs/{run_id}")
        if run["state"]["name"] in states:
            return run
        assert run["state"]["type"] not in ("FAILED", "CRASHED"), run["state"]
        time.sleep(1)
    raise AssertionError(f"flow run {run_id} never reached {states}")


@pytest.fixture
def served(prefect_server, tmp_path: Path, model_cache: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "today.yaml").write_text(BRIEFS)
    home = tmp_path / "home"
    env = {
        **prefect_server.env(), "AIGC_HOME": str(home), "AIGC_MODEL_CACHE": str(model_cache),
        "AIGC_SCHEDULE__BRIEFS_FOLDER": str(folder), "AIGC_SCHEDULE__TIMEZONE": "Europe/Berlin",
        "AIGC_GENERATION__MAX_NEW_TOKENS": "32", "AIGC_CANDIDATES": "1", "AIGC_CONFIG": str(tmp_path / "no.toml"),
        # Schedules and the review pause are under test, not the filters: 32-token drafts of one-line topics
        # rarely pass the editor's checks (completeness, groundedness), so the scorers are the earlier five.
        "AIGC_TEXT_SCORERS": '["relevance", "toxicity", "bias", "originality", "format"]',
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([str(BIN / "aigc"), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, f"sqlite:///{(home / 'aigc.db').resolve()}", tmp_path / "serve.log"
    finally:
        stop(process)
        log.close()


def test_daily_deployment_runs_by_name_and_human_review_suspends(prefect_server, served) -> None:  # type: ignore[no-untyped-def]
    process, db_url, log = served
    daily = wait_for_deployment(prefect_server, "content_batch/daily", process)
    weekly = wait_for_deployment(prefect_server, "finetune/weekly", process)
    assert daily["schedules"][0]["schedule"]["cron"] == "0 6 * * *"
    assert daily["schedules"][0]["schedule"]["timezone"] == "Europe/Berlin"
    assert weekly["schedules"][0]["schedule"]["cron"] == "0 3 * * 1"
    assert "config" in daily["parameter_openapi_schema"]["properties"]  # one pydantic config: a form in the UI
    limit = api(prefect_server, "GET", "/v2/concurrency_limits/aigc-gpu")
    assert limit["limit"] == 1

    run_id = run_deployment(prefect_server, daily)  # as its schedule would
    wait_for_state(prefect_server, run_id, {"Completed"})
    with session_scope(db_url) as session:
        drafts = repo.list_drafts(session=session)
        assert sorted(d.brief.ref for d in drafts) == ["sleep", "trees"]
        assert all(d.verdict is not None for d in drafts)
        published = [p for d in drafts for p in d.publications]
        assert published, "nothing published"

    # A second scheduled run finds nothing pending: every brief is drafted once.
    second = run_deployment(prefect_server, daily)
    wait_for_state(prefect_server, second, {"Completed"})
    with session_scope(db_url) as session:
        assert len(repo.list_drafts(session=session)) == 2

    # Human review under a deployment suspends the run (its process ends) until a person answers.
    with session_scope(db_url) as session:
        from aigc_workflow.briefs import BriefSpec

        repo.upsert_briefs([BriefSpec(ref="cycling", topic="The benefits of cycling to work")], session=session)
    config = {"pending_only": True, "review_mode": "human"}
    third = run_deployment(prefect_server, daily, {"config": config})
    wait_for_state(prefect_server, third, {"Suspended"})
    with session_scope(db_url) as session:
        pending = [d for d in repo.list_drafts(session=session) if d.brief.ref == "cycling"]
    assert len(pending) == 1 and pending[0].publications == []
    draft_id = pending[0].id
    with session_scope(db_url) as session:
        from aigc_workflow.db.models import Batch

        assert str(session.get(Batch, pending[0].batch_id).status) == "awaiting_review"
    api(prefect_server, "POST", f"/flow_runs/{third}/resume",
        json={"run_input": {"reviewer": "ops", f"draft_{draft_id}": {"decision": "approve", "edit": "Ride on."}}})
    wait_for_state(prefect_server, third, {"Completed"})
    with session_scope(db_url) as session:
        draft = repo.draft_with_lineage(draft_id, session=session)
        assert [p.text for p in draft.publications] == ["Ride on."]
        assert [r.reviewer for r in draft.reviews] == ["ops"]
