"""Completeness and meta talk: the rule checks that fail a draft an editor could not publish as it stands."""

from __future__ import annotations

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ScoringContext, ScoringItem
from aigc_workflow.scoring.completeness import CompletenessScorer, completeness_checks
from aigc_workflow.scoring.meta_talk import MetaTalkScorer, meta_checks
from aigc_workflow.settings import Settings

DENTIST = BriefSpec(
    ref="dentist", topic="Remind patients of Brookside Dental that their six-monthly check-up is due",
    audience="existing dental patients", format="reminder email",
)


def failed(checks) -> list[str]:  # type: ignore[no-untyped-def]
    return [check.problem for check in checks if not check.passed]


@pytest.mark.parametrize("text", [
    "Our new loaf is here. Come and taste it!",
    "Stay warm this winter.\n\n#Winter #Tips",
    "Thank you for all your help.\n\nBest wishes,\nThe Oakfield team",
    "We hope you find the perfect fabric.\n\nHappy sewing,\nThe Fern & Thread team",
    "The survey closes on 30 April.\n\nThank you for your time,\nGreenleaf Garden Supplies",
    'She said "it was the best fair yet."',
    "1. Unplug chargers.\n2. Close the curtains at night.",
    "**Steel Water Bottle**\n\n**For commuters**\n\nIt keeps drinks cold.",  # a title and its tagline
    "## What's new\n### Dark mode\nSwitch themes at any time.",  # a section opening a subsection
    "**Mill Lane is closed.**\n\n**The footpath stays open.**",  # bold sentences are no headings
])
def test_a_finished_text_passes(text: str) -> None:
    assert failed(completeness_checks(text)) == []


@pytest.mark.parametrize(("text", "problem"), [
    ("We will reopen on Monday at the American", "it stops mid-sentence: '...reopen on Monday at the American'"),
    ("Tips to save energy:\n1. Turn the heating down.\n2. Close doors.\n3.", "it ends on an empty list item '3.'"),
    ("Hello [Customer Name], your order is on its way.", "placeholders left in: '[Customer Name]'"),
    ("Lorem ipsum dolor sit amet.", "placeholders left in: 'Lorem ipsum'"),
    ("## Opening hours\n## Prices\nFrom 4 GBP.", "empty sections: '## Opening hours'"),
    ("Prices:\n**Opening hours**\n**Prices**\nFrom 4 GBP.", "empty sections: 'Prices:', '**Opening hours**'"),
    ("Ingredients:\nMethod:\nMix and bake.", "empty sections: 'Ingredients:'"),
    ("Spring planting day is here.\nJoin us on Saturday,\nfrom 10am at the", "it stops mid-sentence: '...from 10am at the'"),
    ("", "the text is empty"),
])
def test_an_unfinished_text_fails_with_what_to_fix(text: str, problem: str) -> None:
    assert problem in failed(completeness_checks(text))


@pytest.mark.parametrize(("text", "problem"), [
    ("<brief> Trees are good for a city.", "echoes the prompt: '<brief>'"),
    ("As requested in the brief, here are tips.", "echoes the prompt: 'the brief'"),
    ("Title: Five ways to save food\nSave food.", "echoes the prompt: 'Title:'"),
    ("As an AI, I cannot visit. Come see us.", "talks like an assistant: 'As an AI'"),
    ("Here is a short post for your bakery: bread.", "talks like an assistant: 'Here is a short post'"),
    ("Dear all,\nI hope this email finds you well. Your check-up is due.",
     "stock phrases: 'I hope this email finds you well'"),
    ("Dear existing dental patients,\nYour check-up is due.",
     "the salutation copies the brief: 'Dear existing dental patients'"),
    ("Dear all,\n\nWe hope this message finds you well. Your check-up is due.",
     "stock phrases: 'We hope this message finds you well'"),
])
def test_talk_about_the_brief_or_as_an_assistant_fails(text: str, problem: str) -> None:
    assert problem in failed(meta_checks(text, DENTIST))


def test_a_greeting_by_name_and_plain_content_pass() -> None:
    text = "Dear patient,\nYour six-monthly check-up at Brookside Dental is due. Book online today.\n\nKind regards,"
    assert failed(meta_checks(text, DENTIST)) == []


def test_scores_are_the_share_of_checks_passed_with_the_problems_in_the_details(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path)
    items = [ScoringItem(DENTIST, "Your check-up is due. Book online."), ScoringItem(DENTIST, "Your check-up is")]
    complete = CompletenessScorer(settings).score(items, ScoringContext())
    assert [r.value for r in complete] == [1.0, 0.75]
    assert complete[1].details["problems"] == ["it stops mid-sentence: '...Your check-up is'"]
    meta = MetaTalkScorer(settings).score([ScoringItem(DENTIST, "As an AI, I say book now.")], ScoringContext())
    assert meta[0].value == 0.75 and meta[0].version == "rules-3"
