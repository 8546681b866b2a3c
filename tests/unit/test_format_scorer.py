"""FormatScorer: table-driven checks of length, keywords, words to avoid and degenerate repetition."""

from __future__ import annotations

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ScoringContext, ScoringItem, score_safely
from aigc_workflow.scoring.format import FormatScorer, contains, format_checks, repetition_problem, words
from aigc_workflow.settings import Settings

PROSE = (
    "Solar panels turn sunlight into electricity for your home. Over a year they can cut the energy bill "
    "noticeably, and most systems pay for themselves within a decade. Installers check the roof, the angle "
    "and the shade before they quote a price."
)


def brief(**fields: object) -> BriefSpec:
    return BriefSpec(ref="b1", topic="solar panels", **fields)


@pytest.fixture()
def scorer(tmp_path) -> FormatScorer:
    return FormatScorer(Settings(home=tmp_path))


@pytest.mark.parametrize(
    ("text", "fields", "value", "failed"),
    [
        (PROSE, {}, 1.0, []),
        (PROSE, {"min_words": 10, "max_words": 100, "keywords": ["solar panel", "Energy  bill"], "avoid": ["cheap"]},
         1.0, []),
        (PROSE, {"min_words": 100}, 2 / 3, ["42 words, fewer than the minimum 100"]),
        (PROSE, {"max_words": 20}, 2 / 3, ["42 words, more than the maximum 20"]),
        (PROSE, {"keywords": ["battery", "sunlight"]}, 2 / 3, ["keyword 'battery' missing"]),
        (PROSE, {"keywords": ["battery", "grid"]}, 2 / 3, ["keywords 'battery', 'grid' missing"]),
        (PROSE, {"avoid": ["roof", "cheap"]}, 2 / 3, ["uses 'roof', which the brief says to avoid"]),
        (PROSE, {"avoid": ["olar"]}, 1.0, []),  # only whole words count
        ("", {"keywords": ["solar"]}, 0.0, ["the text is empty"]),
        (None, {}, 0.0, ["the text is empty"]),
        ("  ...  !!", {}, 0.0, ["the text has no words"]),
        ("buy now " * 30, {}, 0.5, ["degenerate repetition"]),
        ("great great great great deal", {}, 0.5, ["'great' repeats 4 times in a row"]),
        (PROSE + " " + PROSE + " " + PROSE, {}, 0.5, ["degenerate repetition"]),
        ("Short and fine.", {"min_words": 1, "max_words": 3}, 1.0, []),
        # The shape of the brief's format (aigc_workflow/text_formats.py): only letters greet their readers.
        ("Dear members,\n" + PROSE, {"format": "newsletter paragraph"}, 2 / 3,
         ["opens with a greeting, 'Dear members,', which a paragraph does not have"]),
        ("Dear members,\n" + PROSE, {"format": "welcome email"}, 1.0, []),
        ("Hey there, cyclists! " + PROSE, {"format": "short blog post"}, 2 / 3,
         ["opens with a greeting, 'Hey there, cyclists!', which an article does not have"]),
        ("Hey there, members! " + PROSE, {"format": "welcome email"}, 1.0, []),
        ("Subject: Solar\n" + PROSE, {"format": "announcement on our website"}, 2 / 3,
         ["has a subject line, which a notice does not have"]),
        ("1. Solar panels help.\n2. They pay back.", {"format": "social media post"}, 2 / 3,
         ["is written as a list; a social post is prose"]),
    ],
)
def test_format_table(scorer, text, fields, value, failed) -> None:
    [result] = scorer.score([ScoringItem(brief(**fields), text)], ScoringContext())
    assert result.value == pytest.approx(value, abs=1e-6)
    assert result.error is None
    assert (result.model, result.version) == ("rules", "rules-4")
    assert len(result.details["problems"]) == len(failed)
    for expected, actual in zip(failed, result.details["problems"], strict=True):
        assert expected in actual


@pytest.mark.parametrize(
    ("text", "phrase", "found"),
    [
        ("Our Solar Panels work", "solar panel", True),
        ("solar\npanel", "solar panel", True),
        ("the buses run", "bus", True),
        ("AI helps", "ai", True),
        ("she said so", "ai", False),
        ("C++ is fast", "C++", True),
        ("anything", "   ", False),
        # Another inflection or spelling of the same words is the keyword an editor asked for.
        ("The pool reopened on Monday", "reopens", True),
        ("a new flavor this week", "flavour", True),
        ("Check your tires", "tyres", True),
        ("We cleaned up the park", "clean-up", True),
        ("any class you like", "classes", True),
        ("Put it in the freezer", "freeze", False),
        ("I apologize for the delay", "sorry", False),
        ("Admission is free. Parking costs 5 pounds.", "free parking", False),
    ],
)
def test_contains_whole_words(text: str, phrase: str, found: bool) -> None:
    assert contains(text, phrase) is found


@pytest.mark.parametrize(
    ("text", "degenerate"),
    [
        (PROSE, False),
        ("one of the best, one of the cheapest, and one of the oldest shops in one of the towns " + PROSE, False),
        ("the the the the", True),
        ("Click here. " * 6, True),
        ("a b c d e f g h i j k l m n o p", False),
    ],
)
def test_repetition(text: str, degenerate: bool) -> None:
    assert (repetition_problem(words(text)) is not None) is degenerate


def test_checks_only_what_the_brief_asks(scorer) -> None:
    names = [check.name for check in format_checks(PROSE, brief())]
    assert names == ["not_empty", "repetition"]
    names = [c.name for c in format_checks(PROSE, brief(min_words=1, keywords=["sun"], avoid=["x"]))]
    assert names == ["not_empty", "word_count", "keywords", "avoid", "repetition"]


def test_one_result_per_item_in_order(scorer) -> None:
    items = [ScoringItem(brief(min_words=30), PROSE), ScoringItem(brief(), ""), ScoringItem(brief(), PROSE)]
    results = score_safely(scorer, items, ScoringContext())
    assert [r.value for r in results] == [1.0, 0.0, 1.0]
    assert all(r.scorer == "format" for r in results)
