"""The degeneration (datatrove's Gopher rules) and groundedness (spaCy NER) scorers on their real libraries."""

from __future__ import annotations

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ScoringContext, ScoringItem, create_scorer, score_safely
from aigc_workflow.settings import Settings

pytestmark = pytest.mark.slow

HERBS = BriefSpec(ref="herbs", topic="Growing herbs on a small balcony or windowsill", keywords=("herbs", "sunlight"))
TRIP = BriefSpec(ref="trip", topic="Year 4 pupils at Hillview Primary visit the science museum next month",
                 facts=("The trip is on Tuesday 8 April",))
# Drafts of the writer evaluation (bench/writer/drafts-default.md) that an editor passed; the gate had not.
BOOK_CLUB = ("Hey everyone! Our town library's book club is meeting next Wednesday evening. We're talking about "
             "this month's novel at 19:00 in the library's reading room. New members are welcome! #BookClub")
# spaCy's small English model tags "thyme" and "oregano" here as proper nouns (GPE): lower case says they are not.
HERB_TIPS = ("Start with herbs that are easy to grow. Some popular choices include basil, parsley, thyme, oregano, "
             "cilantro, and rosemary. Put the pots where they get sunlight, and water them when the soil is dry.")


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"))


def score(settings: Settings, name: str, brief: BriefSpec, *texts: str):
    results = score_safely(create_scorer(name, settings), [ScoringItem(brief, t) for t in texts], ScoringContext())
    assert all(r.error is None for r in results), [r.error for r in results]
    return results


def test_a_short_post_that_repeats_nothing_is_not_degenerate(settings: Settings) -> None:
    [result] = score(settings, "degeneration", HERBS, BOOK_CLUB)
    assert result.value == 1.0 and result.details["rule"] is None
    assert "datatrove" in result.version


def test_a_loop_is_degenerate_in_a_short_text_and_a_long_one(settings: Settings) -> None:
    loop = "Stay focused and you'll become the best.\n" * 4
    long_loop = HERB_TIPS + "\n" + ("Water them well and they grow. " * 12)
    short, long = score(settings, "degeneration", HERBS, loop, long_loop)
    assert short.value == 0.0 and short.details["problems"]
    assert long.value == 0.0 and long.details["problems"]


def test_a_switch_to_another_script_is_degenerate_unless_the_brief_uses_it(settings: Settings) -> None:
    drifting = HERB_TIPS + " Use pots with holes to prevent water from积聚."
    japanese = BriefSpec(ref="ja", topic="ベランダでハーブを育てる")
    [english] = score(settings, "degeneration", HERBS, drifting)
    [native] = score(settings, "degeneration", japanese, "ベランダでハーブを育てましょう。水やりは土が乾いたら。")
    assert english.value == 0.0 and english.details["problems"] == ["it switches to another script: '积聚'"]
    assert native.details["rule"] != "foreign_script"
    [symbols] = score(settings, "degeneration", HERBS, HERB_TIPS + " Bake at 180ºC. ℹ Tip: 𝐁asil loves sun.")
    assert symbols.details["rule"] != "foreign_script"


def test_common_nouns_and_a_place_the_brief_names_are_grounded(settings: Settings) -> None:
    herbs, trip = (score(settings, "groundedness", HERBS, HERB_TIPS)[0],
                   score(settings, "groundedness", TRIP, "Hillview Primary School visits on Tuesday 8 April.")[0])
    assert herbs.value == 1.0 and herbs.details["unsupported"] == []
    assert trip.value == 1.0, trip.details


def test_an_invented_phone_number_and_date_are_not_grounded(settings: Settings) -> None:
    [result] = score(settings, "groundedness", TRIP, "Call 0800 427 4685 before 30 March to book the trip.")
    assert result.value < 1.0
    assert {"0800 427 4685", "30 March"} <= set(result.details["unsupported"]), result.details


# The writer evaluation's book club brief (bench/writer/briefs.yaml): editors read a draft without its 19:00 as
# unpublishable, and the gate had approved it.
BOOK_CLUB_BRIEF = BriefSpec(ref="ev-book-club", topic="The town library's book club meets next Wednesday at 19:00 in "
                            "the library's reading room to talk about this month's novel; new members welcome")


def test_a_draft_that_leaves_out_the_briefs_time_is_not_covered(settings: Settings) -> None:
    without_time = ("The town library's book club meets next Wednesday evening to talk about this month's novel. "
                    "New members are welcome! #BookClub")
    full, missing = score(settings, "coverage", BOOK_CLUB_BRIEF, BOOK_CLUB, without_time)
    assert full.value == 1.0 and full.details["missing"] == [], full.details
    assert "19:00" in full.details["required"]
    assert missing.value < 1.0 and missing.details["missing"] == ["19:00"]
    assert missing.details["problems"] == ["leaves out what the brief gives: '19:00'"]
    assert missing.version.startswith("coverage-1+")


def test_a_brief_without_specifics_asks_for_none(settings: Settings) -> None:
    [result] = score(settings, "coverage", HERBS, HERB_TIPS)
    assert result.value == 1.0 and result.details == {"required": [], "missing": []}
