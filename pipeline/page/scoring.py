"""Page confidence in [0, 1] and the review decision, the same meaning for every engine.

The raw page score combines more than the mean token confidence, because a page can be
wrong in ways single tokens do not show: many weak tokens, and garbage tokens (no letters
or digits, a mess of symbols) that the recognizer reads off noise.

    score = clip(mean - 0.5 * low_share - 0.5 * garbage_share, 0, 1)

mean: character-weighted mean token probability; low_share: share of tokens under 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.run.records import Token

WRITING_NOT_READ = "writing_not_read"  # engine auto: writing-sized ink in no line of the reading, which no token score shows
READ_BY_VLM = "read_by_vlm"  # engine auto: a table page read by its --vlm-model, whose score no shipped fit has seen
# Flags that send a page to a person whatever its score. Others are informational.
REVIEW_FLAGS = frozenset(
    {
        "empty",  # ink on the page, no text out
        WRITING_NOT_READ,
        "downscaled_pixel_cap",
        "repetition",
        "max_new_tokens",
    }
)


@dataclass
class ConfidenceStats:
    mean: float | None
    p10: float | None
    low_share: float | None
    count: int

    def as_dict(self) -> dict:
        return {"mean": self.mean, "p10": self.p10, "low_share": self.low_share, "count": self.count}


def _is_garbage(text: str) -> bool:
    if not text:
        return True
    alnum = sum(ch.isalnum() for ch in text)
    return alnum == 0 or (len(text) >= 4 and alnum / len(text) < 0.5)


def token_stats(tokens: list[Token]) -> ConfidenceStats:
    if not tokens:
        return ConfidenceStats(None, None, None, 0)
    probs = np.array([t.confidence for t in tokens], dtype=np.float64)
    return ConfidenceStats(
        mean=float(probs.mean()),
        p10=float(np.quantile(probs, 0.10)),
        low_share=float((probs < 0.5).mean()),
        count=len(tokens),
    )


def span_confidence(tokens: list[Token]) -> float | None:
    """A line's or block's score, for every engine: the mean probability of the tokens that
    carry its text (end-of-sequence and special tokens are not among them; see
    pipeline.engines.decoding). None for a span without tokens."""
    if not tokens:
        return None
    return float(np.mean([t.confidence for t in tokens]))


def page_score(tokens: list[Token], words: list[str] | None = None) -> float | None:
    """The raw page score described in the module docstring; None when there are no tokens.

    `words`: the page's words, for engines whose tokens are sub-word pieces (the garbage share
    is a property of words); by default the tokens themselves.
    """
    if not tokens:
        return None
    probs = np.array([t.confidence for t in tokens], dtype=np.float64)
    weights = np.array([max(len(t.text), 1) for t in tokens], dtype=np.float64)
    mean = float((probs * weights).sum() / weights.sum())
    low_share = float((probs < 0.5).mean())
    pieces = words if words is not None else [t.text for t in tokens]
    garbage = float(np.mean([_is_garbage(w) for w in pieces])) if pieces else 0.0
    return float(np.clip(mean - 0.5 * low_share - 0.5 * garbage, 0.0, 1.0))


def needs_review(status: str, confidence: float | None, flags: list[str], threshold: float) -> bool:
    if status == "error":
        return True
    if status != "ok":
        return False
    if any(f in REVIEW_FLAGS for f in flags):
        return True
    return confidence is not None and confidence < threshold


def ink_ratio(pixels: np.ndarray) -> float:
    """Share of dark pixels, on a subsample of about 250,000 pixels: tells a blank page from one
    the engine missed. The step follows the image's size, so an 8x8 digit is read whole."""
    step = max(1, int((pixels.shape[0] * pixels.shape[1] / 250_000) ** 0.5))
    sample = pixels[::step, ::step]
    sample = sample if sample.ndim == 2 else sample.mean(axis=2)
    return float((sample < 128).mean()) if sample.size else 0.0
