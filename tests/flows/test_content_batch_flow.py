"""content_batch under a Prefect test server, with the echo generator: rows, files, artifacts, re-runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db import repo
from aigc_workflow.db.models import Batch, Draft, Publication, Score, Verdict
from aigc_workflow.db.session import session_scope
from flows.content_batch import ContentBatchConfig, content_batch

BRIEFS = [
    # The echo generator writes the topic and the keywords, so the format scorer can pass or fail on cue.
    BriefSpec(ref="trees", topic="Why cities need trees", keywords=("shade",), channel="blog"),
    BriefSpec(ref="banned", topic="A word we avoid: miracle", avoid=("miracle",)),
]


def import_briefs(db_url: str) -> None:
    with session_scope(db_url) as session:
        repo.upsert_briefs(BRIEFS, session=session)


def count(db_url: str, model: type) -> int:
    with session_scope(db_url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_batch_stores_scores_gates_publishes_and_reports(echo_env: Path, db_url: str, flow_artifacts) -> None:
    import_briefs(db_url)
    state = content_batch(ContentBatchConfig(candidates=2, seed=3), return_state=True)
    summary = state.result()
    # Both "banned" candidates fail the format gate, so it is drafted twice more (redraft_rounds=2): 2 + 2 + 2 + 2.
    assert summary["drafts"] == 8 and summary["briefs"] == 2
    assert summary["decisions"] == {"approved": 2, "rejected": 6}
    # Both trees candidates passed, but they are alternatives: one blog post was asked for, one goes out.
    assert summary["published"] == 1
    assert (summary["chosen"], summary["alternates"]) == (1, 1)
    assert summary["reasons"] == {"format below minimum": 6}

    with session_scope(db_url) as session:
        drafts = repo.list_drafts(session=session)
        assert {d.brief.ref: str(d.verdict.decision) for d in drafts} == {"trees": "approved", "banned": "rejected"}
        assert sorted(d.candidate_index for d in drafts if d.brief.ref == "banned") == [0, 1, 2, 3, 4, 5]
        assert sorted(d.candidate_index for d in drafts if d.brief.ref == "trees") == [0, 1]
        for draft in drafts:
            assert draft.model_version == "fake:echo@1" and draft.params == {"kind": "echo"}
            assert [s.scorer for s in draft.scores] == ["format"]
        published = session.scalars(select(Publication)).all()
        assert {p.channel for p in published} == {"blog"}
        # Format alone leaves no headroom to compare, so the tie goes to the first candidate.
        chosen = {d.candidate_index: d.verdict.chosen for d in drafts if d.brief.ref == "trees"}
        assert chosen == {0: True, 1: False}
        assert [p.draft.candidate_index for p in published] == [0]
        batch = session.scalars(select(Batch)).one()
        assert str(batch.status) == "succeeded" and batch.finished_at is not None

    for publication in published:
        markdown = Path(publication.location)
        assert markdown.parent == echo_env / "published" / "blog"
        assert markdown.read_text().startswith("Why cities need trees")
        lineage = json.loads(markdown.with_suffix(".json").read_text())
        assert lineage["brief"]["ref"] == "trees"
        assert lineage["model_version"] == "fake:echo@1"
        assert lineage["scores"]["format"]["value"] == 1.0
        assert lineage["verdict"]["decision"] == "approved"
        assert lineage["verdict"]["chosen"] is True and lineage["verdict"]["rank_reason"].startswith("chosen: best")

    artifacts = flow_artifacts(state.state_details.flow_run_id)
    batch_id = summary["batch_id"]
    assert {f"batch-{batch_id}-drafts", f"batch-{batch_id}-summary", f"batch-{batch_id}-generation"} <= set(artifacts)
    table = artifacts[f"batch-{batch_id}-drafts"].data
    table = json.loads(table) if isinstance(table, str) else table
    assert len(table) == 8 and {row["verdict"] for row in table} == {"approved", "rejected"}
    assert sorted(row["choice"] for row in table) == ["-", "-", "-", "-", "-", "-", "alt 2", "chosen"]
    summary_md = artifacts[f"batch-{batch_id}-summary"].data
    assert "pass rate **25%**" in summary_md
    assert "**1** chosen, **1** approved alternates" in summary_md and "| trees |" in summary_md
    assert artifacts[f"batch-{batch_id}-generation"].data == 100.0
    assert artifacts[f"batch-{batch_id}-redraft-1"].data == 100.0
    assert artifacts[f"batch-{batch_id}-redraft-2"].data == 100.0


def test_running_again_regenerates_nothing_and_publishes_nothing_twice(echo_env: Path, db_url: str) -> None:
    import_briefs(db_url)
    first = content_batch(ContentBatchConfig(candidates=2, seed=3))
    second = content_batch(ContentBatchConfig(candidates=2, seed=3))
    assert first["drafts"] == second["drafts"] == 8  # with the two redrafts of "banned"
    assert count(db_url, Draft) == 8
    assert count(db_url, Publication) == 1  # one per brief that passed, however often the batch runs
    assert count(db_url, Score) == 8 and count(db_url, Verdict) == 8
    with session_scope(db_url) as session:
        # The second batch covers the drafts it reused: `aigc drafts list --batch` shows them.
        reused = repo.list_drafts(session=session, batch_id=second["batch_id"])
        assert sorted(d.id for d in reused) == sorted(d.id for d in repo.list_drafts(session=session))
    # A new seed is new demand: new drafts, the best of them published beside the old one.
    third = content_batch(ContentBatchConfig(candidates=2, seed=4))
    assert third["drafts"] == 8 and count(db_url, Draft) == 16 and count(db_url, Publication) == 2


def test_without_redraft_rounds_each_brief_is_drafted_once(echo_env: Path, db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIGC_REDRAFT_ROUNDS", "0")
    import_briefs(db_url)
    summary = content_batch(ContentBatchConfig(candidates=2, seed=3))
    assert summary["drafts"] == 4 and summary["decisions"] == {"approved": 2, "rejected": 2}


def test_a_brief_that_asks_for_two_gets_two(echo_env: Path, db_url: str) -> None:
    with session_scope(db_url) as session:
        repo.upsert_briefs([BRIEFS[0].model_copy(update={"publish": 2})], session=session)
    summary = content_batch(ContentBatchConfig(candidates=3, seed=3))
    assert (summary["published"], summary["chosen"], summary["alternates"]) == (2, 2, 1)


def test_a_scorer_without_its_model_holds_every_draft(echo_env: Path, db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIGC_TEXT_SCORERS", '["format", "toxicity"]')
    monkeypatch.setenv("AIGC_TOXICITY_BACKEND", "detoxify")  # no checkpoint configured, no network
    import_briefs(db_url)
    summary = content_batch(ContentBatchConfig(candidates=1, brief_refs=["trees"]))
    assert summary["decisions"] == {"held": 1}
    assert summary["published"] == 0
    with session_scope(db_url) as session:
        draft = repo.list_drafts(session=session)[0]
        assert any(r.startswith("toxicity: model unavailable") for r in draft.verdict.reasons)


def test_unknown_brief_refs_fail_clearly(echo_env: Path, db_url: str) -> None:
    from aigc_workflow.batch import UnknownBriefs

    with pytest.raises(UnknownBriefs, match="unknown brief refs: nope"):
        content_batch(ContentBatchConfig(brief_refs=["nope"]))
