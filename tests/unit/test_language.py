"""The language scorer and a brief's `language`: another language rejects, one the harm filters cannot read holds."""

from __future__ import annotations

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.gate import APPROVED, HELD, REJECTED, decide
from aigc_workflow.scoring.base import ScoringContext, ScoringItem, score_safely
from aigc_workflow.scoring.language import LanguageScorer
from aigc_workflow.settings import Settings, default_gate

ENGLISH = "Our bakery opens at eight on Saturday, with fresh bread and pastries for everyone in town."
GERMAN = "Unsere Bäckerei öffnet am Samstag um acht Uhr, mit frischem Brot und Gebäck für alle im Ort."


def _verdict(brief: BriefSpec, text: str):  # type: ignore[no-untyped-def]
    [result] = score_safely(LanguageScorer(Settings()), [ScoringItem(brief, text)], ScoringContext())
    return result, decide({"language": result}, {"language": default_gate()["language"]}, ["language"])


def test_a_draft_in_its_briefs_language_passes() -> None:
    result, verdict = _verdict(BriefSpec(ref="a", topic="bakery"), ENGLISH)
    assert verdict.decision == APPROVED
    assert result.details["detected"] == "en" and result.value < 0.1


def test_a_draft_in_another_language_is_rejected_with_the_language_named() -> None:
    _, verdict = _verdict(BriefSpec(ref="a", topic="bakery"), GERMAN)
    assert verdict.decision == REJECTED
    assert "written in German (de), the brief asks for English (en)" in verdict.reasons[0]


def test_a_language_the_harm_filters_do_not_read_is_held_for_a_person() -> None:
    _, verdict = _verdict(BriefSpec(ref="a", topic="Bäckerei", language="de"), GERMAN)
    assert verdict.decision == HELD
    assert "German (de)" in verdict.reasons[0] and "harm filters" in verdict.reasons[0]


def test_an_english_draft_for_a_german_brief_is_rejected() -> None:
    _, verdict = _verdict(BriefSpec(ref="a", topic="Bäckerei", language="de"), ENGLISH)
    assert verdict.decision == REJECTED


def test_a_short_text_that_does_not_look_like_the_briefs_language_is_held() -> None:
    _, verdict = _verdict(BriefSpec(ref="a", topic="x"), "Schwarze sind Tiere.")
    assert verdict.decision == HELD and "too short to tell" in verdict.reasons[0]
    _, verdict = _verdict(BriefSpec(ref="a", topic="x"), "See you there!")
    assert verdict.decision == APPROVED


def test_brief_language_is_a_lower_case_iso_code_and_english_keeps_old_hashes() -> None:
    assert BriefSpec(ref="a", topic="x", language="DE").language == "de"
    with pytest.raises(ValueError, match="language"):
        BriefSpec(ref="a", topic="x", language="german")
    plain = BriefSpec(ref="a", topic="x")
    assert plain.content_hash() == BriefSpec(ref="a", topic="x", language="en").content_hash()
    assert plain.content_hash() != BriefSpec(ref="a", topic="x", language="fr").content_hash()


def test_language_is_on_by_default() -> None:
    settings = Settings()
    assert "language" in settings.text_scorers and "hate" in settings.text_scorers
    assert settings.gate["language"].max == 0.5 and settings.gate["hate"].max == 0.5


def test_a_brief_language_the_identifier_does_not_know_is_held_with_advice() -> None:
    _, verdict = _verdict(BriefSpec(ref="a", topic="x", language="xx"), ENGLISH)
    assert verdict.decision == HELD and "'xx' is not one py3langid can identify" in verdict.reasons[0]
