"""Turn recognized lines, in reading order, into the page's text, Markdown and blocks.

Shared by the line-based engines (Tesseract, TrOCR): they supply regions of paragraphs of
lines with boxes and confidences; this module owns how a page reads as text.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from pipeline.page.scoring import span_confidence
from pipeline.run.records import Block, Token
from pipeline.page.tables import to_markdown_table


@dataclass
class Line:
    """A text line and the tokens that carry it: word engines' words (the text is their words
    joined), or a line engine's sub-word pieces with the text it decoded (`given_text`)."""

    bbox: list[float]
    tokens: list[Token]
    given_text: str | None = None
    engine: str | None = None  # set where engines are mixed on one page (--engine auto)

    @property
    def text(self) -> str:
        if self.given_text is not None:
            return self.given_text
        return " ".join(t.text for t in self.tokens).strip()

    @property
    def confidence(self) -> float | None:
        return span_confidence(self.tokens)

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]


@dataclass
class Paragraph:
    lines: list[Line] = field(default_factory=list)


@dataclass
class Region:
    kind: str  # "text" | "table"
    paragraphs: list[Paragraph] = field(default_factory=list)


def _engine_of(lines: list[Line]) -> str | None:
    engines = {ln.engine for ln in lines}
    return engines.pop() if len(engines) == 1 else "mixed"


def _union(boxes: list[list[float]]) -> list[float]:
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def join_lines(lines: list[str]) -> str:
    """Lines of one paragraph re-flowed into one, re-joining words hyphenated at a line end."""
    out = ""
    for line in lines:
        if not out:
            out = line
        elif out.endswith("-") and line[:1].islower():
            out = out[:-1] + line  # re-join a word hyphenated at the line end
        else:
            out += " " + line
    return out


def _table_rows(lines: list[Line]) -> list[list[str]]:
    """Cells of a table region: a line's words split where the horizontal gap is wide."""
    rows = []
    for line in lines:
        if not line.tokens or line.tokens[0].bbox is None:
            rows.append([line.text])
            continue
        gap_limit = 1.5 * max(line.height, 1.0)
        cells: list[list[str]] = [[line.tokens[0].text]]
        for prev, tok in zip(line.tokens, line.tokens[1:]):
            if tok.bbox[0] - prev.bbox[2] > gap_limit:
                cells.append([])
            cells[-1].append(tok.text)
        rows.append([" ".join(c) for c in cells])
    return rows


def assemble(regions: list[Region]) -> tuple[str, str, list[Block], list[list[list[str]]]]:
    """(text, markdown, blocks, tables) for regions already in reading order.

    text: lines as recognized, paragraphs separated by a blank line, so columns stay apart.
    markdown: paragraphs re-flowed, headings for short paragraphs set clearly larger than the
    body, table regions with several cells per row as Markdown tables.
    """
    heights = [ln.height for r in regions for p in r.paragraphs for ln in p.lines if ln.text]
    body = statistics.median(heights) if heights else 0.0
    text_parts: list[str] = []
    md_parts: list[str] = []
    blocks: list[Block] = []
    tables: list[list[list[str]]] = []
    for region in regions:
        lines_all = [ln for p in region.paragraphs for ln in p.lines if ln.text]
        if not lines_all:
            continue
        if region.kind == "table":
            rows = _table_rows(lines_all)
            if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                tables.append(rows)
                md_parts.append(to_markdown_table(rows))
                text_parts.append("\n".join("  ".join(r) for r in rows))
                for ln, row in zip(lines_all, rows):
                    blocks.append(Block("table_row", ln.bbox, "\t".join(row), ln.confidence, ln.engine))
                continue
        for para in region.paragraphs:
            lines = [ln for ln in para.lines if ln.text]
            if not lines:
                continue
            text_parts.append("\n".join(ln.text for ln in lines))
            flowed = join_lines([ln.text for ln in lines])
            tall = body > 0 and statistics.fmean(ln.height for ln in lines) >= 1.5 * body
            is_heading = tall and len(lines) <= 2 and len(flowed) < 120
            md_parts.append(("## " + flowed) if is_heading else flowed)
            blocks.append(
                Block(
                    "heading" if is_heading else "paragraph",
                    _union([ln.bbox for ln in lines]),
                    "\n".join(ln.text for ln in lines),
                    span_confidence([t for ln in lines for t in ln.tokens]),
                    _engine_of(lines),
                )
            )
            blocks.extend(Block("line", ln.bbox, ln.text, ln.confidence, ln.engine) for ln in lines)
    return "\n\n".join(text_parts), "\n\n".join(md_parts), blocks, tables
