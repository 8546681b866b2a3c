"""`aigc run` killed with SIGKILL mid-generation and mid-publishing, then run again: nothing lost, nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_process import ALL_DRAFTS, BRIEFS_YAML, REFS, BatchWorld, kill, logged, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str, prefect_server) -> Iterator[BatchWorld]:  # type: ignore[no-untyped-def]
    """A fresh home and database; the processes report to the module's real Prefect server."""
    briefs = tmp_path / "briefs.yaml"
    briefs.write_text(BRIEFS_YAML)
    yield BatchWorld(tmp_path / "home", sqlite_url, briefs, prefect_server.env())


def test_killed_during_generation_a_rerun_generates_only_what_was_not_stored(world: BatchWorld,
                                                                            tmp_path: Path) -> None:
    first_log, second_log, out = tmp_path / "gen-1.log", tmp_path / "gen-2.log", tmp_path / "run-1.out"
    # 10 drafts in chunks of 4, 2 s per chunk: kill while the second chunk is being generated.
    process = world.start(world.env(first_log, delay_s=2.0), out)
    wait_for(lambda: world.draft_count() >= 4, 120, "the first chunk of drafts was stored", process, out)
    kill(process)

    stored = world.drafts()
    assert 4 <= len(stored) < len(ALL_DRAFTS), "the kill landed after generation"
    assert world.publications() == []

    rerun = world.run(world.env(second_log), tmp_path / "run-2.out")
    assert rerun.returncode == 0, (tmp_path / "run-2.out").read_text()

    after = world.drafts()  # also asserts every (brief, candidate) was stored once
    assert set(after) == ALL_DRAFTS
    # What the killed run stored is kept as it was (same rows), and the re-run asked the generator only for the rest.
    assert {name: after[name] for name in stored} == stored
    assert sorted(logged(second_log)) == sorted(ALL_DRAFTS - set(stored))
    publications = world.publications()  # also asserts nothing was published twice
    assert len(world.chosen()) == len(REFS), "one draft per brief is chosen"
    assert {draft for _, draft, _ in publications} == world.chosen()
    assert len(world.published_files()) == 2 * len(publications)  # draft-<id>.md and its lineage .json


def test_killed_during_publishing_a_rerun_publishes_the_rest_once(world: BatchWorld, tmp_path: Path) -> None:
    out = tmp_path / "run-1.out"
    # The hook stops the batch after the second publication's files are written, before its row commits.
    process = world.start(world.env(tmp_path / "gen-1.log", AIGC_TEST_PAUSE_AT="publish"), out)
    wait_for(lambda: "aigc-test-paused-at:publish" in out.read_text(), 180, "publishing paused", process, out)
    kill(process)

    approved, chosen = world.approved(), world.chosen()
    assert len(approved) == len(ALL_DRAFTS), "every echo draft passes the format scorer"
    assert len(chosen) == len(REFS), "the candidates of a brief are alternatives: one per brief publishes"
    first = world.publications()
    assert len(first) == 1, "the first publication committed, the second died in flight"
    files = world.published_files()
    assert len([f for f in files if f.endswith(".md")]) == 2, "the second draft's files were on disk already"
    drafts_before = world.drafts()

    rerun = world.run(world.env(tmp_path / "gen-2.log"), tmp_path / "run-2.out")
    assert rerun.returncode == 0, (tmp_path / "run-2.out").read_text()

    assert logged(tmp_path / "gen-2.log") == [], "nothing stored was generated again"
    assert world.drafts() == drafts_before
    publications = world.publications()  # also asserts nothing was published twice
    assert publications[0] == first[0], "the finished publication stands as it was"
    assert {draft for _, draft, _ in publications} == chosen, "nothing chosen was lost"
    assert world.approved() == approved, "published drafts keep the verdict they were published with"
    assert world.chosen() == chosen, "and the ranking: a re-run chooses no second draft for a brief"
    files = world.published_files()
    assert sorted(files) == sorted(f"draft-{d}.{ext}" for _, d, _ in publications for ext in ("md", "json"))
    assert not [f for f in files if f.endswith(".tmp")], "no half-written file is left behind"


def seed_feedback(url: str) -> None:
    """Eight rated publications (five liked, three not): enough for a fine-tune run to start."""
    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.db import repo
    from aigc_workflow.db.models import Draft, Modality, Publication, Rating
    from aigc_workflow.db.session import session_scope

    topics = ["street trees", "sleep", "cycling", "reading", "water", "bees", "parks", "rain"]
    with session_scope(url) as session:
        repo.upsert_briefs([BriefSpec(ref=f"b{i}", topic=t) for i, t in enumerate(topics)], session=session)
        batch = repo.create_batch(session=session, review_mode="auto", seed=0, candidates=1, config={})
        for index, brief in enumerate(repo.list_briefs(session=session)):
            draft = Draft(cache_key=f"ft-{index}", batch_id=batch.id, brief_id=brief.id, candidate_index=0,
                          modality=Modality.TEXT, text=f"A short note on {brief.topic}.",
                          prompt=f"Write about {brief.topic}.", model_version="seed", seed=index, params={})
            session.add(draft)
            session.flush()
            publication = Publication(draft_id=draft.id, channel="blog", location="x", text=draft.text)
            session.add(publication)
            session.flush()
            session.add(Rating(publication_id=publication.id, rating=5 if index < 5 else 1))


@pytest.mark.slow
def test_finetune_killed_during_training_leaves_no_half_version_and_a_rerun_works(
    tmp_path: Path, sqlite_url: str, prefect_server, model_cache: Path  # type: ignore[no-untyped-def]
) -> None:
    import subprocess

    from sqlalchemy import select

    from aigc_workflow.db.models import FinetuneRun, ModelVersion
    from aigc_workflow.db.session import session_scope
    from batch_process import AIGC

    seed_feedback(sqlite_url)
    home = tmp_path / "home"
    env = {k: v for k, v in prefect_server.env().items() if not k.startswith("AIGC_")}
    env.update({"AIGC_HOME": str(home), "AIGC_DATABASE_URL": sqlite_url, "AIGC_CONFIG": "/nonexistent/aigc.toml",
                "AIGC_MODEL_CACHE": str(model_cache), "AIGC_TEXT_SCORERS": '["format"]', "HF_HUB_OFFLINE": "1",
                "AIGC_TEXT_MODEL": "bundled:smollm2-135m-instruct",
                "AIGC_FINETUNE__BATCH_SIZE": "2", "AIGC_FINETUNE__MAX_LENGTH": "64",
                "AIGC_FINETUNE__EVAL_BRIEFS": "1", "AIGC_FINETUNE__EVAL_MAX_NEW_TOKENS": "4"})
    command = [*AIGC, "finetune", "--sft-steps", "1", "--preference-steps", "0", "--json"]

    def runs() -> list[str]:
        with session_scope(sqlite_url) as session:
            return [str(r.status) for r in session.scalars(select(FinetuneRun).order_by(FinetuneRun.id))]

    def versions() -> list[tuple[str, str]]:
        with session_scope(sqlite_url) as session:
            return [(v.name, v.path) for v in session.scalars(select(ModelVersion))]

    out = tmp_path / "ft-1.out"
    with out.open("wb") as sink:
        process = subprocess.Popen(command, env={**env, "AIGC_TEST_PAUSE_AT": "train"}, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: "aigc-test-paused-at:train" in out.read_text(), 400, "training reached its end", process, out)
    kill(process)

    assert runs() == ["running"], "the killed run is not recorded as succeeded"
    assert versions() == [], "the registry shows no version of the killed run"
    adapters = home / "adapters"
    assert not adapters.exists() or list(adapters.iterdir()) == [], "no adapter folder without a registry row"

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert runs()[0] == "running" and runs()[1] == "succeeded"
    (name, path), = versions()
    assert sorted(p.name for p in adapters.iterdir()) == [name], "only the registered adapter is on disk"
    assert (Path(path) / "adapter_model.safetensors").is_file()
