"""Text accuracy metrics with a documented normalisation; edit distance from rapidfuzz.

Every error rate in the project (a page's CER, a folder's micro-averaged CER, a line's CER
in a benchmark) goes through `rate`, so an empty reference means the same everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}


def normalize(text: str) -> str:
    """NFC, ligatures expanded, words hyphenated at a line end re-joined, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    for lig, plain in LIGATURES.items():
        text = text.replace(lig, plain)
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return " ".join(text.split())


def rate(edits: int, length: int) -> float:
    """Edits over reference length; against an empty reference, 0 for no edits and 1 for any."""
    if length == 0:
        return 0.0 if edits == 0 else 1.0
    return edits / length


@dataclass(frozen=True)
class EditCount:
    """Edits against a reference of `length` units (characters or words): what micro averages sum."""

    edits: int
    length: int

    @property
    def rate(self) -> float:
        return rate(self.edits, self.length)


def char_edits(reference: str, hypothesis: str) -> EditCount:
    ref, hyp = normalize(reference), normalize(hypothesis)
    return EditCount(Levenshtein.distance(ref, hyp), len(ref))


def word_edits(reference: str, hypothesis: str) -> EditCount:
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    return EditCount(Levenshtein.distance(ref, hyp), len(ref))


def cer(reference: str, hypothesis: str) -> float:
    return char_edits(reference, hypothesis).rate


def wer(reference: str, hypothesis: str) -> float:
    return word_edits(reference, hypothesis).rate


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
