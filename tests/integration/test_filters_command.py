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
    assert result.exit_code == 2 and "Invalid value for '--head'" in result.output  # a usage error, no training


def test_the_gate_is_measured_on_labelled_drafts(sqlite_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    brief = {"ref": "trees", "topic": "Why cities need trees", "keywords": ["shade"], "min_words": 5}
    rows = [
        {"id": "good", "text": "Street trees give shade and cool the air on hot days.", "label": "publishable"},
        {"id": "short", "text": "Trees.", "label": "not_publishable", "defects": ["too_short"]},
        {"id": "cut", "text": "Street trees give shade and cool the air on", "label": "not_publishable",
         "defects": ["truncated"]},
    ]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps({"brief": brief, "source": "test", **row}) + "\n" for row in rows))
    env = {"AIGC_HOME": str(sqlite_settings.home), "AIGC_DATABASE_URL": sqlite_settings.db_url}
    args = ["filters", "evaluate", "--drafts", str(path), "--drafts-only", "--scorers", "format,completeness"]
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["drafts"]
    both = {split: data["drafts"] for split, data in report["data"].items()}
    assert sum(both.values()) == 3 and 0 in both.values()  # one brief: all on one side of the split
    split = next(s for s, n in both.items() if n)
    assert report["gate"][split]["not_publishable_stopped"] == {"n": 2, "share": 1.0}
    assert report["gate"][split]["publishable_approved"] == {"n": 1, "share": 1.0}
    assert report["scorers"]["format"][split]["recall"] == 0.5  # "Trees." lacks the keyword; the cut one has it

    text = CliRunner().invoke(app, args, env=env)
    assert text.exit_code == 0, text.output
    assert "stops 100% of not publishable" in text.output
    assert max(len(line) for line in text.output.splitlines()) <= 80


def test_a_bad_labelled_drafts_file_names_its_line(sqlite_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "labels.jsonl"
    path.write_text('{"id": "a", "text": "x", "label": "fine", "source": "s", "brief": {"ref": "r", "topic": "t"}}\n')
    env = {"AIGC_HOME": str(sqlite_settings.home), "AIGC_DATABASE_URL": sqlite_settings.db_url}
    result = CliRunner().invoke(app, ["filters", "evaluate", "--drafts", str(path), "--drafts-only"], env=env)
    assert result.exit_code == 1
    assert f"{path}, line 1: field 'label': 'fine' is not one of" in result.output
    assert "Traceback" not in result.output
