"""Flow tests share one Prefect test server for the whole session (starting one takes seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def flow_artifacts():  # type: ignore[no-untyped-def]
    """Read a flow run's artifacts from the test server, by key."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    def read(flow_run_id) -> dict[str, object]:  # type: ignore[no-untyped-def]
        async def fetch() -> list:
            async with get_client() as client:
                flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
                return await client.read_artifacts(artifact_filter=flt)

        return {a.key: a for a in asyncio.run(fetch())}

    return read


@pytest.fixture
def engine_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Path:
    """Point the engine (which reads its settings from the environment, as a deployment would) at a fresh home."""
    from aigc_workflow import workers
    from aigc_workflow.settings import get_settings

    home = tmp_path / "home"
    monkeypatch.setenv("AIGC_HOME", str(home))
    monkeypatch.setenv("AIGC_DATABASE_URL", db_url)
    get_settings.cache_clear()
    workers.clear()
    yield home
    get_settings.cache_clear()
    workers.clear()


@pytest.fixture
def echo_env(engine_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The engine with the echo generator (it writes each brief's topic and keywords back) and the format
    scorer alone: for flow tests whose subject is orchestration, not models (tests/models covers those)."""
    monkeypatch.setenv("AIGC_TEXT_MODEL", "fake:echo")
    monkeypatch.setenv("AIGC_TEXT_SCORERS", '["format"]')
    return engine_env
