"""Model Markdown to the page record: plain reading-order text, blocks with confidences, tables.

Works on (token pieces, token probabilities), not on a model object, so any generator that
returns per-token log-probabilities (transformers' generate, or a vLLM server through
ray.data.llm) is finished the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pipeline.records import Block, Token
from pipeline.tables import find_tables

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*)$")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")


def plain_line(line: str) -> str:
    line = _HEADING.sub(lambda m: m.group(2), line)
    line = _LIST.sub("", line)
    line = _IMAGE.sub(lambda m: m.group(1), line)
    line = _LINK.sub(lambda m: m.group(1), line)
    line = _EMPHASIS.sub(lambda m: m.group(2), line)
    return _TAG.sub("", line).strip()


@dataclass
class Segment:
    kind: str  # heading | paragraph | list_item | table_row
    start: int
    end: int
    text: str


def segments(markdown: str) -> tuple[list[Segment], list[list[list[str]]]]:
    """Blocks of the Markdown with their character spans, and its tables as rows of cells."""
    tables = find_tables(markdown)
    out: list[Segment] = []
    for table in tables:
        # one block per row; spans are approximate within the table (rows in order)
        step = max(1, (table.end - table.start) // max(1, len(table.rows)))
        for i, row in enumerate(table.rows):
            out.append(Segment("table_row", table.start + i * step, min(table.end, table.start + (i + 1) * step), "\t".join(row)))
    covered = [(t.start, t.end) for t in tables]
    pos = 0
    for chunk in re.split(r"(\n\s*\n)", markdown):
        start, end = pos, pos + len(chunk)
        pos = end
        if not chunk.strip() or any(a <= start < b for a, b in covered):
            continue
        lines = [ln for ln in chunk.splitlines() if ln.strip()]
        if all(_LIST.match(ln) for ln in lines):
            offset = start
            for ln in lines:
                idx = markdown.find(ln, offset)
                out.append(Segment("list_item", idx, idx + len(ln), plain_line(ln)))
                offset = idx + len(ln)
            continue
        kind = "heading" if len(lines) == 1 and _HEADING.match(lines[0]) else "paragraph"
        out.append(Segment(kind, start, end, " ".join(plain_line(ln) for ln in lines)))
    out.sort(key=lambda s: s.start)
    return out, [t.rows for t in tables]


def to_text(markdown: str) -> str:
    """Reading-order plain text: Markdown syntax and HTML tags removed, table cells tab-separated."""
    segs, _ = segments(markdown)
    parts: list[str] = []
    for seg in segs:
        if seg.kind == "table_row" and parts and parts[-1].count("\t") and not parts[-1].endswith("\n\n"):
            parts[-1] += "\n" + seg.text
        else:
            parts.append(seg.text)
    return "\n\n".join(p for p in parts if p)


def token_spans(pieces: list[str], text_length: int) -> list[tuple[int, int]]:
    """Character span of each token in the decoded text (scaled when piece-wise decoding of
    multi-byte characters makes the concatenation differ in length)."""
    spans, pos = [], 0
    total = sum(len(p) for p in pieces) or 1
    scale = text_length / total
    for piece in pieces:
        start = pos
        pos += len(piece)
        spans.append((int(start * scale), int(pos * scale)))
    return spans


def blocks_with_confidence(markdown: str, tokens: list[Token]) -> tuple[list[Block], list[list[list[str]]]]:
    segs, tables = segments(markdown)
    spans = token_spans([t.text for t in tokens], len(markdown))
    probs = np.array([t.confidence for t in tokens], dtype=np.float64)
    blocks = []
    for seg in segs:
        inside = [i for i, (a, b) in enumerate(spans) if a < seg.end and b > seg.start]
        conf = float(probs[inside].mean()) if inside else None
        blocks.append(Block(kind=seg.kind, bbox=None, text=seg.text, confidence=conf))
    return blocks, tables
