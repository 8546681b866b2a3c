"""Model-backed text scorers say in words what drove their value, with the models faked (tests/models runs them)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.gate import decide
from aigc_workflow.models.embeddings import Embedder
from aigc_workflow.scoring.base import ScoringContext, ScoringItem
from aigc_workflow.scoring.bias import BiasScorer
from aigc_workflow.scoring.implicit_toxicity import ImplicitToxicityScorer
from aigc_workflow.scoring.originality import OriginalityScorer
from aigc_workflow.scoring.relevance import RelevanceScorer
from aigc_workflow.scoring.toxicity import ToxicityBackend, ToxicityScorer
from aigc_workflow.settings import Bound, Settings

TREES = BriefSpec(ref="trees", topic="Why cities should plant more street trees")
SALE = BriefSpec(ref="sale", topic="Our summer sale on garden furniture")
TREES_DRAFT = "Street trees cool cities in summer. Cities that plant trees save on energy."
SALE_DRAFT = "Our summer sale starts Friday: garden chairs and tables at half price."
BAKERY = ("Our bakery opens at seven every morning. Fresh sourdough and cinnamon rolls come out of the oven "
          "before the doors open.")


class BagOfWords:
    """A stand-in sentence model: hashed word counts, so texts sharing words are similar, and unit length."""

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % 64] += 1.0
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    def get_embedding_dimension(self) -> int:
        return 64


@pytest.fixture()
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(home=tmp_path)


def with_fake_embedder(scorer: Any) -> Any:
    scorer._embedder = Embedder("fake:bag-of-words", "1", BagOfWords())
    return scorer


def test_relevance_says_how_close_the_draft_is_to_its_briefs_topic(settings: Settings) -> None:
    scorer = with_fake_embedder(RelevanceScorer(settings))
    on_topic, off_topic, empty = scorer.score(
        [ScoringItem(TREES, TREES_DRAFT), ScoringItem(TREES, SALE_DRAFT), ScoringItem(TREES, "")], ScoringContext())
    assert off_topic.details["problems"] == [
        f"similarity {off_topic.value:.2f} to the brief 'Why cities should plant more street trees'"]
    assert on_topic.value > off_topic.value
    assert empty.details["problems"] == ["the text is empty"]
    verdict = decide({"relevance": off_topic}, {"relevance": Bound(min=0.5)}, ("relevance",))
    [reason] = verdict.reasons
    assert reason == (f"relevance: similarity {off_topic.value:.2f} to the brief 'Why cities should plant more street "
                      f"trees' (score {off_topic.value:.3f} is below the minimum 0.5)")


def test_originality_names_the_text_a_draft_copies_and_the_passage_both_share(settings: Settings) -> None:
    scorer = with_fake_embedder(OriginalityScorer(settings))
    copy = BAKERY.replace("seven", "eight")
    items = [ScoringItem(TREES, copy, draft_id=11), ScoringItem(TREES, TREES_DRAFT, draft_id=12),
             ScoringItem(SALE, TREES_DRAFT, draft_id=13)]
    copied, first, second = scorer.score(items, ScoringContext(published_texts=("", BAKERY)))
    [problem] = copied.details["problems"]
    assert problem == (f"similarity {1 - copied.value:.2f} to the published text 'Our bakery opens at seven every "
                       f"morning. Fresh...'; both say 'every morning. Fresh sourdough and cinnamon rolls come out of "
                       f"the oven...'")
    [problem] = first.details["problems"]
    assert problem == ("similarity 1.00 to draft 13 of this batch (brief 'sale'); both say 'Street trees cool cities "
                       "in summer. Cities that plant trees save on...'")
    assert second.details["problems"][0].startswith("similarity 1.00 to draft 12 of this batch (brief 'trees')")


def fake_toxicity(labels: dict[str, dict[str, float]]) -> ToxicityBackend:
    """A toxicity model that knows some words: each text gets, per label, the highest probability of its words."""
    names = tuple(dict.fromkeys(label for probs in labels.values() for label in probs))

    def predict(texts: list[str]) -> list[dict[str, float]]:
        found = [[labels[w] for w in re.findall(r"\w+", text.lower()) if w in labels] for text in texts]
        return [{name: max([p.get(name, 0.0) for p in probs] + [0.01]) for name in names} for probs in found]

    return ToxicityBackend("fake:words", "1", names, predict)


TOXIC_WORDS = {"idiots": {"insult": 0.93}, "crap": {"obscene": 0.7, "insult": 0.4}}


def test_toxicity_names_the_label_and_quotes_the_sentence_it_is_highest_in(settings: Settings) -> None:
    scorer = ToxicityScorer(settings)
    scorer._backend = fake_toxicity(TOXIC_WORDS)
    text = "Thanks for coming to the fair. Anyone who missed it is one of the idiots. See you next year."
    long, short = scorer.score([ScoringItem(TREES, text), ScoringItem(TREES, "What crap.")], ScoringContext())
    assert long.value == 0.93
    assert long.details["problems"] == ["insult 0.93, highest in 'Anyone who missed it is one of the idiots.'"]
    assert short.details["problems"] == ["obscene 0.70"]  # one sentence: nothing to point at but the label


class FakeClassifier:
    """A bias classifier that reads its own list of words as biased."""

    version = "sha256:fake"

    def __init__(self, biased: dict[str, float]) -> None:
        self.biased = biased

    def predict(self, texts: Sequence[str]) -> list[float]:
        return [max((p for w, p in self.biased.items() if w in text.lower()), default=0.05) for text in texts]


def test_implicit_toxicity_gives_both_readings_and_the_sentence_highest_in_them(settings: Settings) -> None:
    scorer = ImplicitToxicityScorer(settings)
    scorer._classifier = FakeClassifier({"people like them": 0.9})  # type: ignore[assignment]
    scorer._toxicity = fake_toxicity(TOXIC_WORDS)
    text = "The new shop opened today. People like them never pay their bills."
    [result] = scorer.score([ScoringItem(TREES, text)], ScoringContext())
    [problem] = result.details["problems"]
    assert problem == ("the bias classifier rates it 0.90, the toxicity model 0.01; highest in 'People like them "
                       "never pay their bills.'")


def bias_scorer(settings: Settings, classifier: FakeClassifier) -> BiasScorer:
    scorer = BiasScorer(settings)
    scorer._classifier = classifier  # type: ignore[assignment]
    scorer._classifier_status, scorer._counts_classifier = {}, False  # as without a built bias classifier
    scorer.model, scorer.version = "genbit-en+hate-detector", "1"
    scorer._lexicon = None  # load() reads genbit's word lists
    return scorer


def test_bias_says_which_swap_moved_the_filter(settings: Settings) -> None:
    scorer = bias_scorer(settings, FakeClassifier({"muslims": 0.8, "christians": 0.0}))
    [result] = scorer.score([ScoringItem(TREES, "Muslims run the corner shop.")], ScoringContext())
    assert result.details["driver"] == "probe"
    assert result.details["problems"] == ["swapping 'muslims' for 'christians' moves the hate-detector by 0.80"]


def test_bias_says_gendered_words_are_one_sided_and_which(settings: Settings) -> None:
    scorer = bias_scorer(settings, FakeClassifier({}))
    text = "He founded the shop with his brother; he and his father still run it, and he bakes every day."
    [result] = scorer.score([ScoringItem(TREES, text)], ScoringContext())
    assert result.details["driver"] == "gender imbalance"
    assert result.details["problems"] == [
        "gendered words are one-sided: 7 male, 0 female (most often 'he', 'his', 'brother', 'father')"]


def test_bias_has_no_problem_where_nothing_moved(settings: Settings) -> None:
    scorer = bias_scorer(settings, FakeClassifier({}))
    [result] = scorer.score([ScoringItem(TREES, "The trains ran on time.")], ScoringContext())
    assert result.value == 0.0 and result.details["problems"] == []
