"""One best draft per brief: the gate says which candidates are acceptable, the ranking picks the best of them,
only that one publishes (or `publish: N`), and a person may pick an alternate instead."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from aigc_workflow import batch as stages
from aigc_workflow import review, review_form
from aigc_workflow.briefs import BriefSpec
from aigc_workflow.cli.main import app
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from aigc_workflow.report import batch_rows, markdown, summarize, table_rows
from aigc_workflow.settings import Bound, Settings
from aigc_workflow.testing import EchoGenerator, ScriptedScorer

# Relevance by candidate index: candidate 1 is the most relevant, so the best is not simply the first.
RELEVANCE = {0: 0.6, 1: 0.9, 2: 0.75}


def relevance(item) -> float:  # type: ignore[no-untyped-def]
    return RELEVANCE[int(re.search(r"Candidate (\d+)", item.text).group(1))]


def drafted(settings: Settings, briefs: list[BriefSpec], candidates: int = 2, mode: str = "auto") -> list[int]:
    """Generate with the echo fake, score relevance by candidate, gate; returns draft ids (brief, candidate order)."""
    with session_scope(settings.db_url) as session:
        repo.upsert_briefs(briefs, session=session)
    batch_id, brief_ids = stages.start_batch(settings, brief_refs=None, seed=1, candidates=candidates,
                                             review_mode=mode, config={})
    generator = EchoGenerator()
    planned = stages.plan(settings, brief_ids, batch_seed=1, candidates=candidates,
                          model_version=generator.model_version, params=generator.params)
    ids = stages.generate_and_store(settings, generator, batch_id, planned)
    stages.score_drafts(settings, ids, [ScriptedScorer("relevance", relevance)])
    stages.gate_drafts(settings, ids)
    return ids


@pytest.fixture
def one_scorer(settings: Settings) -> Settings:
    return settings.model_copy(update={"text_scorers": ["relevance"]})


def published(settings: Settings) -> dict[int, list[str]]:
    with session_scope(settings.db_url) as session:
        return {d.id: [p.channel for p in d.publications] for d in repo.list_drafts(session=session)}


def verdicts(settings: Settings) -> dict[int, tuple[int | None, bool, str | None]]:
    with session_scope(settings.db_url) as session:
        return {d.id: (d.verdict.rank, d.verdict.chosen, d.verdict.rank_reason) for d in repo.list_drafts(session=session)}


def test_two_approved_candidates_publish_only_the_better_ranked_once(one_scorer: Settings) -> None:
    first, second = drafted(one_scorer, [BriefSpec(ref="trees", topic="Trees", channel="blog")])
    assert stages.rank_drafts(one_scorer, [first, second]) == [second]
    created = stages.publish_approved(one_scorer, [first, second])
    assert len(created) == 1
    assert published(one_scorer) == {first: [], second: ["blog"]}
    ranks = verdicts(one_scorer)
    assert ranks[second][:2] == (1, True) and ranks[first][:2] == (2, False)
    assert ranks[second][2] == ("chosen: best of 2 approved (headroom 0.87 vs 0.47 of draft "
                                f"{first}; relevance 0.90 vs 0.60)")
    assert ranks[first][2].startswith("alternate: rank 2 of 2 approved")

    # Again, and the whole tail of the batch again: nothing is published twice, the choice stands.
    assert stages.publish_approved(one_scorer, [first, second]) == []
    stages.score_drafts(one_scorer, [first, second], [ScriptedScorer("relevance", relevance)])
    stages.gate_drafts(one_scorer, [first, second])
    stages.rank_drafts(one_scorer, [first, second])
    assert stages.publish_approved(one_scorer, [first, second]) == []
    assert published(one_scorer) == {first: [], second: ["blog"]}
    assert verdicts(one_scorer) == ranks


def test_publish_n_publishes_the_n_best(one_scorer: Settings) -> None:
    ids = drafted(one_scorer, [BriefSpec(ref="trees", topic="Trees", publish=2)], candidates=3)
    stages.rank_drafts(one_scorer, ids)
    assert len(stages.publish_approved(one_scorer, ids)) == 2
    # Candidates 1 (0.9) and 2 (0.75) publish, to the default channel; candidate 0 (0.6) stays an alternate.
    assert published(one_scorer) == {ids[0]: [], ids[1]: ["default"], ids[2]: ["default"]}
    assert verdicts(one_scorer)[ids[0]][2].startswith("alternate: rank 3 of 3 approved, publish 2")


def test_publishing_without_the_rank_stage_still_publishes_one_per_brief(one_scorer: Settings) -> None:
    # A caller that goes from the gate straight to publishing (or a verdict decided anew) is ranked then.
    briefs = [BriefSpec(ref="trees", topic="Trees"), BriefSpec(ref="sleep", topic="Sleep")]
    ids = drafted(one_scorer, briefs)
    assert len(stages.publish_approved(one_scorer, ids)) == 2
    assert sorted(d for d, channels in published(one_scorer).items() if channels) == [ids[1], ids[3]]


def test_only_the_best_of_the_approved_is_chosen_and_rejected_ones_are_not_ranked(one_scorer: Settings) -> None:
    strict = one_scorer.model_copy(update={"gate": {"relevance": Bound(min=0.8)}})
    first, second = drafted(strict, [BriefSpec(ref="trees", topic="Trees")])
    stages.rank_drafts(strict, [first, second])
    assert verdicts(strict) == {first: (None, False, "not ranked: rejected"),
                                second: (1, True, "chosen: the only approved candidate (headroom 0.50)")}


def test_a_reviewer_picks_the_alternate_instead_of_the_chosen_one(one_scorer: Settings) -> None:
    first, second = drafted(one_scorer, [BriefSpec(ref="trees", topic="Trees", channel="blog")], mode="human")
    stages.rank_drafts(one_scorer, [first, second])
    assert stages.publish_approved(one_scorer, [first, second], "human") == []  # human: a person decides

    items = {item.draft_id: item for item in review.pending_items(one_scorer, [first, second], "human")}
    assert set(items) == {first, second}  # every draft waits for the person, alternates too
    # `aigc review` suggests "reject" for the alternate: accepting every suggestion publishes one draft per brief.
    assert (items[second].choice, items[second].suggested) == ("chosen", "approve")
    assert (items[first].choice, items[first].suggested) == ("alt 2", "reject")
    fields = review_form.form_fields(list(items.values()))
    assert "alternate, rank 2" in fields[f"draft_{first}"][1].title
    assert "Ranking: alternate: rank 2 of 2 approved" in fields[f"draft_{first}"][1].description
    text = review_form.drafts_markdown(list(items.values()))
    assert f"| {first} | trees | **approved** | alt 2 |" in text and f"| {second} | trees | **approved** | chosen |" in text

    review.record_reviews(one_scorer, "dana", [review.ReviewInput(first, "approve", "Picked by a person."),
                                               review.ReviewInput(second, "reject")])
    assert len(stages.publish_approved(one_scorer, [first, second], "human")) == 1
    assert published(one_scorer) == {first: ["blog"], second: []}
    assert stages.publish_approved(one_scorer, [first, second], "human") == []  # exactly once
    stats = review.override_stats(one_scorer, [first, second])
    assert (stats.rejected_over_gate, stats.approved_over_gate) == (1, 0)  # rejecting the chosen one overrides


def test_rejecting_an_alternate_is_not_an_override_of_the_gate(one_scorer: Settings) -> None:
    first, second = drafted(one_scorer, [BriefSpec(ref="trees", topic="Trees")], mode="human")
    stages.rank_drafts(one_scorer, [first, second])
    items = review.pending_items(one_scorer, [first, second], "human")
    # The person rejects the alternate and leaves the chosen draft to the gate, which publishes it.
    values = {"reviewer": "dana", f"draft_{first}": {"decision": "reject"}, f"draft_{second}": {}}
    reviewer, decisions = review_form.inputs_from_form(items, values)
    review.record_reviews(one_scorer, reviewer, decisions)
    stages.publish_approved(one_scorer, [first, second], review_form.mode_after_form("human"))
    assert published(one_scorer) == {first: [], second: ["default"]}
    stats = review.override_stats(one_scorer, [first, second])
    assert stats.by_reviewer == {"dana": {"reject": 1}}  # the draft left to the gate is not recorded as dana's
    assert (stats.rejected_over_gate, stats.alternates_left) == (0, 1)
    assert "1 alternate(s) the ranking passed over were rejected too" in review.override_markdown(stats)


def test_held_only_offers_no_held_alternate_of_a_brief_already_published(one_scorer: Settings) -> None:
    briefs = [BriefSpec(ref="trees", topic="Trees"), BriefSpec(ref="sleep", topic="Sleep")]
    ids = drafted(one_scorer, briefs, mode="held-only")
    # trees: candidate 0 approved, candidate 1 held; sleep: both held.
    stages.score_drafts(one_scorer, ids[1:], [ScriptedScorer("relevance", unavailable=True)])
    stages.gate_drafts(one_scorer, ids)
    stages.rank_drafts(one_scorer, ids)
    assert len(stages.publish_approved(one_scorer, ids, "held-only")) == 1
    assert [item.draft_id for item in review.pending_items(one_scorer, ids, "held-only")] == ids[2:]

    # The person approves both held drafts of sleep: a person's approvals are what publish, both of them.
    review.record_reviews(one_scorer, "sam", [review.ReviewInput(i, "approve") for i in ids[2:]])
    assert len(stages.publish_approved(one_scorer, ids, "held-only")) == 2
    assert [d for d, channels in published(one_scorer).items() if channels] == [ids[0], *ids[2:]]


def test_reports_and_drafts_commands_show_the_choice(one_scorer: Settings) -> None:
    first, second = drafted(one_scorer, [BriefSpec(ref="trees", topic="Trees")])
    stages.rank_drafts(one_scorer, [first, second])
    stages.publish_approved(one_scorer, [first, second])
    rows = batch_rows(one_scorer, [first, second])
    summary = summarize(rows)
    assert (summary["chosen"], summary["alternates"], summary["published"]) == (1, 1, 1)
    assert summary["choices"] == [{"brief": "trees", "draft": second, "reason": verdicts(one_scorer)[second][2]}]
    assert "**1** chosen, **1** approved alternates" in markdown(1, summary)
    assert "## Chosen drafts" in markdown(1, summary)
    assert [row["choice"] for row in table_rows(rows)] == ["alt 2", "chosen"]

    env = {"AIGC_HOME": str(one_scorer.home), "AIGC_DATABASE_URL": one_scorer.db_url}
    listed = CliRunner().invoke(app, ["drafts", "list"], env={**env, "COLUMNS": "120"})
    assert listed.exit_code == 0, listed.output
    assert "chosen: best of 2" in listed.output and "alternate: rank 2 of 2" in listed.output  # the main reason
    wide = CliRunner().invoke(app, ["drafts", "list", "--wide"], env=env)
    assert "choice" in wide.output and "chosen" in wide.output and "alt 2" in wide.output
    shown = CliRunner().invoke(app, ["drafts", "show", str(first)], env=env)
    assert "ranking: alternate: rank 2 of 2 approved" in shown.output
    data = json.loads(CliRunner().invoke(app, ["drafts", "show", str(second), "--json"], env=env).output)
    assert (data["rank"], data["chosen"], data["choice"]) == (1, True, "chosen")
    assert data["rank_reason"].startswith("chosen: best of 2") and data["rank_score"] == pytest.approx(0.8667, 1e-3)


def test_reimporting_a_brief_with_a_new_publish_updates_it_and_keeps_its_drafts(db_url: str) -> None:
    with session_scope(db_url) as session:
        repo.upsert_briefs([BriefSpec(ref="a", topic="A")], session=session)
        before = repo.list_briefs(session=session)[0].content_hash
    with session_scope(db_url) as session:
        result = repo.upsert_briefs([BriefSpec(ref="a", topic="A", publish=3)], session=session)
        brief = repo.list_briefs(session=session)[0]
        assert (result.updated, brief.publish, brief.content_hash) == (1, 3, before)


def test_aigc_review_shows_the_choice_and_a_reviewer_can_pick_the_alternate(one_scorer: Settings) -> None:
    first, second = drafted(one_scorer, [BriefSpec(ref="trees", topic="Trees")], mode="human")
    stages.rank_drafts(one_scorer, [first, second])
    env = {"AIGC_HOME": str(one_scorer.home), "AIGC_DATABASE_URL": one_scorer.db_url}
    # The alternate (shown first, pre-filled reject) is approved; the chosen one (pre-filled approve) rejected.
    result = CliRunner().invoke(app, ["review", "--batch", "1", "--reviewer", "sam"], env=env, input="a\n\nr\n\n")
    assert result.exit_code == 0, result.output
    assert "ranking: alternate: rank 2 of 2 approved" in result.output
    assert "ranking: chosen: best of 2 approved" in result.output
    assert "[a]pprove, [r]eject, [e]dit and approve, [s]kip [r]" in result.output  # the alternate's default
    assert "2 reviewed, 1 published, 0 still waiting" in result.output
    assert published(one_scorer) == {first: ["default"], second: []}


def test_a_redraft_round_plans_new_candidates_with_new_seeds(one_scorer: Settings) -> None:
    with session_scope(one_scorer.db_url) as session:
        repo.upsert_briefs([BriefSpec(ref="trees", topic="Trees")], session=session)
    _, brief_ids = stages.start_batch(one_scorer, brief_refs=None, seed=1, candidates=2, review_mode="auto", config={})
    first = stages.plan(one_scorer, brief_ids, batch_seed=1, candidates=2, model_version="m", params={})
    again = stages.plan(one_scorer, brief_ids, batch_seed=1, candidates=2, model_version="m", params={}, round_no=1)
    assert [p.request.candidate_index for p in first] == [0, 1]
    assert [p.request.candidate_index for p in again] == [2, 3]
    assert not {p.request.seed for p in first} & {p.request.seed for p in again}
    assert not {p.key for p in first} & {p.key for p in again}


def test_only_a_brief_whose_every_draft_was_rejected_is_redrafted(one_scorer: Settings) -> None:
    briefs = [BriefSpec(ref="passes", topic="Trees"), BriefSpec(ref="fails", topic="Roads"),
              BriefSpec(ref="waits", topic="Rivers")]
    ids = drafted(one_scorer, briefs)
    by_brief = dict(zip(["passes", "fails", "waits"], [ids[0:2], ids[2:4], ids[4:6]], strict=True))
    # "fails" scores too low on both candidates; one "waits" candidate is held (its scorer failed).
    stages.score_drafts(one_scorer, by_brief["fails"], [ScriptedScorer("relevance", lambda item: 0.1)])
    stages.score_drafts(one_scorer, by_brief["waits"][:1], [ScriptedScorer("relevance", lambda item: 0.1)])
    stages.score_drafts(one_scorer, by_brief["waits"][1:], [ScriptedScorer("relevance", unavailable=True)])
    stages.gate_drafts(one_scorer, ids)
    with session_scope(one_scorer.db_url) as session:
        fails_id = repo.list_drafts(session=session, ids=by_brief["fails"])[0].brief_id
    assert stages.briefs_to_redraft(one_scorer, ids) == [fails_id]
