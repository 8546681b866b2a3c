"""The review form: one section per draft with everything needed to decide it, left to the gate unless a person
decides, the edit box holding the draft's text, and a submission that records only what the person decided."""

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError, create_model

from aigc_workflow.review import ReviewInput, ReviewItem
from aigc_workflow.review_form import (
    LEAVE,
    drafts_markdown,
    form_fields,
    highlight,
    if_left,
    inputs_from_form,
    mode_after_form,
    overview_markdown,
)

LONG = "Trees cool the street in summer. " * 40 + "The last sentence is here."


def item(text: str | None = "We move to 14 Mill Road.\nSee you there.", unsupported: tuple[str, ...] = ("14 Mill Road",),
         draft_id: int = 7, **kwargs: Any) -> ReviewItem:
    fields = {"verdict": "rejected", "reasons": ("groundedness 0.500 is below the minimum 1: unsupported: '14 Mill Road'",)}
    return ReviewItem(draft_id, "clinic-move", "The clinic moves", text, kwargs.pop("image_path", None),
                      {"groundedness": 0.5, "format": 1.0}, **{**fields, **kwargs}, unsupported=unsupported)


def chosen(draft_id: int = 8, text: str = "Our clinic opens in its new home on Monday.") -> ReviewItem:
    return item(text, (), draft_id, verdict="approved", reasons=("all scores within bounds",), rank=1, chosen=True,
                rank_reason="chosen: best of 2 approved")


def image(draft_id: int = 9) -> ReviewItem:
    return item(None, (), draft_id, image_path="/drafts/9.png", verdict="held", reasons=("clip: unavailable",))


def submitted(items: list[ReviewItem], **sections: dict[str, str]) -> dict[str, Any]:
    """What the flow gets back when a person submits: the form's defaults, with what they changed."""
    form = create_model("Form", __base__=BaseModel, **form_fields(items))
    values = form(reviewer="dana").model_dump()
    for key, changed in sections.items():
        values[key].update(changed)
    return values


def test_each_draft_starts_left_to_the_gate_with_its_text_in_the_edit_box() -> None:
    values = submitted([item(LONG), image()])
    assert values["draft_7"] == {"decision": LEAVE, "edit": LONG, "note": ""}
    assert values["draft_9"] == {"decision": LEAVE, "edit": "", "note": ""}  # an image's caption box starts empty


def test_a_form_submitted_as_it_stands_records_no_decision() -> None:
    items = [item(), chosen(), image()]
    assert inputs_from_form(items, submitted(items)) == ("dana", [])


def test_only_the_drafts_the_reviewer_decided_get_a_decision() -> None:
    items = [item(), chosen(), image()]
    values = submitted(items, draft_7={"decision": "approve", "note": "checked the address"},
                       draft_8={"decision": "reject"})
    assert inputs_from_form(items, values) == ("dana", [
        ReviewInput(7, "approve", None, "checked the address"), ReviewInput(8, "reject"),
    ])


@pytest.mark.parametrize("box", [
    "We move to 14 Mill Road.\nSee you there.",  # untouched
    "  We move to 14 Mill Road.   See you\nthere.\n",  # re-wrapped: whitespace is no edit
    "",  # emptied: nothing to publish instead
])
def test_an_unchanged_text_is_no_edit(box: str) -> None:
    values = submitted([item()], draft_7={"decision": "approve", "edit": box})
    assert inputs_from_form([item()], values)[1] == [ReviewInput(7, "approve")]


def test_a_changed_text_left_to_the_gate_approves_a_draft_the_gate_approved() -> None:
    values = submitted([chosen()], draft_8={"edit": "Our clinic opens in its new home on Tuesday.\n"})
    assert inputs_from_form([chosen()], values)[1] == [
        ReviewInput(8, "approve", "Our clinic opens in its new home on Tuesday.")]


def test_a_changed_text_alone_does_not_publish_a_draft_the_gate_rejected() -> None:
    # The box starts with the draft: a stray keystroke must not put out what the gate stopped.
    values = submitted([item()], draft_7={"edit": "We move to our new address.\n"})
    assert inputs_from_form([item()], values)[1] == []
    values = submitted([item()], draft_7={"decision": "approve", "edit": "We move to our new address.\n"})
    assert inputs_from_form([item()], values)[1] == [ReviewInput(7, "approve", "We move to our new address.")]


def test_an_explicit_reject_stands_over_a_changed_text() -> None:
    values = submitted([item()], draft_7={"decision": "reject", "edit": "We move."})
    assert inputs_from_form([item()], values)[1] == [ReviewInput(7, "reject", "We move.")]


def test_a_caption_written_for_an_image_approves_it() -> None:
    values = submitted([image()], draft_9={"edit": "Meet the team."})
    assert inputs_from_form([image()], values)[1] == [ReviewInput(9, "approve", "Meet the team.")]


@pytest.mark.parametrize("name", [None, "", "   "])
def test_the_reviewers_name_is_required(name: str | None) -> None:
    form = create_model("Form", __base__=BaseModel, **form_fields([item()]))
    with pytest.raises(ValidationError, match="reviewer"):
        form.model_validate({} if name is None else {"reviewer": name})


def test_a_section_shows_the_brief_the_gate_the_scores_the_claims_and_the_whole_text() -> None:
    fields = form_fields([item(LONG + "\nWe move to 14 Mill Road.")])
    section = fields["draft_7"][1]
    assert section.title == "Draft 7 · clinic-move · rejected, not ranked"
    text = section.description
    assert "Brief: The clinic moves." in text
    assert "Gate: rejected: groundedness 0.500 is below the minimum 1: unsupported: '14 Mill Road'." in text
    assert "Scores: format 1.00, groundedness 0.50." in text
    assert "Not supported by the brief (bold in the text): '14 Mill Road'." in text
    assert LONG.strip() in text and text.endswith("\n\nWe move to **14 Mill Road**.")  # in full, each line a paragraph


def test_the_decision_says_what_the_gate_does_with_a_draft_left_to_it() -> None:
    alternate = item("Alt.", (), 10, verdict="approved", reasons=("all scores within bounds",), rank=2, chosen=False)
    assert if_left(chosen()).startswith("Left to the gate it is published as the brief's chosen draft")
    assert if_left(alternate).startswith("Left to the gate it is not published: an alternate.")
    assert if_left(item()) == "Left to the gate it is not published."
    assert if_left(image()).startswith("Left to the gate it stays held")
    assert form_fields([chosen()])["draft_8"][0].model_fields["decision"].description == if_left(chosen())


def test_after_a_form_the_gate_decides_what_the_reviewer_left_as_in_held_only_mode() -> None:
    assert mode_after_form("human") == "held-only"
    assert mode_after_form("held-only") == "held-only"


def test_the_instructions_and_each_image_section_link_the_artifact_with_every_draft() -> None:
    url = "http://prefect.example/artifacts/artifact/1"
    fields = form_fields([image()], artifact_url=url)
    assert url in fields["reviewer"][1].description and url in fields["draft_9"][1].description
    assert "Every draft side by side" not in form_fields([image()])["reviewer"][1].description


def test_the_overview_lists_every_draft_and_shows_the_thumbnails() -> None:
    text = overview_markdown([item(), image()], image_uri=lambda path: f"data:image/png;base64,{path}")
    assert "| 7 | clinic-move | rejected | - |" in text and "| 9 | clinic-move | held | - |" in text
    assert "![draft 9](data:image/png;base64,/drafts/9.png)" in text


def test_each_unsupported_span_is_bold_and_the_longest_match_wins() -> None:
    line = "From 1 September 2025 we are at 14 Mill Road; call 01632 960000."
    shown = highlight(line, ["1 September", "1 September 2025", "01632 960000"])
    assert shown == "From **1 September 2025** we are at 14 Mill Road; call **01632 960000**."


def test_a_span_with_regex_characters_is_matched_as_written() -> None:
    assert highlight("Prices rise (by 10%) today.", ["(by 10%)"]) == "Prices rise **(by 10%)** today."


def test_the_artifact_marks_the_claims_and_lists_them_under_the_draft() -> None:
    text = drafts_markdown([item("We move to 14 Mill Road.\nSee you there.", ("14 Mill Road",))])
    assert "> We move to **14 Mill Road**." in text
    assert "*Not supported by the brief (bold above):* '14 Mill Road'" in text
    assert "unsupported: '14 Mill Road'" in text  # the gate's reason says it in words as well


def test_the_artifact_quotes_a_draft_without_unsupported_claims_as_written() -> None:
    text = drafts_markdown([item("We move to 14 Station Road.", ())])
    assert "> We move to 14 Station Road." in text and "Not supported" not in text
