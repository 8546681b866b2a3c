"""Ratings: recording (idempotently), importing all or nothing, and the CLI, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_workflow import feedback
from aigc_workflow.briefs import BriefSpec
from aigc_workflow.cli.main import app
from aigc_workflow.db import repo
from aigc_workflow.db.models import Draft, Modality, Publication, Rating
from aigc_workflow.db.session import session_scope
from aigc_workflow.feedback import RatingIn, RatingsFileError

HEADER = "publication_id,rating,thumbs,rater,comment,external_id\n"


def make_publications(url: str, count: int = 2) -> list[int]:
    """Brief, batch, drafts and one publication per draft, written directly with the ORM."""
    with session_scope(url) as session:
        repo.upsert_briefs([BriefSpec(ref="trees", topic="Why cities need trees")], session=session)
        brief = repo.list_briefs(session=session)[0]
        batch = repo.create_batch(session=session, review_mode="auto", seed=1, candidates=count, config={})
        ids = []
        for index in range(count):
            draft = Draft(
                cache_key=f"key-{index}", batch_id=batch.id, brief_id=brief.id, candidate_index=index,
                modality=Modality.TEXT, text=f"Trees give shade ({index}).", prompt="p", model_version="echo@1",
                seed=index, params={},
            )
            session.add(draft)
            session.flush()
            publication = Publication(draft_id=draft.id, channel="blog", location=f"blog/draft-{draft.id}.md",
                                      text=draft.text)
            session.add(publication)
            session.flush()
            ids.append(publication.id)
    return ids


def all_ratings(url: str) -> list[Rating]:
    with session_scope(url) as session:
        return feedback.list_ratings(session=session)


def test_add_rating_stores_rating_with_time_and_summaries_count_it(db_url: str) -> None:
    first, second = make_publications(db_url)
    with session_scope(db_url) as session:
        feedback.add_rating(first, RatingIn(rating=5, thumbs="up", rater="ana", comment="Lovely"), session=session)
        feedback.add_rating(first, RatingIn(rating=2), session=session)
        feedback.add_rating(first, RatingIn(thumbs="down"), session=session)
    with session_scope(db_url) as session:
        summaries = feedback.rating_summaries([first, second], session=session)
    assert summaries[first] == {"count": 3, "mean": 3.5, "thumbs_up": 1, "thumbs_down": 1}
    assert summaries[second] == feedback.empty_summary()
    stored = all_ratings(db_url)[0]
    assert (stored.rating, str(stored.thumbs), stored.rater, stored.comment) == (5, "up", "ana", "Lovely")
    assert abs((datetime.now(UTC) - stored.created_at).total_seconds()) < 60


def test_unknown_publication_is_a_lookup_error_and_writes_nothing(db_url: str) -> None:
    make_publications(db_url)
    with pytest.raises(LookupError, match="no publication with id 999"), session_scope(db_url) as session:
        feedback.add_rating(999, RatingIn(rating=3), session=session)
    assert all_ratings(db_url) == []


def test_same_external_id_is_stored_once_and_returns_the_first(db_url: str) -> None:
    first, second = make_publications(db_url)
    with session_scope(db_url) as session:
        stored, created = feedback.submit_rating(first, RatingIn(rating=4, external_id="k1"), session=session)
    with session_scope(db_url) as session:
        again, created_again = feedback.submit_rating(first, RatingIn(rating=1, external_id="k1"), session=session)
    assert (created, created_again) == (True, False)
    assert (again.id, again.rating) == (stored.id, 4)
    with pytest.raises(feedback.IdempotencyConflict), session_scope(db_url) as session:
        feedback.submit_rating(second, RatingIn(rating=4, external_id="k1"), session=session)
    assert len(all_ratings(db_url)) == 1


def test_add_rating_does_not_commit(db_url: str) -> None:
    first, _ = make_publications(db_url)
    with pytest.raises(RuntimeError), session_scope(db_url) as session:
        feedback.add_rating(first, RatingIn(rating=4, external_id="k"), session=session)
        feedback.add_rating(first, RatingIn(rating=3), session=session)
        raise RuntimeError("the caller's transaction fails later")
    assert all_ratings(db_url) == []


def test_import_writes_every_row_and_reimport_duplicates_keyed_rows_nothing(tmp_path: Path, db_url: str) -> None:
    first, second = make_publications(db_url)
    path = tmp_path / "ratings.csv"
    path.write_text(HEADER + f"{first},5,up,ana,,a1\n{second},,down,,,a2\n")
    with session_scope(db_url) as session:
        result = feedback.import_ratings_file(path, session=session)
    with session_scope(db_url) as session:
        again = feedback.import_ratings_file(path, session=session)
    assert (result.created, result.existing) == (2, 0)
    assert (again.created, again.existing) == (0, 2)
    assert [(r.publication_id, r.external_id) for r in all_ratings(db_url)] == [(first, "a1"), (second, "a2")]


def test_import_with_unknown_publications_writes_nothing_and_names_each_line(tmp_path: Path, db_url: str) -> None:
    first, _ = make_publications(db_url)
    path = tmp_path / "ratings.json"
    path.write_text(json.dumps([
        {"publication_id": first, "rating": 5},
        {"publication_id": 777, "rating": 4},
        {"publication_id": first, "thumbs": "up"},
        {"publication_id": 778, "thumbs": "down"},
    ]))
    with pytest.raises(RatingsFileError) as caught, session_scope(db_url) as session:
        feedback.import_ratings_file(path, session=session)
    assert [str(p) for p in caught.value.problems] == [
        "item 2: field 'publication_id': no publication with id 777",
        "item 4: field 'publication_id': no publication with id 778",
    ]
    assert all_ratings(db_url) == []


def test_import_refuses_an_external_id_stored_for_another_publication(tmp_path: Path, db_url: str) -> None:
    first, second = make_publications(db_url)
    with session_scope(db_url) as session:
        feedback.add_rating(first, RatingIn(rating=2, external_id="taken"), session=session)
    path = tmp_path / "ratings.csv"
    path.write_text(HEADER + f"{second},5,,,,new\n{second},4,,,,taken\n")
    with pytest.raises(RatingsFileError, match="line 3: field 'external_id': 'taken' is already used"), \
            session_scope(db_url) as session:
        feedback.import_ratings_file(path, session=session)
    assert [r.external_id for r in all_ratings(db_url)] == ["taken"]


# --- CLI ------------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {"AIGC_HOME": str(tmp_path / "home"), "AIGC_DATABASE_URL": db_url}


def test_cli_rate_then_list(cli_env: dict[str, str], db_url: str) -> None:
    first, second = make_publications(db_url)
    runner = CliRunner()
    rated = runner.invoke(app, ["rate", str(first), "--rating", "4", "--thumbs", "up", "--comment", "Nice",
                                "--rater", "bo"], env=cli_env)
    assert rated.exit_code == 0, rated.output
    assert f"stored for publication {first}" in rated.output
    thumbs_only = runner.invoke(app, ["rate", str(second), "--thumbs", "down", "--json"], env=cli_env)
    assert json.loads(thumbs_only.stdout)["created"] is True
    listed = runner.invoke(app, ["ratings", "list", "--publication", str(first), "--json"], env=cli_env)
    rows = json.loads(listed.stdout)
    assert [(r["rating"], r["thumbs"], r["comment"], r["rater"]) for r in rows] == [(4, "up", "Nice", "bo")]
    assert len(json.loads(runner.invoke(app, ["ratings", "list", "--json"], env=cli_env).stdout)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999", "--rating", "3"], "no publication with id 999"),
        (["{first}", "--rating", "0"], "--rating: Input should be greater than or equal to 1"),
        (["{first}", "--rating", "6"], "--rating: Input should be less than or equal to 5"),
        (["{first}"], "give a rating (1-5), thumbs (up or down), or both"),
    ],
)
def test_cli_rate_refuses_with_a_clear_message(cli_env: dict[str, str], db_url: str, args: list[str],
                                               message: str) -> None:
    first, _ = make_publications(db_url)
    result = CliRunner().invoke(app, ["rate", *(a.format(first=first) for a in args)], env=cli_env)
    assert result.exit_code == 1
    assert message in result.output
    assert all_ratings(db_url) == []


def test_cli_import_all_or_nothing(tmp_path: Path, cli_env: dict[str, str], db_url: str) -> None:
    first, _ = make_publications(db_url)
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"{first},5,,,,\n{first},9,,,,\n424242,3,,,,\n")
    refused = runner.invoke(app, ["ratings", "import", str(bad)], env=cli_env)
    assert refused.exit_code == 1
    assert f"{bad}: line 3: field 'rating': Input should be less than or equal to 5" in refused.output
    assert all_ratings(db_url) == []
    # Format problems are reported first; once the file parses, unknown publications are named by line too.
    bad.write_text(HEADER + f"{first},5,,,,\n424242,3,,,,\n")
    refused = runner.invoke(app, ["ratings", "import", str(bad)], env=cli_env)
    assert f"{bad}: line 3: field 'publication_id': no publication with id 424242" in refused.output
    assert all_ratings(db_url) == []
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"publication_id": first, "rating": 5, "external_id": "x"}]))
    imported = runner.invoke(app, ["ratings", "import", str(good), "--json"], env=cli_env)
    assert json.loads(imported.stdout) == {"file": str(good), "created": 1, "existing": 0}


def test_cli_api_refuses_to_start_without_a_token(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["api"], env={**cli_env, "AIGC_API_TOKEN": ""})
    assert result.exit_code == 1
    assert "no API token configured" in result.output
    assert "AIGC_API_TOKEN" in result.output


def test_create_app_refuses_without_a_token(settings) -> None:  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    from aigc_workflow.api import ApiTokenMissing, create_app

    with pytest.raises(ApiTokenMissing, match="AIGC_API_TOKEN"):
        create_app(settings)
    with pytest.raises(ApiTokenMissing):
        create_app(settings.model_copy(update={"api_token": SecretStr("   ")}))
