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
    """Boxed word tokens go to the line that holds them; a boxed line without word boxes is one word."""
    words = [Word(t["text"], _box(t.get("bbox")), t.get("confidence")) for t in tokens if t.get("bbox") and t["text"].strip()]
    lines = [ln for b in blocks for ln in b.lines if ln.box is not None]
    start = 0
    for line in lines:
        taken = []
        for i in range(start, len(words)):
            if _inside(words[i].box, line.box):  # type: ignore[arg-type]
                taken.append(i)
            elif taken:
                break
        if taken:
            line.words = [words[i] for i in taken]
            start = taken[-1] + 1
    for line in lines:
        if not line.words and line.text.strip():
            line.words = [Word(line.text, line.box, line.confidence)]
