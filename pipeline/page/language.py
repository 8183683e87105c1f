"""The page's language, detected from its text with lingua (a maintained detector, offline).

The nine languages of the product first, then the others archives hold. One detector per
process, built on first use.
"""

from __future__ import annotations

from functools import lru_cache

MIN_CHARS = 20  # shorter texts give guesses, not answers
# lingua's low-accuracy mode (used here) is reliable from about this many characters; under it, an
# English title gets Latin, Catalan or Danish at 0.9 and more
SHORT_TEXT = 120
SAMPLE_CHARS = 2000  # a page's language is told from its first characters: more cost time, not answers
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


def _long_enough(text: str | None) -> bool:
    return bool(text) and sum(not ch.isspace() for ch in text) >= MIN_CHARS


def short_text(text: str | None) -> bool:
    """Whether a text is too short for lingua's confidence in its language to mean much."""
    return len((text or "").strip()) < SHORT_TEXT


def detect_language(text: str | None) -> str | None:
    """ISO 639-1 code, or None when the text is too short or no language stands out."""
    if not _long_enough(text):
        return None
    found = _detector().detect_language_of(text[:SAMPLE_CHARS])
    return found.iso_code_639_1.name.lower() if found is not None else None


PLAUSIBLE = 0.1  # lingua's confidence at which a language with an installed pack is read rather than flagged


def readable_language(text: str | None, packs: set[str]) -> tuple[str | None, float]:
    """The text's language to read it with, and lingua's confidence in it (0-1): the most likely
    one, unless its Tesseract pack is not among `packs` and a language whose pack is has
    PLAUSIBLE confidence too (a short Swedish cover is told from Norwegian by a few letters).
    (None, 0.0) for a text too short to tell."""
    if not _long_enough(text):
        return None, 0.0
    guesses = [(v.language.iso_code_639_1.name.lower(), v.value)
               for v in _detector().compute_language_confidence_values(text[:SAMPLE_CHARS]) if v.value > 0]
    if not guesses:
        return None, 0.0
    if tesseract_pack(guesses[0][0]) not in packs:
        return next((g for g in guesses[1:] if g[1] >= PLAUSIBLE and tesseract_pack(g[0]) in packs), guesses[0])
    return guesses[0]


AUTO = "auto"
START_PACK = "eng"  # what --languages auto reads a new document's probe with, unless told


def auto_start(languages: tuple[str, ...]) -> str | None:
    """The pack `--languages auto` starts from: a new document's probe and a page too small to
    probe are read with it. English, or PACK for `auto:PACK` (an archive mostly in one
    language); None for a fixed list of packs. Raises ValueError for auto mixed into a list."""
    picked = [lang for lang in languages if lang == AUTO or lang.startswith(AUTO + ":")]
    if not picked:
        return None
    if len(languages) > 1:
        raise ValueError(f"--languages {','.join(languages)}: give auto, auto:PACK (a pack to start from) "
                         "or a list of Tesseract packs, not both")
    return picked[0].partition(":")[2] or START_PACK


# lingua's ISO 639-1 codes to Tesseract's language packs
TESSERACT_PACKS = {
    "en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "nl": "nld", "pt": "por", "sv": "swe",
    "da": "dan", "nb": "nor", "fi": "fin", "pl": "pol", "cs": "ces", "hu": "hun", "ro": "ron", "ca": "cat",
    "la": "lat", "el": "ell", "ru": "rus", "ar": "ara", "he": "heb", "hi": "hin", "zh": "chi_sim", "ja": "jpn",
    "vi": "vie", "tr": "tur",
}


def pack_language(pack: str) -> str | None:
    """The ISO 639-1 code of the language a Tesseract pack reads, or None."""
    return next((iso for iso, known in TESSERACT_PACKS.items() if known == pack), None)


# Tesseract's script model for Fraktur (German print until the 1940s; tesseract-ocr-script-frak):
# it reads the letters and ligatures that a language pack trained on Antiqua misreads
FRAKTUR = "Fraktur"
# Tesseract OSD's script names to the pack that reads the script's main language
SCRIPT_PACKS = {
    "Latin": "eng", "Cyrillic": "rus", "Greek": "ell", "Arabic": "ara", "Hebrew": "heb", "Devanagari": "hin",
    "Han": "chi_sim", "HanS": "chi_sim", "HanT": "chi_tra", "Japanese": "jpn", "Katakana": "jpn", "Hiragana": "jpn",
    "Hangul": "kor", "Korean": "kor", "Thai": "tha", "Fraktur": FRAKTUR,
}


def tesseract_pack(iso_code: str | None) -> str | None:
    """The Tesseract pack for a detected language, or None when there is none to name."""
    return TESSERACT_PACKS.get(iso_code) if iso_code else None
