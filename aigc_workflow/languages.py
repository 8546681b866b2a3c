"""Language codes (ISO 639-1) and their names, for prompts and reason lines."""

from __future__ import annotations

# The languages the harm scorers (toxicity, bias, hate) were trained and measured on. A draft in any other
# language is held for a person: approving it would mean no harm filter read it.
HARM_LANGUAGES = frozenset({"en"})

# ISO 639-1 names for the reason lines; a code missing here is shown as the code alone.
LANGUAGE_NAMES = {
    "en": "English", "de": "German", "es": "Spanish", "fr": "French", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "pl": "Polish", "ru": "Russian", "uk": "Ukrainian", "tr": "Turkish", "ar": "Arabic",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "hi": "Hindi", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "ro": "Romanian", "hu": "Hungarian", "el": "Greek",
    "he": "Hebrew", "id": "Indonesian", "vi": "Vietnamese", "th": "Thai", "fa": "Persian", "ca": "Catalan",
}


def language_name(code: str) -> str:
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code
