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


AUTO = "auto"
# lingua's ISO 639-1 codes to Tesseract's language packs
TESSERACT_PACKS = {
    "en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "nl": "nld", "pt": "por", "sv": "swe",
    "da": "dan", "nb": "nor", "fi": "fin", "pl": "pol", "cs": "ces", "hu": "hun", "ro": "ron", "ca": "cat",
    "la": "lat", "el": "ell", "ru": "rus", "ar": "ara", "he": "heb", "hi": "hin", "zh": "chi_sim", "ja": "jpn",
    "vi": "vie", "tr": "tur",
}
# Tesseract OSD's script names to the pack that reads the script's main language
SCRIPT_PACKS = {
    "Latin": "eng", "Cyrillic": "rus", "Greek": "ell", "Arabic": "ara", "Hebrew": "heb", "Devanagari": "hin",
    "Han": "chi_sim", "HanS": "chi_sim", "HanT": "chi_tra", "Japanese": "jpn", "Katakana": "jpn", "Hiragana": "jpn",
    "Hangul": "kor", "Korean": "kor", "Thai": "tha",
}


def tesseract_pack(iso_code: str | None) -> str | None:
    """The Tesseract pack for a detected language, or None when there is none to name."""
    return TESSERACT_PACKS.get(iso_code) if iso_code else None
