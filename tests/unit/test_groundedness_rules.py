"""Groundedness without its NER model: what counts as a specific, and when the brief supports it."""

from __future__ import annotations

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.groundedness import Specific, brief_source, claim_tokens, is_checkable, merge_specifics, supported

CLEANUP = BriefSpec(
    ref="cleanup", topic="Invite residents of Elm Street to the park clean-up on Saturday 12 April, 10:00-13:00; "
    "gloves and bags are provided", keywords=("clean-up",),
)
SOURCE = set(claim_tokens(brief_source(CLEANUP)))


def test_times_dates_and_numbers_are_read_in_one_form() -> None:
    assert claim_tokens("10am to 1pm") == ["10", "to", "13"]
    assert claim_tokens("10:00-13:00") == ["10", "13"]
    assert claim_tokens("April 12th") == ["april", "12"]
    assert claim_tokens("Sat 12 Apr") == ["sat", "12", "april"]
    assert claim_tokens("ten volunteers, £1,200") == ["10", "volunteer", "1200"]


@pytest.mark.parametrize("text", ["Saturday 12 April", "April 12th", "from 10am to 1pm", "Elm Street", "10:00"])
def test_what_the_brief_says_is_supported_in_any_wording(text: str) -> None:
    assert supported(Specific(text, "DATE"), SOURCE)


@pytest.mark.parametrize("text", ["Sunday 13 April", "9am", "Oak Park", "2023", "cleanup@elmstreet.org"])
def test_what_the_brief_does_not_say_is_unsupported(text: str) -> None:
    assert not supported(Specific(text, "DATE"), SOURCE)


@pytest.mark.parametrize(("specific", "checkable"), [
    (Specific("this winter", "DATE"), False),
    (Specific("every day", "DATE"), False),
    (Specific("three", "CARDINAL"), False),
    (Specific("first", "ORDINAL"), False),
    (Specific("Saturday", "DATE"), True),
    (Specific("Christmas Eve", "DATE"), True),
    (Specific("12", "CARDINAL"), True),
    (Specific("twenty", "CARDINAL"), True),
    (Specific("Golden, Colorado", "GPE"), True),
])
def test_vague_time_words_and_small_counts_claim_nothing_to_check(specific: Specific, checkable: bool) -> None:
    assert is_checkable(specific) is checkable


def test_rules_add_contacts_and_codes_the_model_missed() -> None:
    text = "Write to info@climb.example or visit support.example.com, or call 01632 960413 about the KT-200."
    found = merge_specifics([Specific("KT-200", "PRODUCT")], [(text.index("KT-200"), text.index("KT-200") + 6)], text)
    assert [(s.text, s.label) for s in found] == [
        ("KT-200", "PRODUCT"), ("info@climb.example", "CONTACT"), ("support.example.com", "CONTACT"),
        ("01632 960413", "CONTACT"),
    ]
