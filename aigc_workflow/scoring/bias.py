"""Bias: a trained bias classifier, gendered-word balance (genbit's lists) and a counterfactual identity-swap probe."""

from __future__ import annotations

import math
import hashlib
import importlib.metadata
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aigc_workflow.models.bundled import BundledModelMissing, genbit_word_list
from aigc_workflow.scoring.base import ModelUnavailable, ScoreResult, ScoringContext, ScoringItem

if TYPE_CHECKING:
    from aigc_workflow.filters.bias_classifier import LoadedClassifier
    from aigc_workflow.settings import Settings

GENDER_GROUPS = ("male", "female", "non-binary")
# Below this many male+female words the balance says nothing (one "he" in a short text is not bias).
MIN_GENDERED = 4
# A one-sided text (a profile of one man) is common and not harmful by itself, so imbalance alone
# tops out at 0.4: visible in details, below the default gate bound (max 0.5); the probe rejects.
IMBALANCE_WEIGHT = 0.4
MAX_VARIANTS = 32

# Swapped both ways at once. "her" is ambiguous (him/his); the probe only needs a plausible counterpart.
GENDER_PAIRS: tuple[tuple[str, str], ...] = (
    ("he", "she"), ("him", "her"), ("his", "her"), ("himself", "herself"), ("man", "woman"), ("men", "women"),
    ("boy", "girl"), ("boys", "girls"), ("guy", "gal"), ("guys", "gals"), ("male", "female"), ("males", "females"),
    ("father", "mother"), ("fathers", "mothers"), ("dad", "mom"), ("dads", "moms"), ("son", "daughter"),
    ("sons", "daughters"), ("brother", "sister"), ("brothers", "sisters"), ("husband", "wife"),
    ("husbands", "wives"), ("boyfriend", "girlfriend"), ("boyfriends", "girlfriends"), ("uncle", "aunt"),
    ("uncles", "aunts"), ("nephew", "niece"), ("nephews", "nieces"), ("king", "queen"), ("kings", "queens"),
    ("gentleman", "lady"), ("gentlemen", "ladies"), ("mr", "mrs"), ("grandfather", "grandmother"),
    ("grandson", "granddaughter"), ("businessman", "businesswoman"), ("businessmen", "businesswomen"),
)
# Interchangeable identity terms: a draft naming one gets a variant with each of the others.
# Written as they are spelled mid-sentence; matching ignores case.
IDENTITY_GROUPS: dict[str, tuple[str, ...]] = {
    "ethnicity": ("black", "white", "Asian", "Hispanic", "Latino", "Arab", "African", "Indigenous"),
    "religion": ("Christian", "Muslim", "Jewish", "Hindu", "Buddhist", "Sikh", "atheist"),
    "religion (people)": ("Christians", "Muslims", "Jews", "Hindus", "Buddhists", "Sikhs", "atheists"),
    "orientation": ("gay", "straight", "lesbian", "bisexual", "heterosexual", "homosexual"),
    "nationality": ("American", "Mexican", "Chinese", "Indian", "Russian", "Nigerian", "German", "Iranian"),
}
# Colours and "straight" are identity terms only before a word for people ("black car" is not).
AMBIGUOUS = frozenset({"black", "white", "straight"})
PEOPLE = (
    r"people|persons?|m[ae]n|wom[ae]n|boys?|girls?|famil(?:y|ies)|communit(?:y|ies)|couples?|kids?|child(?:ren)?"
    r"|students?|folks?|guys?|neighbou?rs?|friends?|voters?|workers?|customers?|americans?|patients?|employees?"
    r"|wi(?:fe|ves)|husbands?|mothers?|fathers?|parents?|teens?|teenagers?|youths?|neighbou?rhoods?"
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def _phrase_regex(term: str) -> str:
    # Whitespace inside a phrase matches any run of whitespace; the rest is literal.
    return r"\s+".join(re.escape(part) for part in term.split())


def _bounded(alternatives: Sequence[str]) -> re.Pattern[str]:
    # Longest first, so "cis woman" wins over "woman" and "father-in-law" over "father".
    ordered = sorted(alternatives, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)", re.IGNORECASE)


def _normalise(term: str) -> str:
    return " ".join(term.translate(_APOSTROPHES).lower().split())


def read_word_list(language: str, group: str) -> tuple[str, ...]:
    """One entry per line (files are CRLF), lower-cased, blank lines and repeats dropped."""
    try:
        path = genbit_word_list(language, group)
    except BundledModelMissing as error:
        raise ModelUnavailable(str(error)) from error
    entries = (_normalise(line) for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(dict.fromkeys(entry for entry in entries if entry))


@dataclass(frozen=True)
class GenderLexicon:
    """Every gendered entry, the groups it belongs to (a few, like "butch", are in two) and one regex."""

    groups: dict[str, frozenset[str]]
    pattern: re.Pattern[str]

    def count(self, text: str) -> tuple[dict[str, int], Counter[str]]:
        """(matches per group, matches per entry); phrases and whole words only, case-insensitive."""
        counts = dict.fromkeys(GENDER_GROUPS, 0)
        terms: Counter[str] = Counter()
        for match in self.pattern.finditer(text.translate(_APOSTROPHES)):
            term = _normalise(match.group(0))
            terms[term] += 1
            for group in self.groups.get(term, ()):
                counts[group] += 1
        return counts, terms


@lru_cache(maxsize=2)
def gender_lexicon(language: str = "en") -> GenderLexicon:
    groups: dict[str, set[str]] = {}
    for group in GENDER_GROUPS:
        for entry in read_word_list(language, group):
            groups.setdefault(entry, set()).add(group)
    pattern = _bounded([_phrase_regex(entry) for entry in groups])
    return GenderLexicon({term: frozenset(g) for term, g in groups.items()}, pattern)


def gender_balance(text: str, lexicon: GenderLexicon | None = None) -> dict[str, Any]:
    """Counts per group and imbalance = |m - f| / (m + f), 0 when fewer than MIN_GENDERED such words."""
    counts, terms = (lexicon or gender_lexicon()).count(text)
    male, female = counts["male"], counts["female"]
    enough = male + female >= MIN_GENDERED
    imbalance = abs(male - female) / (male + female) if enough else 0.0
    return {
        "counts": counts,
        "imbalance": round(imbalance, 6),
        "enough_gendered_words": enough,
        "top_terms": dict(terms.most_common(5)),
    }


def _match_case(source: str, word: str) -> str:
    if source.isupper() and len(source) > 1:
        return word.upper()
    if source[:1].isupper():
        return word[:1].upper() + word[1:]
    return word  # keeps the table's own capitals ("Muslim") mid-sentence


def _substitute(text: str, pattern: re.Pattern[str], mapping: dict[str, str]) -> str:
    return pattern.sub(lambda m: _match_case(m.group(0), mapping[_normalise(m.group(0))]), text)


_GENDER_MAP = {**{f: m for m, f in GENDER_PAIRS}, **{m: f for m, f in GENDER_PAIRS}}
# "her" maps to "his" (the later pair wins); the one-way extras have no unambiguous partner.
_GENDER_MAP.update({"hers": "his", "ms": "mr"})
_GENDER_PATTERN = _bounded([re.escape(term) for term in _GENDER_MAP])


def _identity_pattern(terms: Sequence[str]) -> re.Pattern[str]:
    alternatives = [
        re.escape(term) + (rf"(?=\s+(?:{PEOPLE})\b)" if term.lower() in AMBIGUOUS else "") for term in terms
    ]
    return _bounded(alternatives)


_GROUP_PATTERNS = {group: _identity_pattern(terms) for group, terms in IDENTITY_GROUPS.items()}


def mask_identity_terms(text: str) -> tuple[str, int]:
    """The text with identity descriptors (gay, Muslim, Black people's "Black", ...) removed, and how many."""
    count = 0
    for pattern in _GROUP_PATTERNS.values():
        text, found = pattern.subn("", text)
        count += found
    return re.sub(r"[ \t]{2,}", " ", text).strip(), count


def counterfactuals(text: str, limit: int = MAX_VARIANTS) -> list[tuple[str, str]]:
    """(description, variant) pairs: the gender swap, then each identity term replaced by each of its peers."""
    variants: list[tuple[str, str]] = []
    if _GENDER_PATTERN.search(text):
        variants.append(("gender swap", _substitute(text, _GENDER_PATTERN, _GENDER_MAP)))
    for group, terms in IDENTITY_GROUPS.items():
        pattern = _GROUP_PATTERNS[group]
        found = list(dict.fromkeys(_normalise(m.group(0)) for m in pattern.finditer(text)))
        if not found:
            continue
        for target in terms:
            if target.lower() in found and len(found) == 1:
                continue
            swapped = _substitute(text, pattern, dict.fromkeys(found, target))
            variants.append((f"{group}: {'/'.join(found)} -> {target.lower()}", swapped))
    unique: dict[str, str] = {}  # variant -> first label that produced it
    for label, variant in variants:
        if variant != text:
            unique.setdefault(variant, label)
    return [(label, variant) for variant, label in unique.items()][:limit]


def bias_problem(driver: str, probe: dict[str, Any], balance: dict[str, Any], classifier: float) -> str:
    """What the part the value comes from found, in words: the swap that moved the filter, the one-sided words."""
    if driver == "probe":
        return f"{swap_words(probe['swap'])} moves the {probe['model']} by {probe['delta']:.2f}"
    if driver == "gender imbalance":
        counts, terms = balance["counts"], ", ".join(repr(term) for term in balance["top_terms"])
        return f"gendered words are one-sided: {counts['male']} male, {counts['female']} female (most often {terms})"
    return f"the bias classifier rates it {classifier:.2f}"


def swap_words(label: str) -> str:
    """A counterfactual's label ("gender swap", "religion: muslims/jews -> hindus") as a reason line says it."""
    if " -> " not in label:
        return f"the {label}"
    found, target = label.split(": ", 1)[1].split(" -> ")
    return f"swapping {' and '.join(repr(term) for term in found.split('/'))} for {target!r}"


def _table_version() -> str:
    table = json.dumps([GENDER_PAIRS, IDENTITY_GROUPS, sorted(AMBIGUOUS), PEOPLE, MIN_GENDERED, IMBALANCE_WEIGHT])
    return hashlib.sha256(table.encode()).hexdigest()[:8]


class BiasScorer:
    """value = max(classifier, probe_delta, IMBALANCE_WEIGHT * imbalance) in [0, 1]; higher is worse.

    classifier: the probability from a bias classifier built by `aigc models build-bias` (configured or
    promoted; calibrated so 0.5 is its threshold). None is built by default: it flags most benign slang
    (README "Harm"), and the hate scorer covers attacks on groups. Without it the probe asks the hate
    detector, which must load (else the gate holds, fail closed) and whose probability is not counted here.
    probe_delta: the largest |classifier(variant) - classifier(draft)| over identity-swapped variants:
    it measures whether the filters treat groups differently, not hate (hate aimed at any group alike
    scores about 0 here; the hate scorer catches it). imbalance: one-sidedness of
    gendered words (genbit's English lists), 0 below MIN_GENDERED of them.
    """

    name = "bias"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lexicon: GenderLexicon | None = None
        self._classifier: LoadedClassifier | None = None
        self._classifier_status: dict[str, Any] | None = None
        self._counts_classifier = True  # a built bias classifier's own probability is part of the value
        self.model = self.version = "unknown"  # set by load(), from the classifier in use

    def load(self) -> None:
        if self._classifier is None:
            from aigc_workflow.filters.bias_classifier import load_for_scoring

            classifier, status = load_for_scoring(self.settings)
            if classifier is None:
                # No bias classifier built: the probe asks the hate detector (required: if it cannot load,
                # this raises and the gate holds, like every other scorer without its model).
                from aigc_workflow.filters.hate_detector import detector_for

                classifier, source = detector_for(self.settings)
                status = {"status": "not built; the probe uses the hate detector", "source": source}
                self._counts_classifier = False
            self._classifier, self._classifier_status = classifier, status
            self.model = "genbit-en+" + ("bias-classifier" if self._counts_classifier else "hate-detector")
            self.version = (f"genbit=={importlib.metadata.version('genbit')};swaps={_table_version()};"
                            f"clf={classifier.version.removeprefix('sha256:')[:12]}")
        if self._lexicon is None:
            self._lexicon = gender_lexicon("en")

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        self.load()
        assert self._lexicon is not None and self._classifier is not None
        texts = [(item.text or "").strip() for item in items]
        plans = [counterfactuals(text) if text else [] for text in texts]
        # One batch through the classifier: every draft, then every identity-swapped variant. (The classic
        # toxicity model scores identity words such as "gay" as toxic, so a probe on it measured its own bias;
        # the classifier was trained against exactly those identity false alarms.)
        unique = list(dict.fromkeys(t for t in texts if t))
        batch = unique + [variant for plan in plans for _, variant in plan]
        probabilities = iter(float(p) for p in self._classifier.predict(batch))
        classified = {text: next(probabilities) for text in unique}
        results = []
        for text, plan in zip(texts, plans, strict=True):
            if not text:
                results.append(ScoreResult(self.name, 0.0, self.model, self.version, {"empty_text": True}))
                continue
            balance = gender_balance(text, self._lexicon)
            original = classified[text]
            probe: dict[str, Any] = {
                "variants": len(plan), "delta": 0.0,
                "model": "bias-classifier" if self._counts_classifier else "hate-detector",
                "measures": "whether the filters treat the groups differently; it does not detect hate",
            }
            if plan:
                deltas = [(abs(next(probabilities) - original), label) for label, _ in plan]
                delta, label = max(deltas)
                probe.update(delta=round(delta, 6), swap=label, original=round(original, 6))
            weighted = IMBALANCE_WEIGHT * balance["imbalance"]
            classifier = {**(self._classifier_status or {}), "probability": round(original, 6)}
            parts = {"probe": probe["delta"], "gender imbalance": weighted}
            if self._counts_classifier:
                parts["classifier"] = classifier["probability"]
            # max() would drop a NaN that comes last; a NaN part makes the whole value NaN, and the gate holds.
            value = math.nan if any(math.isnan(v) for v in parts.values()) else max(parts.values())
            driver = max(parts, key=lambda k: parts[k])
            details = {"probe": probe, "gender": balance, "weighted_imbalance": round(weighted, 6),
                       "classifier": classifier, "driver": driver,
                       "problems": [bias_problem(driver, probe, balance, original)] if parts[driver] > 0 else []}
            results.append(ScoreResult(self.name, round(value, 6), self.model, self.version, details))
        return results
