"""`aigc review`: the same review from a terminal, interactive or scripted; the library runs without Prefect."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aigc_workflow import batch as stages
from aigc_workflow.briefs import BriefSpec
from aigc_workflow.cli.main import app
from aigc_workflow.db import repo
from aigc_workflow.db.models import Batch, BatchStatus
from aigc_workflow.db.session import session_scope
from aigc_workflow.settings import Settings
from aigc_workflow.testing import EchoGenerator, ScriptedScorer


def waiting_batch(settings: Settings, mode: str) -> list[int]:
    """A batch of three drafts gated and left waiting for a person, built with the library alone."""
    with session_scope(settings.db_url) as session:
        repo.upsert_briefs([BriefSpec(ref=f"b{i}", topic=f"Topic {i} [brief]", channel="blog") for i in range(3)],
                           session=session)
    batch_id, brief_ids = stages.start_batch(settings, brief_refs=None, seed=1, candidates=1,
                                             review_mode=mode, config={})
    generator = EchoGenerator()
    planned = stages.plan(settings, brief_ids, batch_seed=1, candidates=1,
                          model_version=generator.model_version, params=generator.params)
    draft_ids = stages.generate_and_store(settings, generator, batch_id, planned)
    # b0 passes, b1 fails relevance, b2's scorer is unavailable (held).
    relevance = ScriptedScorer("relevance", lambda item: 0.1 if item.brief.ref == "b1" else 0.9)
    stages.score_drafts(settings, draft_ids[:2], [relevance])
    stages.score_drafts(settings, draft_ids[2:], [ScriptedScorer("relevance", unavailable=True)])
    stages.gate_drafts(settings.model_copy(update={"text_scorers": ["relevance"]}), draft_ids)
    stages.publish_approved(settings, draft_ids, mode)  # as the flow does before it waits
    stages.finish_batch(settings, batch_id, BatchStatus.AWAITING_REVIEW, {})
    return draft_ids


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {"AIGC_HOME": str(settings.home), "AIGC_DATABASE_URL": settings.db_url,
            "AIGC_TEXT_SCORERS": '["relevance"]'}


def publications(settings: Settings) -> dict[int, str | None]:
    with session_scope(settings.db_url) as session:
        return {d.id: (d.publications[0].text if d.publications else None) for d in repo.list_drafts(session=session)}


def test_interactive_review_approves_rejects_and_edits(settings: Settings, env: dict[str, str]) -> None:
    ids = waiting_batch(settings, "human")
    # draft 1: accept the suggestion (approve); draft 2: reject; draft 3: edit and approve.
    answers = "\n\n" + "r\nnot on topic\n" + "e\nRewritten by a person.\n\n"
    result = CliRunner().invoke(app, ["review", "--reviewer", "sam"], env=env, input=answers)
    assert result.exit_code == 0, result.output
    assert "3 reviewed, 2 published, 0 still waiting" in result.output
    published = publications(settings)
    assert published[ids[1]] is None
    assert published[ids[2]] == "Rewritten by a person."
    assert published[ids[0]].startswith("Topic 0")
    with session_scope(settings.db_url) as session:
        assert str(session.get(Batch, 1).status) == "succeeded"
        note = repo.latest_review(ids[1], session=session).note
    assert note == "not on topic"


def test_scripted_review_of_held_only_batch(settings: Settings, env: dict[str, str]) -> None:
    ids = waiting_batch(settings, "held-only")
    result = CliRunner().invoke(app, ["review", "--approve", str(ids[2]), "--reviewer", "ci"], env=env)
    assert result.exit_code == 0, result.output
    # Only the held draft waited in held-only mode; approving it publishes it.
    assert "1 reviewed, 1 published, 0 still waiting" in result.output
    assert publications(settings)[ids[2]] is not None
    again = CliRunner().invoke(app, ["review"], env=env)
    assert "nothing is waiting for review" in again.output


def test_bad_ids_are_a_clear_error(settings: Settings, env: dict[str, str]) -> None:
    waiting_batch(settings, "human")
    result = CliRunner().invoke(app, ["review", "--approve", "one,two"], env=env)
    assert result.exit_code == 1 and "comma-separated integers" in result.output


def test_an_unknown_answer_asks_again_instead_of_approving(settings: Settings, env: dict[str, str]) -> None:
    ids = waiting_batch(settings, "human")
    # "n" is not an answer: the prompt repeats, then "r" rejects; the other two are skipped.
    result = CliRunner().invoke(app, ["review", "--reviewer", "sam"], env=env, input="n\nr\n\ns\ns\n")
    assert result.exit_code == 0, result.output
    assert "1 reviewed, 0 published, 2 still waiting" in result.output
    assert publications(settings)[ids[0]] is None


def test_scripted_ids_that_are_not_waiting_are_an_error(settings: Settings, env: dict[str, str]) -> None:
    waiting_batch(settings, "human")
    result = CliRunner().invoke(app, ["review", "--batch", "1", "--approve", "999"], env=env)
    assert result.exit_code == 1 and "999 are not waiting for review in batch 1" in result.output


def test_a_mistyped_id_without_a_batch_records_nothing(settings: Settings, env: dict[str, str]) -> None:
    ids = waiting_batch(settings, "human")
    result = CliRunner().invoke(app, ["review", "--approve", f"{ids[0]},999"], env=env)
    assert result.exit_code == 1 and "999 are not waiting for review" in result.output
    assert publications(settings)[ids[0]] is None  # the valid id did not go through alone
    with session_scope(settings.db_url) as session:
        assert repo.latest_review(ids[0], session=session) is None


def test_one_id_both_approved_and_rejected_is_refused(settings: Settings, env: dict[str, str]) -> None:
    ids = waiting_batch(settings, "human")
    result = CliRunner().invoke(app, ["review", "--approve", str(ids[0]), "--reject", str(ids[0])], env=env)
    assert result.exit_code == 1 and "given to both --approve and --reject" in result.output
    assert publications(settings)[ids[0]] is None


def test_review_json_reports_each_batch_on_stdout(settings: Settings, env: dict[str, str]) -> None:
    ids = waiting_batch(settings, "human")
    result = CliRunner().invoke(
        app, ["review", "--approve", str(ids[0]), "--reject", str(ids[1]), "--reviewer", "ci", "--json"], env=env)
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    with session_scope(settings.db_url) as session:
        publication = repo.list_drafts(session=session, ids=[ids[0]])[0].publications[0].id
    assert report == {"batch_id": 1, "reviewer": "ci", "approved": [ids[0]], "rejected": [ids[1]], "edited": [],
                      "published": [publication], "still_waiting": 1, "status": "awaiting_review"}


def test_interactive_review_with_json_asks_on_stderr_and_shows_text_literally(
        settings: Settings, env: dict[str, str]) -> None:
    ids = waiting_batch(settings, "human")
    answers = "s\n" + "s\n" + "e\nA [bracketed] edit.\n\n"
    result = CliRunner().invoke(app, ["review", "--reviewer", "sam", "--json"], env=env, input=answers)
    assert result.exit_code == 0, result.output
    # CliRunner echoes the typed answers onto stdout, as a terminal shows them; after them comes only the JSON.
    typed, _, printed = result.stdout.partition("\n[\n")
    assert typed.split() == ["s", "s", "e", "A", "[bracketed]", "edit."]
    [report] = json.loads("[\n" + printed)
    assert (report["approved"], report["edited"], report["still_waiting"]) == ([ids[2]], [ids[2]], 2)
    assert "Topic 2 [brief]. Candidate 0" in result.stderr  # the draft as written, brackets and all
    assert "[a]pprove, [r]eject, [e]dit and approve, [s]kip" in result.stderr
    assert publications(settings)[ids[2]] == "A [bracketed] edit."
    nothing = CliRunner().invoke(app, ["review", "--batch", "7", "--json"], env=env)
    assert json.loads(nothing.stdout) == []
