"""Where training lines come from. Each source lists its lines as small references (text and
where the pixels are); pixels are read only inside the Ray Data stream (`stream.py`).

A reference is a dict: source, doc (the document or writer the line belongs to: validation is
held apart by it), text, uri (an image or a document), box (x0, y0, x1, y1 in that image's
pixels, or None for the whole image), rotation (degrees counter-clockwise to deskew), page
(1-based page of a document; 0 for an image) and exif (True when the box is in the
EXIF-oriented image).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

LineRef = dict[str, Any]


def line_ref(source: str, doc: str, text: str, uri: str, box: list[float] | None = None, rotation: float = 0.0,
             page: int = 0, exif: bool = False) -> LineRef:
    return {"source": source, "doc": doc, "text": text, "uri": uri, "box": [float(v) for v in box] if box else None,
            "rotation": float(rotation), "page": int(page), "exif": bool(exif)}


@dataclass
class Skipped:
    """Lines or files left out, by reason, with a few examples each: the training log's account."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, example: str, n: int = 1) -> None:
        self.counts[reason] += n
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 5:
            shown.append(example)

    def merge(self, other: "Skipped") -> None:
        for reason, n in other.counts.items():
            self.counts[reason] += n
        for reason, shown in other.examples.items():
            for example in shown:
                mine = self.examples.setdefault(reason, [])
                if len(mine) < 5:
                    mine.append(example)

    def as_dict(self) -> dict[str, Any]:
        return {reason: {"count": n, "examples": self.examples.get(reason, [])} for reason, n in sorted(self.counts.items())}
