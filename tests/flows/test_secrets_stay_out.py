"""Secrets never leave: a batch with a password in its database URL and an API token set writes neither anywhere."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import make_url, select

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db import repo
from aigc_workflow.db.models import Batch
from aigc_workflow.db.session import session_scope
from aigc_workflow.testing import ScriptedScorer
from flows.content_batch import ContentBatchConfig, content_batch

pytestmark = pytest.mark.postgres

PASSWORD = "pw-Zq8sW3cr3t"  # the local server trusts loopback, so any password connects
TOKEN = "tok-Hk29vN0tForLogs"


def everything_prefect_kept(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId

    async def read() -> str:
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
            logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            run = await client.read_flow_run(flow_run_id)
            return "\n".join([*(str(a.data) + str(a.description) for a in artifacts), *(entry.message for entry in logs),
                              run.model_dump_json()])

    return asyncio.run(read())


def test_no_password_or_token_in_artifacts_logs_files_or_rows(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from aigc_workflow import workers
    from aigc_workflow.settings import get_settings

    url = make_url(postgres_url).set(password=PASSWORD).render_as_string(hide_password=False)
    assert PASSWORD in url
    home = tmp_path / "home"
    for key, value in {"AIGC_HOME": str(home), "AIGC_DATABASE_URL": url, "AIGC_API_TOKEN": TOKEN,
                       "AIGC_TEXT_MODEL": "fake:echo", "AIGC_TEXT_SCORERS": '["format", "relevance"]'}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    workers.clear()
    with session_scope(url) as session:
        repo.upsert_briefs([BriefSpec(ref="trees", topic="Why cities need trees", channel="blog")], session=session)
    # A scorer that fails with the secrets in reach: its error is logged and stored, the secrets must not be.
    settings = get_settings()
    assert PASSWORD not in repr(settings) and TOKEN not in repr(settings) and TOKEN not in settings.model_dump_json()
    failing = ScriptedScorer("relevance", raises=RuntimeError("scorer broke"))
    monkeypatch.setattr(workers, "get_scorers", lambda names, s: [workers.create_scorer("format", s), failing])
    try:
        with caplog.at_level(logging.DEBUG):
            state = content_batch(ContentBatchConfig(candidates=2, seed=1), return_state=True)
        summary = state.result()
    finally:
        get_settings.cache_clear()
        workers.clear()
    assert summary["drafts"] == 2

    with session_scope(url) as session:
        batch = session.scalar(select(Batch).where(Batch.id == summary["batch_id"]))
        flow_run_id, config = batch.flow_run_id, str(batch.config)
    kept = {
        "Prefect artifacts, logs and flow run": everything_prefect_kept(flow_run_id),
        "captured log records": caplog.text,
        "batch config row": config,
        "files under AIGC_HOME": "\n".join(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file()
                                           and p.suffix in {".md", ".json", ".log", ".txt"}),
    }
    assert "scorer broke" in kept["captured log records"]  # the logs were captured, so their absence means something
    for where, text in kept.items():
        assert PASSWORD not in text, f"the database password leaked into {where}"
        assert TOKEN not in text, f"the API token leaked into {where}"
