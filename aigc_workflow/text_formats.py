"""What each kind of text format looks like: the shape the writer is asked for and the format scorer checks."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """The layout of one family of formats. `advice` is one plain prompt line; the flags are what is checked."""

    family: str
    advice: str
    called: str  # what the reason lines call it: "a social post"
    greeting: bool  # may open with "Dear ...," / "Hi ...," and close with a sign-off
    lists: bool  # may contain list lines ("1. ...", "- ...")


# Matched in order against the brief's format, lower-cased: the first family whose word occurs wins, so
# "newsletter paragraph" is a paragraph, not a newsletter email.
SHAPES: tuple[tuple[tuple[str, ...], Shape], ...] = (
    (("paragraph",), Shape("paragraph", "one paragraph of plain prose; no greeting, sign-off, title or list",
                           "a paragraph", greeting=False, lists=False)),
    (("email", "letter"), Shape("letter", "a greeting line, two or three short paragraphs, then a sign-off from the "
                                          "organisation", "a letter", greeting=True, lists=True)),
    (("social", "post for", "tweet", "instagram", "facebook", "linkedin"),
     Shape("social", "one or two short paragraphs; no greeting, no sign-off, at most two hashtags",
           "a social post", greeting=False, lists=False)),
    (("product", "description"), Shape("product", "one or two paragraphs about it; no greeting, sign-off or title",
                                       "a product description", greeting=False, lists=True)),
    (("announcement", "notice", "web", "page"),
     Shape("notice", "plain paragraphs for a web page; no greeting, sign-off or subject line",
           "a notice", greeting=False, lists=True)),
    (("blog", "article"), Shape("article", "paragraphs, with short headings if it helps; no greeting, no sign-off",
                                "an article", greeting=False, lists=True)),
)

# A greeting line on its own ("Dear parents," / "Hi everyone!"), and a subject line ("Subject: ...").
GREETING = re.compile(r"^[ \t]*(?:dear|hello|hi|hey|greetings)(?=[\s,!:])(?:[^\S\n]*[^\s]+){0,6}[^\S\n]*$",
                      re.IGNORECASE | re.MULTILINE)  # at most six words more: a longer line is content
# A greeting sentence that opens a line and the text runs on after it: "Hey there, cyclists! Before you ride..."
# (the writer's habit in blog and social posts; editors read it as the brief's audience field echoed back).
# Only the vocative shapes ("Hey there, cyclists!", "Hi everyone!"): "Hello Kitty fans will love..." is content.
GREETING_SENTENCE = re.compile(
    r"^\s*(?:hello|hi|hey|greetings)(?: there| all| everyone| everybody| folks| friends)?(?:,[^\n.?!,]{1,40})?!\s+(?=\S)",
    re.IGNORECASE,
)
SUBJECT_LINE = re.compile(r"^\s*(?:\*\*)?subject(?:\*\*)?\s*:[^\n]*$", re.IGNORECASE | re.MULTILINE)
_LIST_LINE = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+\S", re.MULTILINE)


WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")
# A salutation that copies this many words in a row of the brief's audience (a description, not a name)
# or of its topic addresses the readers by the brief's wording: "Dear existing dental patients,".
AUDIENCE_ECHO_WORDS = 3
TOPIC_ECHO_WORDS = 5
_TITLE = re.compile(r"^(?:mr|mrs|ms|miss|mx|dr|prof)\b\.?", re.IGNORECASE)


def salutation_echo(who: str, audience: str | None, topic: str) -> str | None:
    """The words a salutation's addressee copies from the brief (its audience or topic), or None; a person
    addressed by title ("Mrs Jones") is a name, never an echo."""
    if _TITLE.match(who.strip()):
        return None
    return copies_words(who, audience or "", AUDIENCE_ECHO_WORDS) or copies_words(who, topic, TOPIC_ECHO_WORDS)


def copies_words(text: str, source: str, run: int) -> str | None:
    """The first run of `run` words (case-insensitive) that `text` copies from `source`, or None."""
    said = [w.lower() for w in WORD.findall(text)]
    asked = [w.lower() for w in WORD.findall(source)]
    grams = {tuple(asked[i:i + run]) for i in range(len(asked) - run + 1)}
    for i in range(len(said) - run + 1):
        if tuple(said[i:i + run]) in grams:
            return " ".join(WORD.findall(text)[i:i + run])
    return None


def shape_of(text_format: str | None) -> Shape | None:
    """The shape of a brief's format, or None for a format this table does not know (nothing is checked)."""
    lowered = (text_format or "").lower()
    for words, shape in SHAPES:
        if any(word in lowered for word in words):
            return shape
    return None


def shape_problems(text: str, shape: Shape) -> list[str]:
    """What in the text does not fit its format's shape, in plain words."""
    problems = []
    if not shape.greeting:
        first = text.strip().splitlines()[0] if text.strip() else ""
        greeting = GREETING_SENTENCE.match(first) or GREETING.match(first)
        if greeting:
            problems.append(f"opens with a greeting, {greeting.group(0).strip()!r}, which {shape.called} does not have")
        if SUBJECT_LINE.search(text):
            problems.append(f"has a subject line, which {shape.called} does not have")
    if not shape.lists and len(_LIST_LINE.findall(text)) >= 2:
        problems.append(f"is written as a list; {shape.called} is prose")
    return problems
