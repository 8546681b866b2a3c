"""Human review inside content_batch: the run pauses with a form, a submission resumes it and decides."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from flows.content_batch import ContentBatchConfig, content_batch

BRIEFS = [
    BriefSpec(ref="trees", topic="Why cities need trees", keywords=("shade",), channel="blog"),
    BriefSpec(ref="banned", topic="A word we avoid: miracle", avoid=("miracle",), channel="blog"),
]


@pytest.fixture
def review_env(echo_env: Path, db_url: str) -> Path:
    with session_scope(db_url) as session:
        repo.upsert_briefs(BRIEFS, session=session)
    return echo_env


def paused_run(timeout_s: float = 90) -> Any:
    """Wait for the flow run that is paused waiting for input."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateName

    async def find() -> list:
        async with get_client() as client:
            flt = FlowRunFilter(state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Paused"])))
            return await client.read_flow_runs(flow_run_filter=flt)

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = asyncio.run(find())
        if runs:
            return runs[0]
        time.sleep(0.5)
    raise AssertionError("no paused flow run appeared")


def run_in_thread(config: ContentBatchConfig) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["summary"] = content_batch(config)
        except BaseException as error:  # noqa: BLE001
            out["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def drafts_by_ref(db_url: str) -> dict[str, Any]:
    with session_scope(db_url) as session:
        drafts = [repo.draft_with_lineage(d.id, session=session) for d in repo.list_drafts(session=session)]
        return {d.brief.ref: d for d in drafts}


def test_human_mode_pauses_with_a_form_and_publishes_exactly_what_the_reviewer_chose(  # type: ignore[no-untyped-def]
    review_env, db_url, flow_artifacts
) -> None:
    from prefect.flow_runs import resume_flow_run

    thread, out = run_in_thread(ContentBatchConfig(candidates=1, review_mode="human"))
    run = paused_run()
    drafts = drafts_by_ref(db_url)
    trees, banned = drafts["trees"].id, drafts["banned"].id
    assert drafts["trees"].publications == []  # human mode: nothing goes out before a person decides

    # The person overrides the gate both ways: rejects the approved draft, approves and edits the rejected one.
    resume_flow_run(run.id, run_input={
        "reviewer": "dana",
        f"draft_{trees}": {"decision": "reject", "note": "off brand"},
        f"draft_{banned}": {"decision": "approve", "edit": "A word we use with care."},
    })
    thread.join(timeout=120)
    assert "error" not in out, out.get("error")

    drafts = drafts_by_ref(db_url)
    assert drafts["trees"].publications == []
    assert [r.decision for r in drafts["trees"].reviews] == ["reject"]
    assert drafts["trees"].reviews[0].note == "off brand"
    published = drafts["banned"].publications
    assert len(published) == 1 and published[0].text == "A word we use with care."
    assert Path(published[0].location).read_text().strip() == "A word we use with care."
    review = drafts["banned"].reviews[0]
    assert (review.reviewer, str(review.decision), str(review.gate_decision)) == ("dana", "approve", "rejected")
    assert out["summary"]["published"] == 1
    overrides = flow_artifacts(run.id)[f"batch-{out['summary']['batch_id']}-review"].data
    assert "1 approved although the gate did not, 1 rejected although the gate approved" in overrides
    assert "| dana | 1 | 1 |" in overrides
    assert "| format | 1 | 1 | 1 |" in overrides  # format flagged one draft, a person approved it anyway


def test_drafts_left_to_the_gate_are_decided_by_it_and_recorded_as_no_ones(review_env, db_url) -> None:  # type: ignore[no-untyped-def]
    from prefect.flow_runs import resume_flow_run

    from aigc_workflow.db.models import Batch

    thread, out = run_in_thread(ContentBatchConfig(candidates=1, review_mode="human"))
    run = paused_run()
    resume_flow_run(run.id, run_input={"reviewer": "dana"})  # the form submitted as it stands
    thread.join(timeout=120)
    assert "error" not in out, out.get("error")

    drafts = drafts_by_ref(db_url)
    assert [r for d in drafts.values() for r in d.reviews] == []
    # The gate approved and chose the trees draft, and rejected the other: as if no person had looked.
    assert {ref: len(d.publications) for ref, d in drafts.items()} == {"trees": 1, "banned": 0}
    with session_scope(db_url) as session:
        batch = session.get(Batch, out["summary"]["batch_id"])
        assert str(batch.status) == "succeeded"  # nothing waits
        # What the form left is the gate's from now on: `aigc review` offers no draft of this batch again,
        # least of all the one the gate published.
        assert batch.review_mode == "held-only"
    from aigc_workflow.reviewing import awaiting_batches
    from aigc_workflow.settings import get_settings

    assert awaiting_batches(get_settings(), out["summary"]["batch_id"]) == []


def test_held_only_mode_publishes_approved_at_once_and_review_timeout_publishes_nothing_more(
    review_env, db_url, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("AIGC_TEXT_SCORERS", '["format", "toxicity"]')
    monkeypatch.setenv("AIGC_TOXICITY_BACKEND", "detoxify")  # no checkpoint: every draft is held
    monkeypatch.setenv("AIGC_GATE", '{"format": {}}')  # an empty bound: format informs, nothing rejects
    monkeypatch.setenv("AIGC_REVIEW_TIMEOUT_S", "2")
    summary = content_batch(ContentBatchConfig(candidates=1, review_mode="held-only"))
    assert summary["decisions"] == {"held": 2}
    assert summary["published"] == 0
    drafts = drafts_by_ref(db_url)
    assert all(d.reviews == [] and str(d.verdict.decision) == "held" for d in drafts.values())
    with session_scope(db_url) as session:
        from aigc_workflow.db.models import Batch

        assert str(session.get(Batch, summary["batch_id"]).status) == "awaiting_review"


def test_the_reviewer_picks_the_alternate_in_the_form_and_only_it_is_published(  # type: ignore[no-untyped-def]
    review_env, db_url
) -> None:
    from prefect.flow_runs import resume_flow_run

    thread, out = run_in_thread(ContentBatchConfig(candidates=2, review_mode="human", brief_refs=["trees"]))
    run = paused_run()
    with session_scope(db_url) as session:
        drafts = {d.candidate_index: d for d in repo.list_drafts(session=session)}
        chosen, alternate = drafts[0].id, drafts[1].id  # format alone: a tie, the first candidate is chosen
        assert (drafts[0].verdict.chosen, drafts[1].verdict.chosen) == (True, False)
        assert drafts[1].verdict.rank_reason.startswith("alternate: rank 2 of 2 approved")

    resume_flow_run(run.id, run_input={
        "reviewer": "dana",
        f"draft_{chosen}": {"decision": "reject"},
        f"draft_{alternate}": {"decision": "approve", "note": "the better one"},
    })
    thread.join(timeout=120)
    assert "error" not in out, out.get("error")
    with session_scope(db_url) as session:
        published = {d.id: len(d.publications) for d in repo.list_drafts(session=session)}
    assert published == {chosen: 0, alternate: 1}
    assert out["summary"]["published"] == 1
