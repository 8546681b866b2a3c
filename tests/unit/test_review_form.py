"""What a reviewer reads above the form: unsupported names and figures stand out in the draft's text."""

from aigc_workflow.review import ReviewItem
from aigc_workflow.review_form import description_markdown, highlight


def item(text: str, unsupported: tuple[str, ...]) -> ReviewItem:
    return ReviewItem(7, "clinic-move", "The clinic moves", text, None, {"groundedness": 0.5}, "rejected",
                      ("groundedness 0.500 is below the minimum 1: unsupported: '14 Mill Road'",),
                      unsupported=unsupported)


def test_each_unsupported_span_is_bold_and_the_longest_match_wins() -> None:
    line = "From 1 September 2025 we are at 14 Mill Road; call 01632 960000."
    shown = highlight(line, ["1 September", "1 September 2025", "01632 960000"])
    assert shown == "From **1 September 2025** we are at 14 Mill Road; call **01632 960000**."


def test_a_span_with_regex_characters_is_matched_as_written() -> None:
    assert highlight("Prices rise (by 10%) today.", ["(by 10%)"]) == "Prices rise **(by 10%)** today."


def test_the_form_text_marks_the_claims_and_lists_them_under_the_draft() -> None:
    text = description_markdown([item("We move to 14 Mill Road.\nSee you there.", ("14 Mill Road",))])
    assert "> We move to **14 Mill Road**." in text
    assert "*Not supported by the brief (bold above):* '14 Mill Road'" in text
    assert "unsupported: '14 Mill Road'" in text  # the gate's reason says it in words as well


def test_a_draft_without_unsupported_claims_is_quoted_as_written() -> None:
    text = description_markdown([item("We move to 14 Station Road.", ())])
    assert "> We move to 14 Station Road." in text and "Not supported" not in text
