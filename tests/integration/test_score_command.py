"""`aigc score`: try the filters on any text; relevance needs a topic, originality sees what is published."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aigc_workflow.cli.main import app


def run(env: dict[str, str], *args: str) -> dict:
    result = CliRunner().invoke(app, ["score", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_without_a_topic_relevance_is_skipped_not_faked(sqlite_settings) -> None:  # type: ignore[no-untyped-def]
    env = {"AIGC_HOME": str(sqlite_settings.home), "AIGC_DATABASE_URL": sqlite_settings.db_url,
           "AIGC_TEXT_SCORERS": '["format", "relevance"]'}
    out = run(env, "Trees give shade to the whole street.")
    assert out["skipped"] == ["relevance"]
    assert set(out["scores"]) == {"format"}
    assert out["verdict"] == "approved"  # format alone decides; no invented relevance of 1.0


def test_scorers_that_need_no_published_texts_need_no_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"AIGC_HOME": str(tmp_path / "home"), "AIGC_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
           "AIGC_TEXT_SCORERS": '["format"]'}
    out = run(env, "Trees give shade to the whole street.")
    assert set(out["scores"]) == {"format"} and out["skipped"] == []


def test_an_unreadable_database_holds_bias_drafts_rather_than_dropping_a_promoted_classifier(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from aigc_workflow.filters.build import resolve_classifier_path
    from aigc_workflow.scoring.base import ModelUnavailable
    from aigc_workflow.settings import Settings

    settings = Settings(home=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(ModelUnavailable, match="cannot look up the promoted bias classifier"):
        resolve_classifier_path(settings)
