"""Importing briefs: all or nothing, idempotent, on both databases and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.cli.main import app
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope

GOOD = "- ref: trees\n  topic: Why cities need trees\n  keywords: [shade]\n- ref: sleep\n  topic: Better sleep\n"


def test_upsert_creates_updates_and_leaves_unchanged(db_url: str) -> None:
    with session_scope(db_url) as session:
        first = repo.upsert_briefs([BriefSpec(ref="a", topic="A"), BriefSpec(ref="b", topic="B")], session=session)
    with session_scope(db_url) as session:
        second = repo.upsert_briefs([BriefSpec(ref="a", topic="A"), BriefSpec(ref="b", topic="B2")], session=session)
        briefs = repo.list_briefs(session=session)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
    assert [(b.ref, b.topic) for b in briefs] == [("a", "A"), ("b", "B2")]


@pytest.fixture
def cli_env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {"AIGC_HOME": str(tmp_path / "home"), "AIGC_DATABASE_URL": db_url}


def test_cli_import_twice_then_list_as_json(tmp_path: Path, cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    path = tmp_path / "briefs.yaml"
    path.write_text(GOOD)
    first = runner.invoke(app, ["brief", "import", str(path)], env=cli_env)
    second = runner.invoke(app, ["brief", "import", str(path)], env=cli_env)
    assert first.exit_code == 0, first.output
    assert "2 created" in first.output
    assert "0 created, 0 updated, 2 unchanged" in second.output
    listed = runner.invoke(app, ["brief", "list", "--json"], env=cli_env)
    rows = json.loads(listed.stdout)
    assert [r["ref"] for r in rows] == ["trees", "sleep"]
    assert set(rows[0]) >= {"id", "ref", "modality", "topic", "audience", "tone", "format", "min_words",
                            "max_words", "keywords", "avoid", "channel", "candidates"}
    assert rows[0]["keywords"] == ["shade"]


def test_cli_bad_file_imports_nothing_and_names_line_and_field(tmp_path: Path, cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    path = tmp_path / "briefs.yaml"
    path.write_text(GOOD + "- ref: broken\n  topic: Fine\n  max_words: many\n")
    result = runner.invoke(app, ["brief", "import", str(path)], env=cli_env)
    assert result.exit_code == 1
    assert f"{path}: item 3, line 8: field 'max_words'" in result.output
    listed = runner.invoke(app, ["brief", "list", "--json"], env=cli_env)
    assert json.loads(listed.stdout) == []


FACTS = (
    "- ref: spring\n  topic: Spring opening at Rosa's Bakery\n"
    "  facts: [\"Rosa's Bakery opens at 7:00, Monday to Saturday.\", \"A loaf costs 4.50 EUR.\"]\n"
    "- ref: plain\n  topic: Better sleep\n"
)


def test_facts_round_trip_through_the_database_and_the_cli(tmp_path: Path, cli_env: dict[str, str],
                                                           db_url: str) -> None:
    runner = CliRunner()
    path = tmp_path / "briefs.yaml"
    path.write_text(FACTS)
    assert runner.invoke(app, ["brief", "import", str(path)], env=cli_env).exit_code == 0
    with session_scope(db_url) as session:
        spring, plain = repo.list_briefs(session=session)
        assert spring.facts == ["Rosa's Bakery opens at 7:00, Monday to Saturday.", "A loaf costs 4.50 EUR."]
        assert plain.facts == []
        assert repo.brief_to_spec(spring).facts == tuple(spring.facts)
        assert repo.brief_to_spec(spring).content_hash() == spring.content_hash
    rows = json.loads(runner.invoke(app, ["brief", "list", "--json"], env=cli_env).stdout)
    assert [r["facts"] for r in rows] == [list(spring.facts), []]
    table = runner.invoke(app, ["brief", "list"], env={**cli_env, "COLUMNS": "400"})
    assert "facts" in table.output
    assert "Rosa's Bakery opens at 7:00, Monday to Saturday.; A loaf costs 4.50 EUR." in table.output
    # Changed facts are a changed brief (new hash); the same facts again change nothing.
    path.write_text(FACTS.replace("4.50", "4.80"))
    assert "0 created, 1 updated, 1 unchanged" in runner.invoke(app, ["brief", "import", str(path)],
                                                                env=cli_env).output
    assert "0 created, 0 updated, 2 unchanged" in runner.invoke(app, ["brief", "import", str(path)],
                                                                env=cli_env).output


def test_briefs_without_facts_list_as_before(tmp_path: Path, cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    path = tmp_path / "briefs.yaml"
    path.write_text(GOOD)
    runner.invoke(app, ["brief", "import", str(path)], env=cli_env)
    table = runner.invoke(app, ["brief", "list"], env={**cli_env, "COLUMNS": "400"})
    assert table.exit_code == 0, table.output
    assert "facts" not in table.output
