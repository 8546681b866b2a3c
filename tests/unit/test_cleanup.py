"""Draft clean-up: the content alone, without assistant talk around it, never ending mid-sentence."""

from __future__ import annotations

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation.base import GenerationRequest, finished_draft
from aigc_workflow.generation.cleanup import clean_answer
from aigc_workflow.text_formats import shape_of, shape_problems


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Sure! Here is a short blog post:\n\nTrees cool our streets.", "Trees cool our streets."),
        ("Here's a sample of the content described by the brief:\nTrees cool our streets.", "Trees cool our streets."),
        ("Certainly.\nHere is the post.\nTrees cool our streets.", "Trees cool our streets."),
        ("Trees cool our streets.\n\nLet me know if you'd like any changes!", "Trees cool our streets."),
        ("Trees cool our streets.\n\nI hope this helps.", "Trees cool our streets."),
        ("```markdown\nTrees cool our streets.\n```", "Trees cool our streets."),
        ('"Trees cool our streets."', "Trees cool our streets."),
        ("Trees cool our streets. Here is why: shade.", "Trees cool our streets. Here is why: shade."),
    ],
)
def test_assistant_talk_around_the_content_is_removed(answer: str, expected: str) -> None:
    assert clean_answer(answer, hit_token_limit=False).text == expected


def test_content_is_never_emptied_by_the_clean_up() -> None:
    assert clean_answer("Sure! Here is the post:", hit_token_limit=False).text == "Sure! Here is the post:"


def test_an_answer_cut_by_the_token_limit_ends_at_its_last_complete_sentence() -> None:
    cleaned = clean_answer("Trees give shade. They cool the air. At the American", hit_token_limit=True)
    assert cleaned.text == "Trees give shade. They cool the air."
    assert cleaned.trimmed_to_sentence
    assert any("At the American" in step for step in cleaned.removed)


def test_an_answer_that_ended_by_itself_is_not_trimmed() -> None:
    cleaned = clean_answer("Join us on Saturday - bring gloves", hit_token_limit=False)
    assert cleaned.text == "Join us on Saturday - bring gloves" and not cleaned.trimmed_to_sentence


def test_the_draft_records_how_it_ended_and_what_was_removed() -> None:
    request = GenerationRequest(BriefSpec(ref="b", topic="Trees"), 0, 1)
    draft = finished_draft(request, "p", "m", {"temperature": 0.7}, "Sure!\nTrees give shade. And", True)
    assert draft.text == "Trees give shade."
    assert draft.params["temperature"] == 0.7
    assert draft.params["finish"] == "token limit: trimmed to the last complete sentence"
    assert draft.params["cleaned"][0] == "preamble: 'Sure!'"


def test_a_closing_placeholder_for_the_sender_is_dropped() -> None:
    cleaned = clean_answer("Sleep well.\n\nWarm wishes,\n[Your Name]", hit_token_limit=False)
    assert cleaned.text == "Sleep well.\n\nWarm wishes,"


def test_a_closing_your_name_line_is_dropped() -> None:
    assert clean_answer("Thanks for your patience.\n\nBest regards,\n\nYour Name", hit_token_limit=False).text == (
        "Thanks for your patience.\n\nBest regards,")


def test_a_draft_over_the_briefs_length_is_cut_at_a_sentence_that_fits() -> None:
    cleaned = clean_answer("One two three. Four five six. Seven eight nine ten.", hit_token_limit=False, max_words=7)
    assert cleaned.text == "One two three. Four five six." and cleaned.trimmed_to_sentence


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Dear Sam,\n\nI hope this email finds you well. Your order ships today.\n\nBest wishes,\nFern & Thread",
         "Dear Sam,\n\nYour order ships today.\n\nBest wishes,\nFern & Thread"),
        ("Dear Sam,\n\nI hope this message finds you well and happy.\n\nYour order ships today.",
         "Dear Sam,\n\nYour order ships today."),
    ],
)
def test_an_editor_strikes_the_stock_finds_you_well_sentence(answer: str, expected: str) -> None:
    cleaned = clean_answer(answer, hit_token_limit=False)
    assert cleaned.text == expected
    assert cleaned.removed[0].startswith("stock sentence: 'I hope this")


def test_a_stock_sentence_that_carries_news_is_left_for_the_scorer() -> None:
    answer = "Dear all,\n\nWe hope this message finds you well and are pleased to say the pool reopens on 3 May."
    assert clean_answer(answer + " See you!", hit_token_limit=False).text == answer + " See you!"


@pytest.mark.parametrize(("answer", "expected"), [
    ("Title: Easy Herbs on a Balcony\n\nHerbs like sun.", "Easy Herbs on a Balcony\n\nHerbs like sun."),
    ("**Title: Easy Herbs**\n\nHerbs like sun.", "Easy Herbs\n\nHerbs like sun."),
])
def test_a_title_label_leaves_the_heading(answer: str, expected: str) -> None:
    assert clean_answer(answer, hit_token_limit=False).text == expected


def test_a_greeting_goes_only_where_the_format_has_none() -> None:
    answer = "Dear parents,\n\nThe trip is on Tuesday 8 April."
    paragraph, letter = shape_of("newsletter paragraph"), shape_of("email")
    cleaned = clean_answer(answer, hit_token_limit=False, shape=paragraph)
    assert cleaned.text == "The trip is on Tuesday 8 April."
    assert cleaned.removed == ("greeting (paragraph has none): 'Dear parents,'",)
    assert clean_answer(answer, hit_token_limit=False, shape=letter).text == answer


@pytest.mark.parametrize("first_line", [
    "Hi-vis vests must be worn on site from Monday 3 June.",
    "Hi-vis vests are a must! Wear them on site from Monday 3 June.",
    "Our new opening hours start on 3 March: 9:00-20:00 weekdays.",
])
def test_a_first_line_with_content_is_no_greeting_to_strike(first_line: str) -> None:
    answer = f"{first_line}\n\nThank you."
    assert clean_answer(answer, hit_token_limit=False, shape=shape_of("public notice")).text == answer


def test_a_greeting_sentence_goes_and_the_line_it_opened_stays() -> None:
    # The writer opened blog posts with "Hey there, <the brief's audience>!"; editors struck it every time.
    answer = "Hey there, cyclists! Before you ride, check your brakes.\n\nThen your tyres."
    cleaned = clean_answer(answer, hit_token_limit=False, shape=shape_of("short blog post"))
    assert cleaned.text == "Before you ride, check your brakes.\n\nThen your tyres."
    assert cleaned.removed == ("greeting (article has none): 'Hey there, cyclists!'",)
    notice = "Hello! Our new opening hours start on 3 March."
    assert clean_answer(notice, hit_token_limit=False, shape=shape_of("public notice")).text == (
        "Our new opening hours start on 3 March.")
    assert clean_answer(answer, hit_token_limit=False, shape=shape_of("email")).text == answer


def test_the_draft_is_fitted_to_its_briefs_format() -> None:
    request = GenerationRequest(BriefSpec(ref="b", topic="Trip", format="public notice"), 0, 1)
    draft = finished_draft(request, "p", "m", {}, "Subject: Road closed\n\nMill Lane is closed.", False)
    assert draft.text == "Mill Lane is closed."


def test_an_end_of_notice_trailer_is_dropped() -> None:
    cleaned = clean_answer("**Public Notice**\n\nMill Lane is closed.\n\n**End of Public Notice**", hit_token_limit=False)
    assert cleaned.text == "**Public Notice**\n\nMill Lane is closed."


@pytest.mark.parametrize(
    ("text_format", "answer", "expected"),
    [
        ("blog post", "Water herbs when the soil is dry.\n\n#Herbs #Growing #Balcony", "Water herbs when the soil is dry."),
        ("newsletter paragraph", "Thank you to every volunteer. #CommunityGardens #MapleCourt",
         "Thank you to every volunteer."),
        ("reminder email", "Book online today.\n\nBest wishes,\nBrookside Dental\n\n#Dental\n\n---",
         "Book online today.\n\nBest wishes,\nBrookside Dental"),
        ("social media post", "Film night on Saturday! #FilmNight #Park #Summer #Fun", "Film night on Saturday! #FilmNight #Park"),
        ("social media post", "Film night on Saturday!\n\n#FilmNight #Park", "Film night on Saturday!\n\n#FilmNight #Park"),
        ("web page", "Hashtags like #this one stay inside a sentence.", "Hashtags like #this one stay inside a sentence."),
    ],
)
def test_closing_hashtags_go_where_the_format_has_none_and_a_social_post_keeps_two(
    text_format: str, answer: str, expected: str,
) -> None:
    cleaned = clean_answer(answer, hit_token_limit=False, shape=shape_of(text_format))
    assert cleaned.text == expected
    if expected != answer:
        assert cleaned.removed


def test_a_text_of_hashtags_alone_is_left_for_the_scorers() -> None:
    assert clean_answer("#BookClub #Library", hit_token_limit=False, shape=shape_of("blog post")).text == (
        "#BookClub #Library")


@pytest.mark.parametrize(
    ("text_format", "answer", "expected"),
    [
        # what hides behind closing tags or a rule is found once they are gone
        ("blog post", "Water herbs when dry.\n\nLet me know if you need any changes!\n\n#Herbs #Balcony",
         "Water herbs when dry."),
        ("reminder email", "Book today.\n\nBest wishes,\nYour Name\n\n---", "Book today.\n\nBest wishes,"),
        # numbers, addresses and a tag used as a word are not closing hashtags
        ("reminder email", "Visit us at 4 Mill Lane, Suite #4", "Visit us at 4 Mill Lane, Suite #4"),
        ("short announcement", "The meeting is in Room #12", "The meeting is in Room #12"),
        ("social media post", "Share your photos with #CityTrees", "Share your photos with #CityTrees"),
        # emoji after the tags go with them
        ("blog post", "Water herbs when dry. #Herbs #Growing \U0001f331", "Water herbs when dry."),
        ("social media post", "Film night!\n\n#FilmNight #Park #Fun \U0001f3ac", "Film night!\n\n#FilmNight #Park"),
    ],
)
def test_closing_hashtags_edge_cases(text_format: str, answer: str, expected: str) -> None:
    assert clean_answer(answer, hit_token_limit=False, shape=shape_of(text_format)).text == expected


@pytest.mark.parametrize(("first_line", "expected"), [
    ("Dear existing dental patients,", "Dear patients,"),
    ("Dear new subscribers to Fern & Thread, a small online fabric shop,", "Dear subscribers,"),
    ("Dear loyal regular customer,", "Hello,"),
])
def test_a_salutation_in_the_briefs_words_keeps_only_the_readers_noun(first_line: str, expected: str) -> None:
    # Editors marked every letter that greeted its readers with the brief's audience field (meta_talk rejects it).
    audience, topic = "existing dental patients, loyal regular customer", "Welcome new subscribers to Fern & Thread, a shop"
    cleaned = clean_answer(f"{first_line}\n\nYour check-up is due.", hit_token_limit=False,
                           shape=shape_of("reminder email"), audience=audience, topic=topic)
    assert cleaned.text == f"{expected}\n\nYour check-up is due."
    assert cleaned.removed == (f"salutation in the brief's words: {first_line!r} became {expected!r}",)


@pytest.mark.parametrize("first_line", [
    "Dear volunteers,", "Dear local volunteers,", "Dear Mrs Sarah Jane Patel,", "Dear James Roberts,",
    "Dear existing dental patients, your check-up is due.",
])
def test_a_salutation_of_its_own_stays(first_line: str) -> None:
    # Two words of the audience, a person's name (even one the brief gives) and a sentence are not an echo.
    answer = f"{first_line}\n\nThank you."
    audience, topic = "existing dental patients and local volunteers", "Write to James Roberts and Mrs Sarah Jane Patel"
    cleaned = clean_answer(answer, hit_token_limit=False, shape=shape_of("email"), audience=audience, topic=topic)
    assert cleaned.text == answer


def test_a_kept_hashtag_loses_its_apostrophe() -> None:
    # A feed ends a tag at an apostrophe; completeness read "#StAnne'sPrimary" as a sentence cut off.
    cleaned = clean_answer("See you there! #BakeSale #StAnne'sPrimary", hit_token_limit=False,
                           shape=shape_of("social media post"))
    assert cleaned.text == "See you there! #BakeSale #StAnnesPrimary"


def test_a_bold_note_to_the_requester_is_struck() -> None:
    # "**Note:** The text provided is a sample ..." closed three drafts that the gate approved (bench/writer/EVAL.md).
    cleaned = clean_answer("The gym is closed on 25 December.\n\n**Note:** The text provided is a sample.",
                           hit_token_limit=False)
    assert cleaned.text == "The gym is closed on 25 December."
    for_readers = "The pool reopens on 3 June.\n\n**Note:** Bring your own towel."
    assert clean_answer(for_readers, hit_token_limit=False).text == for_readers


@pytest.mark.parametrize("first_sentence", [
    "Hello Kitty fans will love our spring range!", "Greetings cards are half price this week!",
    "Hey Duggee is coming to the library!",
])
def test_a_first_sentence_that_is_content_is_no_greeting(first_sentence: str) -> None:
    answer = f"{first_sentence} Come and see it on Saturday."
    assert clean_answer(answer, hit_token_limit=False, shape=shape_of("social media post")).text == answer
    assert not shape_problems(answer, shape_of("social media post"))
