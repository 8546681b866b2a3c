"""Format: rule checks of a draft against its brief (length, keywords, words to avoid, degenerate repetition)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import snowballstemmer
from breame.spelling import get_american_spelling

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ScoreResult, ScoringContext, ScoringItem
from aigc_workflow.text_formats import WORD, shape_of, shape_problems

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

VERSION = "rules-4"  # 2: the shape of the brief's format (text_formats.py); 3: keywords in any inflection and spelling;
# 4: a greeting sentence opening a format without greetings ("Hey there, cyclists! Before you ride...")
_LETTERS = re.compile(r"[^\W_]+")
_SENTENCE_BREAK = re.compile(r"[.!?;:]+(?:\s|$)|\n")
# Degenerate generation (a loop) repeats phrases far more than prose does; prose of a few hundred
# words repeats a 3-gram like "one of the" a handful of times at most, never a tenth of all 3-grams.
TOP_NGRAM_MIN_COUNT = 4
TOP_NGRAM_MAX_SHARE = 0.10
DISTINCT_NGRAM_MIN_RATIO = 0.5
DISTINCT_MIN_NGRAMS = 12
MAX_SAME_WORD_RUN = 3


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    problem: str | None = None  # plain words, set when the check failed


def words(text: str) -> list[str]:
    return WORD.findall(text)


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole words, any case, any whitespace inside a phrase, an optional plural "s"/"es" at the end."""
    body = r"\s+".join(re.escape(part) for part in phrase.split())
    return re.compile(rf"(?<!\w){body}(?:e?s)?(?!\w)", re.IGNORECASE)


def contains(text: str, phrase: str) -> bool:
    """The phrase as written, or its words in another inflection or spelling: an editor who asked for "reopens"
    and "flavour" takes "reopened" and "flavor" (the writer evaluation rejected both), and "clean-up" is
    "cleaned up"."""
    if not phrase.strip():
        return False
    if phrase_pattern(phrase).search(text):
        return True
    wanted = canonical_words(phrase)
    if not wanted:
        return False
    # Within one sentence or line: "free parking" is not in "Admission is free. Parking costs 5 pounds."
    for part in _SENTENCE_BREAK.split(text):
        found = canonical_words(part)
        if any(found[i:i + len(wanted)] == wanted for i in range(len(found) - len(wanted) + 1)):
            return True
    return False


def canonical_words(text: str) -> list[str]:
    """Each word lower-cased, in American spelling, reduced to its Snowball (Porter 2) stem."""
    return [_canonical(word) for word in _LETTERS.findall(text.lower())]


@lru_cache(maxsize=8192)
def _canonical(word: str) -> str:
    return _stemmer().stemWord(get_american_spelling(word))


@cache
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


def repetition_problem(tokens: Sequence[str]) -> str | None:
    """Why the word sequence looks like a generation loop, or None when it reads like prose."""
    lowered = [t.lower() for t in tokens]
    run, longest, longest_word = 1, 1, lowered[0] if lowered else ""
    for previous, current in zip(lowered, lowered[1:]):
        run = run + 1 if current == previous else 1
        if run > longest:
            longest, longest_word = run, current
    if longest > MAX_SAME_WORD_RUN:
        return f"the word {longest_word!r} repeats {longest} times in a row"
    grams = [tuple(lowered[i:i + 3]) for i in range(len(lowered) - 2)]
    if not grams:
        return None
    gram, count = Counter(grams).most_common(1)[0]
    if count >= TOP_NGRAM_MIN_COUNT and count / len(grams) >= TOP_NGRAM_MAX_SHARE:
        return f"the phrase {' '.join(gram)!r} appears {count} times ({count / len(grams):.0%} of all 3-word phrases)"
    distinct = len(set(grams)) / len(grams)
    if len(grams) >= DISTINCT_MIN_NGRAMS and distinct < DISTINCT_NGRAM_MIN_RATIO:
        return f"only {distinct:.0%} of its 3-word phrases are distinct (repetitive text)"
    return None


def format_checks(text: str | None, brief: BriefSpec) -> list[Check]:
    """Every check that applies to this brief, in a fixed order; an empty text fails only "not_empty"."""
    text = (text or "").strip()
    tokens = words(text)
    if not tokens:
        return [Check("not_empty", False, "the text is empty" if not text else "the text has no words")]
    checks = [Check("not_empty", True)]
    count = len(tokens)
    if brief.min_words or brief.max_words:
        problem = None
        if brief.min_words and count < brief.min_words:
            problem = f"{count} words, fewer than the minimum {brief.min_words}"
        elif brief.max_words and count > brief.max_words:
            problem = f"{count} words, more than the maximum {brief.max_words}"
        checks.append(Check("word_count", problem is None, problem))
    if brief.keywords:
        missing = [k for k in brief.keywords if not contains(text, k)]
        problem = f"{_plural('keyword', missing)} {_listed(missing)} missing" if missing else None
        checks.append(Check("keywords", not missing, problem))
    if brief.avoid:
        found = [a for a in brief.avoid if contains(text, a)]
        problem = f"uses {_listed(found)}, which the brief says to avoid" if found else None
        checks.append(Check("avoid", not found, problem))
    problem = repetition_problem(tokens)
    checks.append(Check("repetition", problem is None, problem and f"degenerate repetition: {problem}"))
    shape = shape_of(brief.format)
    if shape is not None:
        misfits = shape_problems(text, shape)
        checks.append(Check("shape", not misfits, "; ".join(misfits) or None))
    return checks


def _plural(noun: str, items: Sequence[str]) -> str:
    return noun if len(items) == 1 else noun + "s"


def _listed(items: Sequence[str]) -> str:
    return ", ".join(repr(item) for item in items)


class RuleScorer:
    """A scorer made of rule checks: value = share of checks passed in [0, 1]; 1.0 means all passed.

    A subclass names itself and says which checks apply to an item; the details list every check and the
    problems of those that failed, in plain words for the reviewer.
    """

    name = "rules"
    modality = "text"
    version = VERSION

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def load(self) -> None:
        """No model: the checks are rules."""

    def checks(self, item: ScoringItem) -> list[Check]:
        raise NotImplementedError

    def extra_details(self, item: ScoringItem) -> dict[str, object]:
        return {}

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        results = []
        for item in items:
            checks = self.checks(item)
            details = {
                **self.extra_details(item),
                "checks": {check.name: check.passed for check in checks},
                "problems": [check.problem for check in checks if not check.passed],
            }
            value = round(sum(check.passed for check in checks) / len(checks), 6)
            results.append(ScoreResult(self.name, value, "rules", self.version, details))
        return results


class FormatScorer(RuleScorer):
    """Length, keywords, words to avoid, repetition and the shape of the brief's format."""

    name = "format"

    def checks(self, item: ScoringItem) -> list[Check]:
        return format_checks(item.text, item.brief)

    def extra_details(self, item: ScoringItem) -> dict[str, object]:
        return {"words": len(words(item.text or ""))}
