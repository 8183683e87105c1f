"""Vetting a reference before it scores OCR."""

from __future__ import annotations

from pipeline.page.text_layer import assess
from pipeline.quality.items import Item
from pipeline.run.config import TextLayerConfig

TRUTH_MIN_PRINTABLE = 0.9  # below this share of printable characters a text layer is not a reference


def truth_problem(item: Item) -> str | None:
    """Why an item's reference cannot score OCR, or None.

    A born-digital PDF's text layer is the truth only when it is text: a font without a Unicode
    map gives a layer of control characters while the page shows plain words, so OCR that reads
    the page right would count as almost all wrong. The text-layer route's printable-share rule
    decides, at a lower bar: a page of formulas keeps a few private-use bracket pieces and its
    truth is still good.
    """
    if not item.path.lower().endswith(".pdf"):
        return None
    verdict = assess(item.truth, 0.0, TextLayerConfig(min_valid_ratio=TRUTH_MIN_PRINTABLE))
    if verdict.reason == "garbled_text_layer":
        return f"reference text layer garbled: {verdict.valid_ratio:.0%} of its characters printable"
    return None
