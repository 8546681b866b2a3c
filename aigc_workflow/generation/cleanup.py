"""Tidy a model's answer into the content alone: no assistant talk around it, no half sentence at the end."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aigc_workflow.text_formats import GREETING_SENTENCE, SUBJECT_LINE, Shape, salutation_echo

# An opening line that talks about the answer instead of being it: "Sure! Here is a short blog post:".
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|absolutely|okay|ok|great|happy to help)\b[^\n]*"
    r"|here(?:'s| is| are)\b[^\n]*(?::|\.|!)"
    r"|(?:below is|the following is)\b[^\n]*)\s*(?:\n+|$)",
    re.IGNORECASE,
)
# A closing line addressed to the person who asked, not to the readers of the content.
_SIGN_OFF = re.compile(
    r"(?:\n|^)\s*(?:let me know\b|feel free to (?:adjust|modify|change|edit|ask)|i hope (?:this|that) (?:helps|works)"
    r"|hope this helps|if you(?:'d| would)? (?:like|need|want) (?:any|me|more|further|changes)"
    r"|this (?:post|email|text|paragraph|description|announcement) (?:is|keeps|uses|highlights|stays)\b"
    r"|note:|\*\*note:?\*\*:?\s*(?:this|the) (?:text|post|email|draft|description|announcement|paragraph|copy)\b"
    r"|\(word count|word count:|\**end of (?:the |this )?(?:public |service )?(?:notice|announcement|message"
    r"|email|post)\b)[^\n]*\s*$",
    re.IGNORECASE,
)
# A last line that is only a placeholder for the sender ("[Your Name]", "[Company]"): nothing to publish.
_PLACEHOLDER_LINE = re.compile(
    r"\n\s*(?:\[[^\]\n]{1,40}\]|your (?:full )?name(?: here)?|your (?:title|position|role|company(?: name)?))\s*$",
    re.IGNORECASE,
)
# A stock sentence that says nothing to the reader; an editor strikes it whole ("I hope this email finds you
# well." was the commonest reason the writer evaluation's letters were rejected).
_STOCK_SENTENCE = re.compile(
    r"(?:(?<=\n)|(?<=[.!?]\s)|^)[ \t]*(?:i|we) hope (?:this|the|my|our) (?:email|message|letter|note) finds you"
    # only the stock sentence itself: "... finds you well and are pleased to say the pool reopens" is kept
    r" (?:well|in good health|in good spirits)(?: and (?:happy|healthy|in good spirits))?[.!][ \t]*"
    r"(?:\n(?=\n))?",
    re.IGNORECASE,
)
# A label the writer copied from the way requests are laid out: "Title: Easy Herbs" is the heading "Easy Herbs".
_LABEL = re.compile(r"^[ \t]*(?P<bold>\*\*)?(?:title|headline)(?:\*\*)?\s*:\s*(?:\*\*)?\s*", re.IGNORECASE)
# A greeting line to strike: short, on its own, ending like a salutation ("Dear parents," / "Hi everyone!").
_GREETING_LINE = re.compile(r"^\s*(?:dear|hello|hi|hey|greetings)(?=[\s,!:])[^\n.?]{0,50}[,!:]\s*$", re.IGNORECASE)
# A salutation line, and what narrows its readers down ("customers of Greenleaf", "patients who ..."): an editor
# who strikes a salutation copied from the brief keeps the readers' noun, "Dear patients,".
_SALUTATION_LINE = re.compile(
    r"^[ \t]*(?P<greet>dear|hello|hi|hey)[ \t]+(?P<who>[^\n,!:]{3,120})[^\n]*(?=\n|$)",
    re.IGNORECASE,
)
_QUALIFIER = re.compile(r"\s(?:to|of|who|at|in|with|on|for|from|that|and)\s.*$", re.IGNORECASE)
# Hashtags closing a text, on a line of their own or after its last sentence: at home in a social post (which may
# carry two), stray anywhere else (the writer's commonest format slip once it saw a social post among its
# worked examples: a blog post ending "#Herbs #Growing #Balcony"). A tag starts with a letter ("Room #12" is
# a number), and a tag used as a word inside a sentence ("share it with #CityTrees") is not closing.
_TAG_WORD = r"#[^\W\d_][\w'\u2019-]*"
_TRAILING_TAGS = re.compile(
    rf"(?:(?<=[.!?\u2026\"'\u201d\u2019)])|(?<=\n)|^)\s*{_TAG_WORD}(?:\s+{_TAG_WORD})*(?:\s+[^\w\s#]+)*\s*$"
)
_TAG = re.compile(_TAG_WORD)
_APOSTROPHE = re.compile("['\u2019]")
SOCIAL_TAGS = 2
# A horizontal rule left at the very end ("---"), where nothing follows it.
_TRAILING_RULE = re.compile(r"\n\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)
_QUOTES = {'"': '"', "\u201c": "\u201d", "'": "'"}
_LIST_NUMBER = re.compile(r"[ \t]*\d{1,2}[.)]")  # "4." opening a list item ends no sentence
# A sentence ends at . ! ? or an ellipsis, optionally followed by closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s|$)")


@dataclass(frozen=True)
class Cleaned:
    """The tidied text and what was done to it (recorded in the draft's params)."""

    text: str
    removed: tuple[str, ...] = field(default_factory=tuple)
    trimmed_to_sentence: bool = False


def clean_answer(
    text: str, *, hit_token_limit: bool, max_words: int | None = None, shape: Shape | None = None,
    audience: str | None = None, topic: str | None = None,
) -> Cleaned:
    """Strip code fences, wrapping quotes, a preamble and a sign-off to the requester; trim a cut-off end.

    Also what an editor strikes on sight: a stock "I hope this email finds you well." sentence, a "Title:"
    label, and (for a format whose `shape` has none) a greeting line or subject line; a salutation that names
    the readers in the words of the brief's `audience` or `topic` (as meta_talk reads it) keeps only their noun.

    When the model ran out of tokens the text stops wherever the budget ended, often mid-word: it is cut
    back to its last complete sentence (or left as it is if it has none, for the scorers to judge).
    """
    removed: list[str] = []
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group("body").strip()
        removed.append("code fence")
    while (match := _PREAMBLE.match(body)) and match.end() < len(body):
        removed.append(f"preamble: {match.group(0).strip()!r}")
        body = body[match.end():].lstrip()
    body, kept_tags = _strike_trailing_tags(body, removed, shape)
    while (match := _SIGN_OFF.search(body)) and match.start() > 0:
        removed.append(f"sign-off: {match.group(0).strip()!r}")
        body = body[: match.start()].rstrip()
    while match := _PLACEHOLDER_LINE.search(body):
        removed.append(f"placeholder line: {match.group(0).strip()!r}")
        body = body[: match.start()].rstrip()
    body = _unquote(body, removed)
    body = _strike_stock(body, removed, shape)
    if topic is not None and (shape is None or shape.greeting):
        body = _plain_salutation(body, removed, audience, topic)
    trimmed = False
    if hit_token_limit:
        cut = _last_sentence_end(body)
        if cut is not None and cut < len(body):
            removed.append(f"cut-off end: {body[cut:].strip()!r}")
            body, trimmed = body[:cut].rstrip(), True
    if max_words and len(body.split()) > max_words:
        # Small writers overshoot a length they were asked for; an editor cuts at a sentence, and so does this.
        cut = _last_sentence_end(body, within_words=max_words)
        if cut is not None:
            removed.append(f"over {max_words} words: {len(body[cut:].split())} words after the last sentence that fits")
            body, trimmed = body[:cut].rstrip(), True
    if kept_tags:
        body += kept_tags
    return Cleaned(body, tuple(removed), trimmed)


def _strike_stock(body: str, removed: list[str], shape: Shape | None) -> str:
    while (match := _STOCK_SENTENCE.search(body)) and body[match.end():].strip():
        removed.append(f"stock sentence: {match.group(0).strip()!r}")
        body = _BLANK_LINES.sub("\n\n", body[: match.start()] + body[match.end():]).strip()
    if match := _LABEL.match(body):
        removed.append(f"label: {match.group(0).strip()!r}")
        heading, newline, rest = body[match.end():].partition("\n")
        if match.group("bold") and heading.rstrip().endswith("**"):
            heading = heading.rstrip()[:-2]  # "**Title: Easy Herbs**" is the heading "Easy Herbs"
        body = heading + newline + rest
    if shape is not None and not shape.greeting:
        for pattern, what in ((SUBJECT_LINE, "subject line"), (_GREETING_LINE, "greeting")):
            first, _, rest = body.partition("\n")
            if pattern.match(first) and len(first.split()) <= 6 and rest.strip():
                removed.append(f"{what} ({shape.family} has none): {first.strip()!r}")
                body = rest.strip()
        if match := GREETING_SENTENCE.match(body):
            removed.append(f"greeting ({shape.family} has none): {match.group(0).strip()!r}")
            body = body[match.end():]
    return body


def _plain_salutation(body: str, removed: list[str], audience: str | None, topic: str) -> str:
    """ "Dear existing dental patients," for the audience "existing dental patients" reads as the brief's field
    echoed (editors marked every such letter); it becomes "Dear patients,", or "Hello," without a plural noun."""
    match = _SALUTATION_LINE.match(body)
    if match is None or not match.group(0).rstrip().endswith((",", ":")):  # a salutation line, not a sentence
        return body
    who = match.group("who").strip()
    if salutation_echo(who, audience, topic) is None:
        return body
    head = _QUALIFIER.sub("", who).split()[-1]
    greeting = f"{match.group('greet')} {head}," if head.isalpha() and head.lower().endswith("s") else "Hello,"
    removed.append(f"salutation in the brief's words: {match.group(0).strip()!r} became {greeting!r}")
    return greeting + body[match.end():]


def _strike_trailing_tags(body: str, removed: list[str], shape: Shape | None) -> tuple[str, str]:
    """The text without a closing rule and closing hashtags, and the hashtags to put back after the other
    clean-up (at most SOCIAL_TAGS on a social post, none elsewhere): a sign-off to the requester or a
    placeholder line hiding behind them is then at the end, where it is found."""
    while match := _TRAILING_RULE.search(body):
        removed.append("closing rule")
        body = body[: match.start()].rstrip()
    match = _TRAILING_TAGS.search(body)
    if shape is None or match is None or not body[: match.start()].strip():
        return body, ""
    tail, text = match.group(0), body[: match.start()].rstrip()
    tags = _TAG.findall(tail)
    # A feed ends a tag at an apostrophe ("#StAnne'sPrimary" links "#StAnne"): a kept tag is written without one.
    keep = [_APOSTROPHE.sub("", tag) for tag in tags[:SOCIAL_TAGS]] if shape.family == "social" else []
    if keep == tags and tail.strip() == " ".join(tags):
        return text, tail.rstrip()  # a social post's own tags, no more than it may have: back as written
    removed.append(f"closing hashtags ({shape.family}): {tail.strip()!r}" + (f", kept {' '.join(keep)!r}" if keep else ""))
    return text, (("\n\n" if "\n" in tail else " ") + " ".join(keep)) if keep else ""


def _unquote(body: str, removed: list[str]) -> str:
    if len(body) > 2 and body[0] in _QUOTES and body.endswith(_QUOTES[body[0]]) and body.count(body[0]) == 2:
        removed.append("wrapping quotes")
        return body[1:-1].strip()
    return body


def _last_sentence_end(body: str, within_words: int | None = None) -> int | None:
    """Where the last complete sentence ends (within the first `within_words` words), or None when none does."""
    ends = [match.end() for match in _SENTENCE_END.finditer(body) if not _numbers_a_list_item(body, match.end())]
    if within_words is not None:
        ends = [end for end in ends if len(body[:end].split()) <= within_words]
    return ends[-1] if ends else None


def _numbers_a_list_item(body: str, end: int) -> bool:
    return _LIST_NUMBER.fullmatch(body[body.rfind("\n", 0, end) + 1:end]) is not None
