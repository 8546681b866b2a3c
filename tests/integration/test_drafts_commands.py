"""`aigc drafts list` fits 80 columns (`--wide` for every score), `aigc drafts show` tells a draft's whole story,
and text from people and models prints as it is, square brackets included, in every table."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aigc_workflow import batch as stages
from aigc_workflow import feedback, review
from aigc_workflow.briefs import BriefSpec
from aigc_workflow.cli.main import app
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from aigc_workflow.scoring.base import ScoreResult
from aigc_workflow.settings import Settings
from aigc_workflow.testing import EchoGenerator

SALE = "Spring sale [brief] notes for loyal customers: twenty percent off everything in store this week"
# What `aigc drafts list --json` promises: bench/writer/evaluate.py and other scripts read these keys.
JSON_KEYS = {
    "id", "batch_id", "brief_ref", "candidate_index", "modality", "text", "image_path", "prompt", "model_version",
    "seed", "params", "scores", "score_details", "verdict", "reasons", "rank", "rank_score", "chosen", "choice",
    "rank_reason", "publications", "reviews", "created_at",
}


def one_batch(settings: Settings) -> list[int]:
    """Two drafts in a human-review batch: the sale draft fails relevance, the trees draft passes and is
    published after a reviewer edits it."""
    settings = settings.model_copy(update={"text_scorers": ["relevance"]})
    with session_scope(settings.db_url) as session:
        repo.upsert_briefs([BriefSpec(ref="spring-sale-newsletter", topic=SALE, channel="blog"),
                            BriefSpec(ref="trees", topic="Why cities need trees", channel="blog")], session=session)
    batch_id, brief_ids = stages.start_batch(settings, brief_refs=None, seed=1, candidates=1,
                                             review_mode="human", config={})
    generator = EchoGenerator()
    planned = stages.plan(settings, brief_ids, batch_seed=1, candidates=1,
                          model_version=generator.model_version, params=generator.params)
    ids = stages.generate_and_store(settings, generator, batch_id, planned)
    with session_scope(settings.db_url) as session:
        for draft_id, value in zip(ids, (0.1, 0.9), strict=True):
            details = {"embedding_model": "all-MiniLM-L6-v2", "brief_words": 14}
            repo.save_scores(draft_id, [ScoreResult("relevance", value, "fake:cosine", "2", details, None)],
                             session=session)
    stages.gate_drafts(settings, ids)
    stages.rank_drafts(settings, ids)
    review.record_reviews(settings, "sam", [
        review.ReviewInput(ids[1], "approve", edited_text="Trees cool [hot] streets. Plant more.", note="[tone] ok"),
    ])
    stages.publish_approved(settings, ids, "human")
    return ids


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {"AIGC_HOME": str(settings.home), "AIGC_DATABASE_URL": settings.db_url, "COLUMNS": "80"}


def invoke(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_list_fits_80_columns_one_line_per_draft(settings: Settings, env: dict[str, str]) -> None:
    sale, trees = one_batch(settings)
    lines = invoke(env, "drafts", "list").splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split() == ["draft", "brief", "verdict", "main", "reason", "preview"]
    rows = lines[2:]  # under the header and its rule
    assert len(rows) == 2
    draft, brief, verdict = rows[0].split()[:3]
    assert (draft, verdict) == (str(sale), "rejected") and brief.startswith("spring-") and brief.endswith("…")
    assert "relevance 0.100 is below" in rows[0]  # the gate's first reason, cut to fit
    assert "Spring sale [brief]" in rows[0]  # the preview, brackets and all
    # An approved draft's main reason is how it ranked among its brief's approved candidates.
    assert rows[1].split()[:3] == [str(trees), "trees", "approved"] and "chosen: the only" in rows[1]


def test_wide_list_shows_every_score_choice_and_reason(settings: Settings, env: dict[str, str]) -> None:
    one_batch(settings)
    lines = invoke(env, "drafts", "list", "--wide").splitlines()
    header = lines[0].split()
    assert header[:4] == ["draft", "brief", "candidate", "relevance"]
    assert {"verdict", "choice", "reasons", "published", "preview"} <= set(header)
    rows = lines[2:]
    assert len(rows) == 2  # still one line per draft, however wide
    assert "0.100" in rows[0] and "0.900" in rows[1]
    assert "relevance 0.100 is below the minimum 0.25" in rows[0]
    assert "chosen" in rows[1] and "blog" in rows[1]


def test_list_json_keeps_its_shape(settings: Settings, env: dict[str, str]) -> None:
    one_batch(settings)
    rows = json.loads(invoke(env, "drafts", "list", "--json"))
    assert [set(row) for row in rows] == [JSON_KEYS, JSON_KEYS]
    assert rows[0]["brief_ref"] == "spring-sale-newsletter" and rows[0]["text"].startswith(SALE)


def test_show_prints_prompt_scores_with_details_verdict_reviews_and_the_published_text(
        settings: Settings, env: dict[str, str]) -> None:
    _, trees = one_batch(settings)
    with session_scope(settings.db_url) as session:
        draft = repo.draft_with_lineage(trees, session=session)
        original, publication, review_id = draft.text, draft.publications[0].id, draft.reviews[0].id
    shown = invoke(env, "drafts", "show", str(trees))
    assert "verdict: approved" in shown
    assert "relevance     0.900  (fake:cosine 2)" in shown
    assert "      embedding_model: all-MiniLM-L6-v2" in shown and "      brief_words: 14" in shown
    assert f"#{review_id} " in shown and "sam: approve (gate: approved); edited the text; note: [tone] ok" in shown
    assert "--- prompt ---\nWrite about Why cities need trees\n" in shown
    published = (f"--- published text (#{publication} on blog), edited by sam in review #{review_id} ---\n"
                 "Trees cool [hot] streets. Plant more.\n")
    assert published in shown
    assert shown.index(published) < shown.index(f"--- original draft, as the model wrote it ---\n{original}\n")


def test_show_of_a_rejected_draft_lists_every_reason_and_says_it_was_not_published(
        settings: Settings, env: dict[str, str]) -> None:
    sale, _ = one_batch(settings)
    shown = invoke(env, "drafts", "show", str(sale))
    assert "verdict: rejected\n  - relevance 0.100 is below the minimum 0.25" in shown
    assert "reviews: none" in shown and "publications: none" in shown
    assert f"--- text (not published) ---\n{SALE}." in shown


def test_ratings_and_briefs_tables_print_brackets_literally(settings: Settings, env: dict[str, str]) -> None:
    one_batch(settings)
    with session_scope(settings.db_url) as session:
        publication = repo.list_drafts(session=session)[1].publications[0].id
        feedback.add_rating(publication, feedback.RatingIn(rating=4, comment="[brief] was clear", rater="[bo]"),
                            session=session)
    env = {**env, "COLUMNS": "200"}
    ratings = invoke(env, "ratings", "list")
    assert "[brief] was clear" in ratings and "[bo]" in ratings
    assert "Spring sale [brief] notes" in invoke(env, "brief", "list")
