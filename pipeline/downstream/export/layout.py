"""A page row's layout as the interchange formats need it: blocks of lines of words, each with
the box and confidence the engine gave, and nothing the engine did not give.

Tesseract rows give paragraphs, lines and words with boxes; TrOCR rows give lines with boxes
and sub-word tokens without (a line is then its own word); LightOnOCR rows give blocks without
boxes; text-layer rows give blocks with boxes and their text. Tables are blocks of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in rendered pixels


@dataclass
class Word:
    text: str
    box: Box | None
    confidence: float | None


@dataclass
class Line:
    text: str
    box: Box | None
    confidence: float | None
    words: list[Word] = field(default_factory=list)

    @property
    def angle(self) -> int:
        """Counter-clockwise angle of the baseline: 0, or 90 / 270 for text running up / down a
        page that is on its side (the engine read it in place; its boxes are tall and narrow)."""
        if self.box is None or len(self.text.strip()) < 2:
            return 0
        width, height = self.box[2] - self.box[0], self.box[3] - self.box[1]
        if height < 1.5 * width:
            return 0
        tops = [w.box[1] for w in self.words if w.box]
        return 90 if len(tops) > 1 and tops[-1] < tops[0] else 270


@dataclass
class Block:
    kind: str  # paragraph | heading | table | list_item | code | math | html
    box: Box | None
    confidence: float | None
    lines: list[Line] = field(default_factory=list)


def _box(value: Any) -> Box | None:
    return tuple(float(v) for v in value) if value else None  # type: ignore[return-value]


def _inside(word: Box, line: Box) -> bool:
    cx, cy = (word[0] + word[2]) / 2, (word[1] + word[3]) / 2
    return line[0] - 1 <= cx <= line[2] + 1 and line[1] - 1 <= cy <= line[3] + 1


def _union(boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def page_blocks(row: dict[str, Any]) -> list[Block]:
    """The row's blocks in reading order, with lines, and words where the engine boxed them."""
    blocks: list[Block] = []
    for raw in row.get("blocks") or []:
        kind, box, text, conf = raw["kind"], _box(raw.get("bbox")), raw.get("text") or "", raw.get("confidence")
        if kind == "line":
            if not blocks or blocks[-1].kind not in ("paragraph", "heading") or blocks[-1].box is None:
                blocks.append(Block("paragraph", box, conf))
            blocks[-1].lines.append(Line(text, box, conf))
        elif kind == "table_row":
            if not blocks or blocks[-1].kind != "table":
                blocks.append(Block("table", None, None))
            blocks[-1].lines.append(Line(text.replace("\t", "  "), box, conf))
        else:
            block = Block(kind, box, conf)
            blocks.append(block)
            if not any(b["kind"] == "line" for b in row.get("blocks") or []):
                # no line blocks (text layer, LightOnOCR): the block's text lines, boxed only as the block
                block.lines = [Line(t, None, conf) for t in text.split("\n") if t.strip()]
    for block in blocks:
        if block.kind == "table":
            block.box = _union([ln.box for ln in block.lines if ln.box])
    _attach_words(blocks, row.get("tokens") or [])
    return [b for b in blocks if b.lines]


def _attach_words(blocks: list[Block], tokens: list[dict]) -> None:
    """Each boxed word token goes to exactly one line: the boxed line that holds its centre and
    overlaps it most (skewed lines overlap). Where the engine boxed no words (TrOCR), a boxed
    line is one word; where it did, a line that got no word is dropped (its words are elsewhere)."""
    words = [Word(t["text"], _box(t.get("bbox")), t.get("confidence")) for t in tokens if t.get("bbox") and t["text"].strip()]
    lines = [ln for b in blocks for ln in b.lines if ln.box is not None]
    if not words:
        for line in lines:
            if line.text.strip():
                line.words = [Word(line.text, line.box, line.confidence)]
        return
    for word in words:
        holders = [ln for ln in lines if _inside(word.box, ln.box)]  # type: ignore[arg-type]
        if not holders:
            holders = lines
        best = max(holders, key=lambda ln: _overlap(word.box, ln.box) - 1e-6 * _distance(word.box, ln.box))  # type: ignore[arg-type]
        best.words.append(word)
    for block in blocks:
        block.lines = [ln for ln in block.lines if ln.box is None or ln.words]


def _overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[3], b[3]) - max(a[1], b[1])) * max(0.0, min(a[2], b[2]) - max(a[0], b[0]))


def _distance(a: Box, b: Box) -> float:
    return abs((a[1] + a[3]) - (b[1] + b[3])) + abs((a[0] + a[2]) - (b[0] + b[2]))
