"""Completeness: a draft that ends mid-sentence, on a dangling list item, or with placeholders or empty sections."""

from __future__ import annotations

import re

from aigc_workflow.scoring.base import ScoringItem
from aigc_workflow.scoring.format import Check, RuleScorer

VERSION = "rules-3"  # 2: a bold full sentence is emphasis, not a heading; a title block may stack headings;
# any short line ending on a comma closes a letter
# A complete text ends on . ! ? or an ellipsis (closing quotes or brackets may follow), or on a line of
# hashtags or emoji after such an end, as social posts do.
_ENDS_SENTENCE = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*\s*$")
_TAIL_LINE = re.compile(r"^(?:\s*(?:#\w[\w'\u2019-]*|[^\w\s]))+\s*$")  # hashtags, emoji, symbols only
# A letter's closing ("Best wishes," then the sender's name) ends it as cleanly as a full stop does.
_CLOSING = re.compile(
    r"^\s*(?:(?:(?:best|kind|warm|warmest|many|with)\b.{0,20}|thanks|thank you|sincerely|yours\b.{0,15}|regards"
    r"|cheers|see you\b.{0,20}|all the best)[,!.]?"
    # a short capitalised line ending on a comma ("Happy sewing,", "Thank you for your time,") before the sender
    r"|[A-Z][^\W\d_]*(?:\s+[^\W\d_]+){0,5},)\s*$",
    re.IGNORECASE,
)
_SENDER = re.compile(r"^\s*[A-Z0-9&]")  # a name or organisation signing, not a sentence running on
_TRAILING_TAGS = re.compile(r"(?:\s*(?:#\w[\w'\u2019-]*|[^\w\s.!?\"')\]\u2019\u201d]))+\s*$")  # hashtags, emoji
_LIST_MARKER_ONLY = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s*$")
# A heading line; a bold line ending on . ! or ? is an emphasised sentence, not a heading.
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+\S.*|\*\*[^*\n]*[^*\n.!?]\*\*:?|[A-Z][^.!?\n]{0,60}:)\s*$")
# Text a person was meant to fill in. Square or curly brackets around a few words are never content here;
# angle brackets only when they hold words (so "<3" survives).
_PLACEHOLDERS = re.compile(
    r"\[[^\]\n]{1,60}\]|\{\{?[^}\n]{1,60}\}?\}|<[a-z][a-z _-]{1,40}>|\blorem ipsum\b|\bTBD\b|\bTODO\b|\bX{3,}\b"
    r"|\binsert (?:here|name|date|link)\b|\byour (?:name|company|business|website|email address|phone number)"
    r" here\b",
    re.IGNORECASE,
)


def completeness_checks(text: str | None) -> list[Check]:
    """The checks in a fixed order; their problems say, in plain words, what an editor would have to fix."""
    body = (text or "").strip()
    if not body:
        return [Check("not_empty", False, "the text is empty")]
    lines = [line for line in body.splitlines() if line.strip()]
    content = lines[:]
    while content and _TAIL_LINE.match(content[-1]) and len(content) > 1:
        content.pop()  # a closing line of hashtags or emoji
    # The closing sits after a finished sentence, with at most the sender's name (two lines) below it.
    closing = next((i for i in range(len(content) - 1, max(len(content) - 4, 0), -1)
                    if _CLOSING.match(content[i]) and _ENDS_SENTENCE.search(content[i - 1])
                    and all(_SENDER.match(line) for line in content[i + 1:])), None)
    if closing is not None:
        content = content[: closing + 1]
        content[-1] = content[-1].rstrip().rstrip(",") + "."  # "Best wishes," closes like a sentence
    last = _TRAILING_TAGS.sub("", content[-1]).strip() or content[-1].strip()
    checks = [Check("not_empty", True)]
    if _LIST_MARKER_ONLY.match(last):
        checks.append(Check("ends_cleanly", False, f"it ends on an empty list item {last!r}"))
    elif not _ENDS_SENTENCE.search(last):
        tail = " ".join(last.split()[-6:])
        checks.append(Check("ends_cleanly", False, f"it stops mid-sentence: '...{tail}'"))
    else:
        checks.append(Check("ends_cleanly", True))
    found = sorted({match.group(0) for match in _PLACEHOLDERS.finditer(body)})
    checks.append(Check("no_placeholders", not found,
                        "placeholders left in: " + ", ".join(repr(p) for p in found) if found else None))
    empty = [lines[i].strip() for i in range(len(lines)) if _HEADING.match(lines[i]) and _is_empty_section(lines, i)]
    checks.append(Check("no_empty_sections", not empty,
                        "empty sections: " + ", ".join(repr(h) for h in empty) if empty else None))
    return checks


def _level(heading: str) -> int:
    """A markdown heading's level; a bold or "Label:" heading has none, and ranks below every "#" heading."""
    stripped = heading.lstrip()
    return len(stripped) - len(stripped.lstrip("#")) or 7


def _is_empty_section(lines: list[str], i: int) -> bool:
    """A heading with nothing under it: the last line, or followed by a heading of its own level or above. A
    deeper heading opens a subsection, and two bold lines opening the text are a title and its tagline."""
    if i + 1 == len(lines):
        return True
    following = lines[i + 1]
    if not _HEADING.match(following) or _level(following) > _level(lines[i]):
        return False
    return not (i == 0 and all(line.lstrip().startswith("**") for line in (lines[0], following)))


class CompletenessScorer(RuleScorer):
    """Nothing left unfinished: a clean end, no placeholders, no empty sections."""

    name = "completeness"
    version = VERSION

    def checks(self, item: ScoringItem) -> list[Check]:
        return completeness_checks(item.text)
