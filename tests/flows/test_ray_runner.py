"""Scale-out: a batch on a local Ray cluster the test starts gives the same drafts as on threads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope

pytestmark = pytest.mark.slow
BRIEFS = [BriefSpec(ref="trees", topic="Why cities need trees"), BriefSpec(ref="sleep", topic="Better sleep")]


@pytest.fixture
def ray_env(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL

    from aigc_workflow import workers
    from aigc_workflow.settings import get_settings

    # Ray workers are other processes: they reach the test's Prefect server and settings through the environment.
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    monkeypatch.setenv("AIGC_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    # Ray's worker plumbing is the subject: the small writer keeps four worker loads quick.
    monkeypatch.setenv("AIGC_TEXT_MODEL", "bundled:smollm2-135m-instruct")
    monkeypatch.setenv("AIGC_TEXT_SCORERS", '["format"]')
    monkeypatch.setenv("AIGC_GENERATION__MAX_NEW_TOKENS", "16")
    monkeypatch.setenv("AIGC_GENERATION__BATCH_SIZE", "2")  # two chunks: work for more than one task
    yield
    get_settings.cache_clear()
    workers.clear()


def run_batch(tmp_path: Path, sqlite_template: Path, runner: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    import shutil

    from aigc_workflow import workers
    from aigc_workflow.settings import get_settings
    from flows.content_batch import ContentBatchConfig, content_batch
    from flows.runtime import make_task_runner

    db = tmp_path / f"{runner}.db"
    shutil.copy(sqlite_template, db)
    monkeypatch.setenv("AIGC_HOME", str(tmp_path / runner))
    monkeypatch.setenv("AIGC_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("AIGC_TASK_RUNNER", runner)
    get_settings.cache_clear()
    workers.clear()
    settings = get_settings()
    with session_scope(settings.db_url) as session:
        repo.upsert_briefs(BRIEFS, session=session)
    flow = content_batch.with_options(task_runner=make_task_runner(settings))
    flow(ContentBatchConfig(candidates=2, seed=11))
    with session_scope(settings.db_url) as session:
        return {(d.brief.ref, d.candidate_index): (d.text, d.model_version, d.seed)
                for d in repo.list_drafts(session=session)}


def test_ray_and_threads_give_the_same_drafts(tmp_path: Path, sqlite_template: Path, ray_env: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    started: list[dict] = []
    real_init = ray.init

    def recording_init(*args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(kwargs)
        return real_init(*args, **kwargs)

    monkeypatch.setattr(ray, "init", recording_init)
    try:
        on_threads = run_batch(tmp_path, sqlite_template, "threads", monkeypatch)
        assert started == []
        on_ray = run_batch(tmp_path, sqlite_template, "ray", monkeypatch)
    finally:
        ray.shutdown()
    # The Ray runner started its own local cluster, with the engine's settings for its worker processes.
    assert len(started) == 1
    assert started[0]["runtime_env"]["env_vars"]["AIGC_TASK_RUNNER"] == "ray"
    assert len(on_threads) == 4
    assert on_ray == on_threads
    assert all(text for text, _, _ in on_ray.values())
