"""The bias classifier trained on a small slice of the packaged data, and the filters CLI end to end."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.slow

SLICE = 150  # examples per source: a few hundred sentences to embed, seconds on two cores


@pytest.fixture(scope="module")
def trained(tmp_path_factory):  # type: ignore[no-untyped-def]
    from aigc_workflow.filters.bias_classifier import BiasClassifier, train_classifier
    from aigc_workflow.filters.build import classifier_metrics
    from aigc_workflow.filters.datasets import load_filter_data
    from aigc_workflow.filters.embedding_cache import embed_cached
    from aigc_workflow.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("home"), device="cpu")
    data = load_filter_data(limit=SLICE)
    model = train_classifier(data.train, embed_cached([e.text for e in data.train], settings))
    test_vectors = embed_cached([e.text for e in data.test], settings)
    folder = model.save(settings.home / "clf")
    return model, BiasClassifier.load(folder), classifier_metrics(model, data, test_vectors, 0.5), test_vectors


def test_held_out_quality_beats_chance(trained) -> None:
    _, _, metrics, _ = trained
    assert metrics["implicit_harm"]["roc_auc"] >= 0.8, metrics["implicit_harm"]
    assert metrics["biased_comments"]["roc_auc"] >= 0.6, metrics["biased_comments"]  # noisy labels, small slice
    assert metrics["biased_comments"]["recall"] >= 0.5


def test_identity_false_alarms_are_reported_per_group(trained) -> None:
    _, _, metrics, _ = trained
    far = metrics["identity_false_alarm"]
    assert {"race_ethnicity", "sexual_orientation", "religion", "identity"} <= set(far["per_group"])
    assert all(0.0 <= g["false_alarm_rate"] <= 1.0 and g["n"] > 0 for g in far["per_group"].values())
    assert far["overall"] <= 0.25, far


def test_saved_classifier_round_trips_without_pickle(trained) -> None:
    import numpy as np

    model, loaded, _, vectors = trained
    assert np.allclose(model.predict_proba(vectors), loaded.predict_proba(vectors), atol=1e-6)
    assert loaded.version == model.version and loaded.meta["trained_on"]["holisticbias"]["0"] > 0


def _cli(home, *args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from aigc_workflow.cli.main import app

    env = {**os.environ, "AIGC_HOME": str(home), "AIGC_DEVICE": "cpu"}
    env.pop("AIGC_DATABASE_URL", None)
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])


def test_build_register_then_evaluate_and_calibrate(tmp_path) -> None:
    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.scoring.base import ScoringContext, ScoringItem, create_scorer, score_safely
    from aigc_workflow.settings import Settings

    home = tmp_path / "home"
    settings = Settings(home=home, device="cpu")
    brief = BriefSpec(ref="t", topic="t")
    # Before a build: the bias scorer's probe asks the hate detector, whose probability it does not count.
    [before] = score_safely(create_scorer("bias", settings), [ScoringItem(brief, "Go back to where you came from.")],
                            ScoringContext())
    assert before.error is None and "hate detector" in before.details["classifier"]["status"]
    assert "classifier" not in {before.details["driver"]}

    built = _cli(home, "models", "build-bias", "--limit", "100", "--json")
    assert built["status"] == "promoted" and built["held_out"]["implicit_harm"]["roc_auc"] > 0.5
    [after] = score_safely(create_scorer("bias", Settings(home=home, device="cpu")),
                           [ScoringItem(brief, "Go back to where you came from.")], ScoringContext())
    assert after.details["classifier"]["status"] == "used" and "probability" in after.details["classifier"]

    report = _cli(home, "filters", "evaluate", "--json", "--limit", "25",
                  "--scorers", "toxicity,bias,implicit_toxicity,relevance")
    assert report["scorers"]["relevance"]["applicable"] is False
    for name in ("toxicity", "bias", "implicit_toxicity"):
        entry = report["scorers"][name]
        assert "error" not in entry, entry
        assert set(entry["biased_comments"]) >= {"roc_auc", "precision", "recall", "threshold"}
        assert entry["identity_false_alarm"]["per_group"]
    calibrated = _cli(home, "filters", "calibrate", "--target-precision", "0.8", "--json", "--limit", "25",
                      "--scorers", "implicit_toxicity")
    entry = calibrated["scorers"]["implicit_toxicity"]
    assert entry["set"] == "implicit_harm"
    # The bound is chosen on one half and its precision reported on the other, never on the same texts.
    assert entry["calibrated_on"] > 0 and entry["reported_on"] > 0
