"""Degeneration: loops and junk, by the Gopher rules (Rae et al. 2021) as datatrove implements them for FineWeb."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from aigc_workflow.briefs import BriefSpec

from aigc_workflow.scoring.base import ModelUnavailable, ScoreResult, ScoringContext, ScoringItem

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

VERSION = "gopher-3"  # 2: texts under 50 words skip the rules that need a document's length; 3: foreign script
# The Gopher rules were set for documents of at least 50 words (the paper's own minimum). Below that, the most
# frequent 4-word phrase of a text with no repeat at all is over 16% of its characters, and a 38-word social
# post may hold only one of the eight stop words: in the writer evaluation (bench/writer/EVAL.md) all 7
# degeneration rejections were of short drafts that repeated nothing. Short texts keep every rule that
# needs a repeat: duplicated lines, paragraphs and n-grams.
SHORT_TEXT_WORDS = 50
# The rule each of datatrove's reasons names, in words a reviewer reads.
REASONS = {
    "empty": "the text is empty",
    "dup_para_frac": "more than 30% of its paragraphs are repeated",
    "dup_para_char_frac": "repeated paragraphs make up more than 20% of its characters",
    "dup_line_frac": "more than 30% of its lines are repeated",
    "dup_line_char_frac": "repeated lines make up more than 20% of its characters",
    "top_2_gram": "its most frequent 2-word phrase makes up more than 20% of its characters",
    "top_3_gram": "its most frequent 3-word phrase makes up more than 18% of its characters",
    "top_4_gram": "its most frequent 4-word phrase makes up more than 16% of its characters",
    "gopher_below_avg_threshold": "its words average under 3 letters",
    "gopher_above_avg_threshold": "its words average over 10 letters",
    "gopher_too_many_hashes": "more than one '#' per 10 words",
    "gopher_too_many_ellipsis": "more than one ellipsis per 10 words",
    "gopher_too_many_bullets": "more than 90% of its lines are bullets",
    "gopher_too_many_end_ellipsis": "more than 30% of its lines end with an ellipsis",
    "gopher_below_alpha_threshold": "fewer than 80% of its words contain a letter",
    "gopher_enough_stop_words": "fewer than 2 of the words 'the, be, to, of, and, that, have, with' (not prose)",
}


# Scripts a text can drift into, by the first word of their letters' Unicode names. Latin is never foreign to
# an English brief; letter-like symbols ("º", "ℹ", modifier letters, mathematical bold) are no script.
WRITING_SYSTEMS = frozenset(
    "CJK HIRAGANA KATAKANA HANGUL CYRILLIC GREEK ARABIC HEBREW THAI DEVANAGARI BENGALI TAMIL TELUGU GUJARATI "
    "GURMUKHI KANNADA MALAYALAM SINHALA ARMENIAN GEORGIAN ETHIOPIC KHMER LAO MYANMAR TIBETAN MONGOLIAN".split()
)


def script(character: str) -> str:
    """The Unicode script of a letter, as the first word of its name says it: LATIN, CJK, CYRILLIC, ..."""
    return unicodedata.name(character, "UNKNOWN").split(" ")[0]


def scripts(texts: Iterable[str]) -> set[str]:
    return {script(ch) for text in texts for ch in text if ch.isalpha()}


def foreign_letters(text: str, brief: BriefSpec) -> str:
    """Letters of a script the brief never uses: a writer drifting into another language mid-sentence (the
    bundled Qwen writer wrote "to prevent water from积聚" in an English blog post)."""
    allowed = scripts([brief.topic, brief.audience or "", *brief.keywords, *brief.facts])
    return "".join(dict.fromkeys(ch for ch in text
                                 if ch.isalpha() and script(ch) in WRITING_SYSTEMS and script(ch) not in allowed))


def reason_text(reason: str) -> str:
    if reason.startswith("duplicated_") and reason.endswith("_n_grams"):
        n = int(reason.split("_")[1])
        return f"repeated {n}-word phrases make up more than {(20 - n) / 100:.0%} of its characters"
    return REASONS.get(reason, reason)


class DegenerationScorer:
    """value 1.0 when a draft passes every Gopher repetition and quality rule, else 0.0 with the rule it broke.

    The thresholds are the paper's (Rae et al. 2021, appendix A, as datatrove's defaults), with the top n-gram
    and stop-word rules only from SHORT_TEXT_WORDS words on, and two left out:
    the 50-word minimum (a brief sets its own length, and the format scorer checks it), and the 80% share of
    words with a letter, because datatrove's spaCy tokeniser counts every punctuation mark as a word: on the
    writer evaluation's drafts it failed 11 of 48 short, well-punctuated texts, one an editor passed as is.
    """

    name = "degeneration"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._filters: list[Any] = []
        self._short_filters: list[Any] = []
        self._version = VERSION

    def load(self) -> None:
        if self._filters:
            return
        try:
            from importlib.metadata import version

            from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
        except ImportError as error:
            raise ModelUnavailable("datatrove is not installed: run the README set-up") from error
        self._filters = [GopherRepetitionFilter(), GopherQualityFilter(min_doc_words=None, max_non_alpha_words_ratio=None)]
        self._short_filters = [GopherRepetitionFilter(top_n_grams=()), GopherQualityFilter(
            min_doc_words=None, max_non_alpha_words_ratio=None, min_stop_words=None)]
        self._version = f"{VERSION}+datatrove-{version('datatrove')}"

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        from datatrove.data import Document

        results = []
        for item in items:
            document = Document(text=item.text or "", id=str(item.draft_id))
            broken = None
            short = len((item.text or "").split()) < SHORT_TEXT_WORDS
            for rule in self._short_filters if short else self._filters:
                verdict = rule.filter(document)
                if verdict is not True:
                    broken = verdict[1] if isinstance(verdict, tuple) else "failed"
                    break
            foreign = foreign_letters(item.text or "", item.brief)
            if broken is None and foreign:
                broken = "foreign_script"
            details: dict[str, Any] = {"rule": broken}
            if broken:
                details["problems"] = [f"it switches to another script: {foreign[:20]!r}" if broken == "foreign_script"
                                       else reason_text(broken)]
            results.append(ScoreResult(self.name, 0.0 if broken else 1.0, "gopher-rules", self._version, details))
        return results
