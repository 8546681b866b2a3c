"""The parts of a draft a scorer quotes in its problems: its sentences, and excerpts short enough for a reason line."""

from __future__ import annotations

import re

# A sentence ends on . ! or ? before a space, or at a line break (headings and list items have no full stop).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A reason line holds several problems; a quote longer than this many words would bury the others.
QUOTE_WORDS = 12


def sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCE_END.split(text) if sentence.strip()]


def quote(text: str, limit: int = QUOTE_WORDS) -> str:
    """The text quoted as Python writes a string (so a quote inside stays readable), its first `limit` words."""
    words = text.split()
    return repr(" ".join(words[:limit]) + ("..." if len(words) > limit else ""))
