"""The page's language, detected from its text with lingua (a maintained detector, offline).

The nine languages of the product first, then the others archives hold. One detector per
process, built on first use.
"""

from __future__ import annotations

from functools import lru_cache

MIN_CHARS = 20  # shorter texts give guesses, not answers
LANGUAGES = (
    "ENGLISH FRENCH GERMAN SPANISH ITALIAN DUTCH PORTUGUESE SWEDISH DANISH "
    "BOKMAL FINNISH POLISH CZECH HUNGARIAN ROMANIAN CATALAN LATIN GREEK RUSSIAN "
    "ARABIC HEBREW HINDI CHINESE JAPANESE VIETNAMESE TURKISH"
).split()


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect_language(text: str | None) -> str | None:
    """ISO 639-1 code, or None when the text is too short or no language stands out."""
    if not text or sum(not ch.isspace() for ch in text) < MIN_CHARS:
        return None
    found = _detector().detect_language_of(text[:5000])
    return found.iso_code_639_1.name.lower() if found is not None else None
