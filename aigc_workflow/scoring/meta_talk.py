"""Meta talk: a draft that talks about its brief or its writing, or talks like an assistant, instead of being content."""

from __future__ import annotations

import re

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ScoringItem
from aigc_workflow.scoring.format import Check, RuleScorer
from aigc_workflow.text_formats import salutation_echo

VERSION = "rules-3"  # 2: "we hope ... finds you well"; 3: a titled name ("Dear Mrs Jones,") copies no field
# Markup and wording of the prompt itself, which only a writer that echoes its instructions would print.
_PROMPT_ECHO = re.compile(
    r"</?(?:brief|topic|audience|tone|format|system|user|assistant|im_start|im_end)\b[^>]*>|<\|[a-z_]+\|>"
    r"|\bthe (?:brief|prompt)\b|\bword count\b"
    r"|^\s*(?:topic|audience|tone|format|length|keywords|title|subject line)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
# The writer speaking as an assistant to whoever asked, not as the team to its readers.
_ASSISTANT_TALK = re.compile(
    r"\bas an ai\b|\b(?:i am|i'm) (?:an ai|a language model|here to help|happy to help|glad to help)\b"
    r"|\bhere(?:'s| is| are) (?:a|an|the|your|some)\b[^.\n]{0,60}\b(?:post|email|draft|text|version|content"
    r"|description|announcement|paragraph|message)\b"
    r"|\b(?:i hope (?:this|that) helps|let me know if|feel free to (?:adjust|modify|edit))\b",
    re.IGNORECASE,
)
# Stock phrases an editor strikes on sight: they say nothing to the reader.
_BOILERPLATE = re.compile(
    r"\b(?:i|we) hope (?:this|the|my|our) (?:email|message|letter|note) finds you well\b|\bwelcome to (?:our|my|this) blog post\b"
    r"|\bin this (?:blog )?post,? (?:we|i)(?:'ll| will)\b",
    re.IGNORECASE,
)
_SALUTATION = re.compile(r"^\s*(?:dear|hello|hi|hey|greetings|to)\b\s+(?P<who>[^\n,:!]{3,120})", re.IGNORECASE)


def meta_checks(text: str | None, brief: BriefSpec) -> list[Check]:
    body = (text or "").strip()
    checks = []
    echo = sorted({m.group(0).strip() for m in _PROMPT_ECHO.finditer(body)})
    checks.append(Check("no_prompt_echo", not echo,
                        "echoes the prompt: " + ", ".join(repr(e) for e in echo) if echo else None))
    talk = sorted({m.group(0).strip() for m in _ASSISTANT_TALK.finditer(body)})
    checks.append(Check("no_assistant_talk", not talk,
                        "talks like an assistant: " + ", ".join(repr(t) for t in talk) if talk else None))
    stock = sorted({m.group(0).strip() for m in _BOILERPLATE.finditer(body)})
    checks.append(Check("no_boilerplate", not stock,
                        "stock phrases: " + ", ".join(repr(s) for s in stock) if stock else None))
    first = _SALUTATION.match(body)
    copied = None
    if first:
        who = first.group("who")
        copied = salutation_echo(who, brief.audience, brief.topic)
    checks.append(Check("salutation_not_copied", copied is None,
                        f"the salutation copies the brief: {first.group(0).strip()!r}" if first and copied else None))
    return checks


class MetaTalkScorer(RuleScorer):
    """All content: no prompt echo, assistant talk, stock phrases or copied salutation."""

    name = "meta_talk"
    version = VERSION

    def checks(self, item: ScoringItem) -> list[Check]:
        return meta_checks(item.text, item.brief)
