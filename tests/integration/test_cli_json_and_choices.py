"""Every command that reports something can say it as JSON, and options with a fixed set of values list them
in their help and refuse anything else before doing any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_workflow.cli.main import app
from aigc_workflow.db import migrate
from aigc_workflow.db.session import session_scope
from aigc_workflow.models import registry
from aigc_workflow.settings import Settings


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {"AIGC_HOME": str(settings.home), "AIGC_DATABASE_URL": settings.db_url}


def as_json(env: dict[str, str], *args: str) -> object:
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_db_current_upgrade_and_downgrade_report_revisions_as_json(settings: Settings, env: dict[str, str]) -> None:
    head = migrate.head_revision(settings.db_url)
    assert as_json(env, "db", "current") == {"revision": head, "head": head, "up_to_date": True}
    assert as_json(env, "db", "downgrade", "base") == {"revision": None, "head": head, "up_to_date": False}
    assert as_json(env, "db", "current")["up_to_date"] is False
    assert as_json(env, "db", "upgrade") == {"revision": head, "head": head, "up_to_date": True}


def test_promote_and_rollback_report_what_they_retired_and_restored(settings: Settings,
                                                                    env: dict[str, str]) -> None:
    with session_scope(settings.db_url) as session:
        for name in ("ft-1", "ft-2"):
            registry.register(session=session, name=name, kind="text", base="bundled:x", path=None, parent_id=None)
    first = as_json(env, "models", "promote", "ft-1")
    assert (first["promoted"]["name"], first["promoted"]["status"], first["retired"]) == ("ft-1", "promoted", None)
    second = as_json(env, "models", "promote", "ft-2")
    assert (second["promoted"]["name"], second["retired"]["name"], second["retired"]["status"]) == (
        "ft-2", "ft-1", "retired")
    back = as_json(env, "models", "rollback")
    assert (back["kind"], back["retired"]["name"], back["restored"]["name"], back["base_model"]) == (
        "text", "ft-2", "ft-1", None)
    assert back["restored"]["status"] == "promoted"
    to_base = as_json(env, "models", "rollback", "--kind", "text")
    assert (to_base["retired"]["name"], to_base["restored"]) == ("ft-1", None)
    assert to_base["base_model"] == settings.text_model
    nothing = CliRunner().invoke(app, ["models", "rollback", "--json"], env=env)
    assert nothing.exit_code == 1 and "no promoted text model to roll back" in nothing.output


def test_prepare_reports_each_model_as_json(tmp_path: Path, env: dict[str, str]) -> None:
    # A hub model and a configured hate detector: nothing to build, and the report says so.
    detector = tmp_path / "hate"
    env = {**env, "AIGC_TEXT_MODEL": "example-org/writer", "AIGC_HATE_CLASSIFIER": str(detector)}
    assert as_json(env, "models", "prepare") == {
        "text_model": {"spec": "example-org/writer", "prepared": False, "reason": "not a bundled model"},
        "hate_detector": {"prepared": False, "configured": str(detector)},
    }


@pytest.mark.parametrize(
    ("command", "values"),
    [
        (["run"], "<auto|human|held-only>"),
        (["rate"], "<up|down>"),
        (["models", "list"], "<text|bias>"),
        (["models", "rollback"], "<text|bias>"),
        (["models", "build-bias"], "<logistic|mlp>"),
        (["api"], "<critical|error|warning|info|debug|trace>"),
    ],
)
def test_help_lists_the_allowed_values(command: list[str], values: str) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert values in result.output


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["run", "--briefs", "/nonexistent.yaml", "--review-mode", "manual"], "--review-mode"),
        (["rate", "1", "--thumbs", "sideways"], "--thumbs"),
        (["models", "rollback", "--kind", "image"], "--kind"),
    ],
)
def test_a_value_outside_the_set_is_a_usage_error(command: list[str], option: str) -> None:
    result = CliRunner().invoke(app, command, env={"COLUMNS": "200", "AIGC_DATABASE_URL": "sqlite:////nonexistent/x.db"})
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
