"""Text accuracy metrics with a documented normalisation; edit distance from rapidfuzz."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from rapidfuzz.distance import Levenshtein

LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}


def normalize(text: str) -> str:
    """NFC, ligatures expanded, words hyphenated at a line end re-joined, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    for lig, plain in LIGATURES.items():
        text = text.replace(lig, plain)
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return " ".join(text.split())


def cer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)


def bow_f1(reference: str, hypothesis: str) -> float:
    """Order-tolerant: F1 of the two bags of words (the text layer's order is the producer's)."""
    ref, hyp = Counter(normalize(reference).split()), Counter(normalize(hypothesis).split())
    if not ref and not hyp:
        return 1.0
    overlap = sum((ref & hyp).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(hyp.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)
