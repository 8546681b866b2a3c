"""`aigc score`: try the filters on any text; relevance needs a topic, originality sees what is published."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aigc_workflow.cli.main import app


def run(env: dict[str, str], *args: str) -> dict:
    result = CliRunner().invoke(app, ["score", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_without_a_topic_relevance_and_groundedness_are_skipped_not_faked(sqlite_settings) -> None:  # type: ignore[no-untyped-def]
    """With no topic there is nothing to be relevant to, nothing to ground a name or figure in, nothing to state."""
    env = {"AIGC_HOME": str(sqlite_settings.home), "AIGC_DATABASE_URL": sqlite_settings.db_url,
           "AIGC_TEXT_SCORERS": '["format", "relevance", "groundedness", "coverage"]'}
    out = run(env, "Trees give shade to the whole street.")
    assert out["skipped"] == ["relevance", "groundedness", "coverage"]
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


def test_facts_ground_the_names_and_figures_a_text_relies_on(sqlite_settings) -> None:  # type: ignore[no-untyped-def]
    """`--fact` is the brief's facts field: a price the facts give is supported, one they do not give is not."""
    env = {"AIGC_HOME": str(sqlite_settings.home), "AIGC_DATABASE_URL": sqlite_settings.db_url,
           "AIGC_TEXT_SCORERS": '["groundedness"]'}
    text = "Our weekly vegetable box costs 18 GBP and delivery is free."
    grounded = run(env, text, "--topic", "A weekly vegetable box", "--fact", "The box costs 18 GBP a week")
    assert grounded["verdict"] == "approved" and grounded["scores"]["groundedness"] == 1.0
    ungrounded = run(env, text, "--topic", "A weekly vegetable box", "--fact", "Delivery is free")
    assert ungrounded["verdict"] == "rejected"
    assert "names or figures not in the brief: '18" in "; ".join(ungrounded["reasons"])  # the price, named
    facts_only = run(env, text, "--fact", "The box costs 18 GBP a week")
    assert facts_only["skipped"] == [] and facts_only["verdict"] == "approved"


def test_a_fact_that_is_too_long_is_a_clear_error_not_a_traceback(sqlite_settings) -> None:  # type: ignore[no-untyped-def]
    env = {"AIGC_HOME": str(sqlite_settings.home), "AIGC_DATABASE_URL": sqlite_settings.db_url,
           "AIGC_TEXT_SCORERS": '["groundedness"]'}
    result = CliRunner().invoke(app, ["score", "Some text.", "--fact", "x" * 5000], env=env)
    assert result.exit_code == 2
    assert "--fact" in result.output and "Traceback" not in result.output


def test_score_takes_the_briefs_language_and_refuses_a_bad_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"AIGC_HOME": str(tmp_path / "home"), "AIGC_TEXT_SCORERS": '["language"]'}
    german = "Unsere Bäckerei öffnet am Samstag um acht Uhr, mit frischem Brot für alle im Ort."
    assert run(env, german, "--language", "de")["verdict"] == "held"  # the harm filters read English only
    assert run(env, german)["verdict"] == "rejected"  # an English brief
    bad = CliRunner().invoke(app, ["score", german, "--language", "deutsch"], env=env)
    assert bad.exit_code == 2 and "two-letter ISO 639-1" in bad.output
