"""Language: the draft is in its brief's language, and in one the harm filters read (py3langid's model)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aigc_workflow.languages import HARM_LANGUAGES, language_name
from aigc_workflow.scoring.base import (
    ModelUnavailable,
    ScoreResult,
    ScoringContext,
    ScoringItem,
)

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

# Below this many letters a language guess is unsure: a short text that does not look like the brief's
# language is held, not rejected and not passed.
MIN_LETTERS = 20

@lru_cache(maxsize=1)
def _identifier() -> Any:
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as error:
        raise ModelUnavailable("py3langid is not installed: pip install 'py3langid==0.4.0'") from error
    # Normalised probabilities, so the score is a share and a short, mixed text shows its doubt.
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def ranking(text: str) -> list[tuple[str, float]]:
    """Every language the model knows, as (ISO 639-1 code, probability), likeliest first."""
    return [(str(code), float(p)) for code, p in _identifier().rank(text)]


class LanguageScorer:
    """value = 1 - P(brief's language) in [0, 1], 0 when it is the likeliest; higher is worse (max 0.5 rejects).

    A draft in its brief's language that the harm filters do not read is held (an error naming the
    language), never approved: no harm scorer has vetted it.
    """

    name = "language"
    modality = "text"
    model = "py3langid"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.version = "unknown"

    def load(self) -> None:
        _identifier()
        self.version = importlib.metadata.version("py3langid")

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        self.load()
        return [self._one(item) for item in items]

    def _one(self, item: ScoringItem) -> ScoreResult:
        text = (item.text or "").strip()
        wanted = item.brief.language
        if not text:
            return ScoreResult(self.name, 0.0, self.model, self.version, {"brief": wanted, "empty_text": True})
        ranked = ranking(text)
        if wanted not in dict(ranked):
            return ScoreResult(self.name, None, self.model, self.version, {"brief": wanted},
                               error=f"the brief's language {wanted!r} is not one py3langid can identify; "
                                     "check the brief's `language` (ISO 639-1, e.g. en, de, es)")
        detected, probability = ranked[0]
        share = dict(ranked).get(wanted, 0.0)
        details: dict[str, Any] = {
            "brief": wanted, "detected": detected, "probability": round(probability, 4),
            "brief_language_probability": round(share, 4),
        }
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS and detected != wanted:
            # Too short to be sure either way ("Schwarze sind Tiere."): neither reject nor pass it unread.
            return ScoreResult(
                self.name, None, self.model, self.version, {**details, "too_short": True},
                error=f"too short to tell its language (it looks like {language_name(detected)}); held for a person",
            )
        # The likeliest language being the brief's is enough: a short text spreads its probability over
        # neighbours ("This lasagne hits different" is 41% English, and still English).
        value = 0.0 if detected == wanted else round(1.0 - share, 6)
        if value > 0.5:
            details["problems"] = [f"written in {language_name(detected)}, the brief asks for {language_name(wanted)}"]
            return ScoreResult(self.name, value, self.model, self.version, details)
        if wanted not in HARM_LANGUAGES:
            return ScoreResult(
                self.name, None, self.model, self.version, details,
                error=f"written in {language_name(wanted)}, which the harm filters do not read "
                      f"(they cover {', '.join(language_name(c) for c in sorted(HARM_LANGUAGES))}); "
                      "held for a person",
            )
        return ScoreResult(self.name, value, self.model, self.version, details)
