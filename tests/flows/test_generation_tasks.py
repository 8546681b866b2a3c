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


def test_threads_get_one_task_each_made_of_whole_generator_batches() -> None:
    drafts = list(range(100))
    assert sizes(_task_parts(Settings(task_workers=1), drafts, batch_size=8)) == [100]
    # 100 drafts over 3 threads: 34 each, rounded up to whole batches of 8.
    assert sizes(_task_parts(Settings(task_workers=3), drafts, batch_size=8)) == [40, 40, 20]
    assert sizes(_task_parts(Settings(task_workers=2), list(range(40)), batch_size=8)) == [24, 16]
    assert _task_parts(Settings(task_workers=2), [], batch_size=8) == []


def test_ray_gets_one_task_per_two_batches_to_spread_over_its_workers() -> None:
    assert sizes(_task_parts(Settings(task_runner="ray"), list(range(40)), batch_size=8)) == [16, 16, 8]


def read_progress(bar: progress.ProgressBar) -> float:
    async def fetch() -> float:
        async with get_client() as client:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(id=ArtifactFilterId(any_=[bar.id])))
            return float(found[0].data)

    return asyncio.run(fetch())


def test_progress_bar_moves_in_steps_of_ten_points_and_counts_each_draft_once() -> None:
    @flow
    def steps() -> list[float]:
        with progress.ProgressBar("test-progress", total=40, description="test") as bar:
            seen = [read_progress(bar)]
            progress.advance(bar.id, range(3))  # 7.5 % is not worth an API call
            seen.append(read_progress(bar))
            progress.advance(bar.id, range(4))  # 10 %
            seen.append(read_progress(bar))
            progress.advance(bar.id, range(4))  # a retried chunk: the same drafts again
            seen.append(read_progress(bar))
            progress.advance(bar.id, range(40))
            seen.append(read_progress(bar))
        assert bar.id not in progress._bars  # outside its block a bar is unreachable: late calls do nothing
        progress.advance(bar.id, range(100, 140))
        assert len(bar._done) == 40
        return seen

    assert steps() == [0.0, 0.0, 10.0, 10.0, 100.0]


def test_complete_shows_100_when_nothing_was_drafted() -> None:
    @flow
    def empty() -> float:
        with progress.ProgressBar("test-empty", total=0, description="test") as bar:
            bar.complete()
            return read_progress(bar)

    assert empty() == 100.0


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_generates_in_one_task_per_thread(echo_env, db_url: str, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                 flow_artifacts, workers: int) -> None:
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
    batch_id = state.result()["batch_id"]
    assert flow_artifacts(state.state_details.flow_run_id)[f"batch-{batch_id}-generation"].data == 100.0
