"""`aigc filters` and `aigc models build-bias` refuse bad options before any work, in one line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aigc_workflow.cli.main import app


@pytest.mark.parametrize("command", [["filters", "evaluate"], ["filters", "calibrate", "--target-precision", "0.9"]])
def test_a_misspelt_scorer_is_named(command: list[str], sqlite_settings) -> None:  # type: ignore[no-untyped-def]
    env = {"AIGC_HOME": str(sqlite_settings.home), "AIGC_DATABASE_URL": sqlite_settings.db_url}
    result = CliRunner().invoke(app, [*command, "--scorers", "toxicity,toxcity"], env=env)
    assert result.exit_code == 1
    assert "unknown scorer(s) toxcity; known:" in result.output


def test_an_unknown_classifier_head_is_refused_before_training(sqlite_settings) -> None:  # type: ignore[no-untyped-def]
    env = {"AIGC_HOME": str(sqlite_settings.home), "AIGC_DATABASE_URL": sqlite_settings.db_url}
    result = CliRunner().invoke(app, ["models", "build-bias", "--head", "forest"], env=env)
    assert result.exit_code == 1 and "--head must be logistic or mlp, not 'forest'" in result.output
