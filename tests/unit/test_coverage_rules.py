"""Coverage without its NER model: what the brief asks to be said, and when a draft says it."""

from __future__ import annotations

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.coverage import required_text
from aigc_workflow.scoring.groundedness import Specific, claim_tokens, supported

DRAFT = ("Our book club meets next Wednesday at 7pm in the library's reading room to talk about this month's "
         "novel. Tickets cost £8 at the door (20% off for members); call 01632 960412 with questions.")
TOKENS = set(claim_tokens(DRAFT))


def stated(text: str) -> bool:
    return supported(Specific(text, "REQUIRED"), TOKENS)


@pytest.mark.parametrize("specific", ["19:00", "7 pm", "Wednesday", "£8", "8 GBP", "01632 960412", "the library",
                                      "20 per cent"])
def test_a_specific_is_stated_in_any_wording(specific: str) -> None:
    assert stated(specific)


@pytest.mark.parametrize("specific", ["19:30", "Thursday", "£10", "St Mark's Church", "24 December 7:00-14:00"])
def test_a_specific_the_draft_leaves_out_is_not_stated(specific: str) -> None:
    assert not stated(specific)


def test_the_brief_asks_for_its_topic_and_facts_not_its_audience_or_keywords() -> None:
    brief = BriefSpec(ref="b", topic="Choir concert on Saturday 17 May", audience="Friends of St Mark's",
                      keywords=("Harbour",), facts=("Doors open at 19:00", "Tickets £8"))
    assert required_text(brief).splitlines() == ["Choir concert on Saturday 17 May", "Doors open at 19:00", "Tickets £8"]
