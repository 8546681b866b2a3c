"""How a batch's drafts become generation tasks, and the progress bar those tasks move."""

from __future__ import annotations

import asyncio

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterId,
    FlowRunFilter,
    FlowRunFilterId,
)

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from aigc_workflow.settings import Settings
from flows import progress
from flows.content_batch import ContentBatchConfig, _task_parts, content_batch


def sizes(parts: list[list[int]]) -> list[int]:
    return [len(part) for part in parts]


def test_threads_get_one_task_each_made_of_whole_chunks() -> None:
    drafts = list(range(100))
    assert sizes(_task_parts(Settings(task_workers=1), drafts, chunk=16)) == [100]
    # 100 drafts over 3 threads: 34 each, rounded up to whole 16-draft chunks.
    assert sizes(_task_parts(Settings(task_workers=3), drafts, chunk=16)) == [48, 48, 4]
    assert _task_parts(Settings(task_workers=2), [], chunk=16) == []


def test_ray_gets_one_task_per_chunk_to_spread_over_its_workers() -> None:
    assert sizes(_task_parts(Settings(task_runner="ray"), list(range(40)), chunk=16)) == [16, 16, 8]


def read_progress(bar: progress.ProgressBar) -> float:
    async def fetch() -> float:
        async with get_client() as client:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(id=ArtifactFilterId(any_=[bar.id])))
            return float(found[0].data)

    return asyncio.run(fetch())


def test_progress_bar_moves_in_steps_of_ten_points_and_ends_at_100() -> None:
    @flow
    def steps() -> list[float]:
        bar = progress.ProgressBar("test-progress", total=40, description="test")
        seen = [read_progress(bar)]
        for count in (3, 1, 36):  # 7.5 % is not worth an API call; 10 % and 100 % are
            progress.advance(bar.id, count)
            seen.append(read_progress(bar))
        bar.finish()
        progress.advance(bar.id, 1)  # a finished bar is forgotten: late calls change nothing
        seen.append(read_progress(bar))
        return seen

    assert steps() == [0.0, 0.0, 10.0, 100.0, 100.0]


def test_a_bar_in_another_process_is_a_no_op() -> None:
    from uuid import uuid4

    progress.advance(uuid4(), 5)
    progress.advance(None, 5)


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_generates_in_one_task_per_thread(engine_env, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                 workers: int) -> None:
    monkeypatch.setenv("AIGC_TEXT_MODEL", "fake:echo")
    monkeypatch.setenv("AIGC_TEXT_SCORERS", '["format"]')
    monkeypatch.setenv("AIGC_GENERATION__BATCH_SIZE", "2")  # chunks of 4 drafts: 5 chunks for 20 drafts
    monkeypatch.setenv("AIGC_TASK_WORKERS", str(workers))
    with session_scope(db_url) as session:
        repo.upsert_briefs([BriefSpec(ref=f"b{i}", topic=f"Topic {i}") for i in range(10)], session=session)
    state = content_batch(ContentBatchConfig(candidates=2), return_state=True)
    assert state.result()["drafts"] == 20

    async def task_names() -> list[str]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
            return [run.name for run in runs]

    generation = [name for name in asyncio.run(task_names()) if name.startswith("generate_text")]
    assert len(generation) == workers
