"""One item's output scored against its reference, and micro averages over many."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.quality.items import Item
from pipeline.quality.metrics import bow_f1, char_edits, rate, word_edits

BAD_PAGE_CER = 0.05  # a page with more wrong characters than this needs a person


@dataclass
class Scored:
    item: Item
    text: str
    confidence: float | None
    status: str
    cer: float
    wer: float
    bow_f1: float
    ref_chars: int
    char_edits: int
    ref_words: int
    word_edits: int
    flags: list[str] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return self.cer > BAD_PAGE_CER


def score(item: Item, text: str | None, confidence: float | None, status: str, flags: list[str]) -> Scored:
    chars, words = char_edits(item.truth, text or ""), word_edits(item.truth, text or "")
    return Scored(
        item=item, text=text or "", confidence=confidence, status=status,
        cer=chars.rate, wer=words.rate, bow_f1=bow_f1(item.truth, text or ""),
        ref_chars=chars.length, char_edits=chars.edits, ref_words=words.length, word_edits=words.edits, flags=flags,
    )


def aggregate(scored: list[Scored]) -> dict:
    """Micro-averaged CER/WER (edits over reference length), mean BoW F1, median item CER."""
    if not scored:
        return {"items": 0, "cer": None, "wer": None, "bow_f1": None}
    return {
        "items": len(scored),
        "cer": rate(sum(s.char_edits for s in scored), sum(s.ref_chars for s in scored)),
        "wer": rate(sum(s.word_edits for s in scored), sum(s.ref_words for s in scored)),
        "bow_f1": float(np.mean([s.bow_f1 for s in scored])),
        "median_item_cer": float(np.median([s.cer for s in scored])),
    }
