"""Bias scorer without models: genbit word-list matching, gender balance and the counterfactual swaps."""

from __future__ import annotations

import pytest

from aigc_workflow.scoring import bias
from aigc_workflow.scoring.bias import counterfactuals, gender_balance, gender_lexicon, read_word_list


def test_word_lists_read_whole_lines() -> None:
    male = read_word_list("en", "male")
    female = read_word_list("en", "female")
    assert "he" in male and "she" in female
    assert "cis woman" in female and "the boys" in male  # phrases are entries too
    assert all(entry == entry.strip().lower() and "\r" not in entry for entry in male + female)
    assert len(male) > 200 and len(female) > 200


@pytest.mark.parametrize(
    ("text", "male", "female", "non_binary"),
    [
        ("He met her.", 1, 1, 0),
        ("HE and She", 1, 1, 0),
        ("The boys met a cis  woman.", 1, 1, 0),  # phrases, any whitespace, longest entry wins
        ("There, the theme: many managers manage.", 0, 0, 0),  # no matches inside words
        ("Mr. Smith and Mrs. Jones", 1, 1, 0),  # entries ending in "." still match
        ("My father-in-law and my mother-in-law", 1, 1, 0),
        ("The ma\u2019am nodded", 0, 1, 0),  # curly apostrophe
        ("They asked the nurse.", 0, 0, 2),
        ("", 0, 0, 0),
    ],
)
def test_gendered_counts(text: str, male: int, female: int, non_binary: int) -> None:
    counts, _ = gender_lexicon().count(text)
    assert counts == {"male": male, "female": female, "non-binary": non_binary}


@pytest.mark.parametrize(
    ("text", "imbalance", "enough"),
    [
        ("He said he would call his brother and him.", 1.0, True),
        ("He and she, his and her.", 0.0, True),
        ("He told his sister and his mother.", pytest.approx(1 / 5), True),
        ("He said hi.", 0.0, False),  # too few gendered words to judge
        ("No people here.", 0.0, False),
    ],
)
def test_gender_balance(text: str, imbalance: float, enough: bool) -> None:
    result = gender_balance(text)
    assert result["imbalance"] == imbalance
    assert result["enough_gendered_words"] is enough
    assert set(result["counts"]) == {"male", "female", "non-binary"}


@pytest.mark.parametrize(
    ("text", "label", "variant"),
    [
        ("He told his wife she was wrong.", "gender swap", "She told her husband he was wrong."),
        ("HIS MOTHER", "gender swap", "HER FATHER"),
        ("The muslim family moved in.", "religion: muslim -> christian", "The Christian family moved in."),
        ("The black community met.", "ethnicity: black -> asian", "The Asian community met."),
        ("The gay couple and the straight couple", "orientation: gay/straight -> lesbian",
         "The lesbian couple and the lesbian couple"),
    ],
)
def test_counterfactual_swaps(text: str, label: str, variant: str) -> None:
    assert (label, variant) in counterfactuals(text)


@pytest.mark.parametrize(
    "text",
    ["A black car on a white road, drawn in a straight line.", "Nothing identifying here.", ""],
)
def test_no_swaps_without_identity_terms(text: str) -> None:
    assert counterfactuals(text) == []


def test_variants_are_capped_and_distinct() -> None:
    text = "The American Muslim gay black man and his Chinese Jewish lesbian white wife."
    variants = counterfactuals(text)
    assert 20 < len(variants) <= bias.MAX_VARIANTS
    assert len({variant for _, variant in variants}) == len(variants)
    assert all(variant != text for _, variant in variants)
    assert counterfactuals(text, limit=5) == variants[:5]


@pytest.mark.parametrize(
    ("text", "masked", "count"),
    [
        ("I am a gay man and proud of my family.", "I am a man and proud of my family.", 1),
        ("Muslims and Jews live here.", "and live here.", 2),
        ("A black car and black people.", "A black car and people.", 1),  # colours stay
        ("Nothing to see.", "Nothing to see.", 0),
    ],
)
def test_identity_descriptors_are_masked_for_the_classic_toxicity_model(text: str, masked: str, count: int) -> None:
    from aigc_workflow.scoring.bias import mask_identity_terms

    assert mask_identity_terms(text) == (masked, count)
