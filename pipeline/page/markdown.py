"""Model Markdown to the page record: plain reading-order text, blocks with confidences, tables.

Parsed with markdown-it-py (CommonMark, pipe tables, and $...$ / $$...$$ math), whose block
tokens carry their source line ranges: a block's confidence is that of the model tokens that
wrote those lines. Works on (token pieces, token probabilities), not on a model object, so any
generator that returns per-token log-probabilities (transformers' generate, or a vLLM server
through ray.data.llm) is finished the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.token import Token as MdToken

from pipeline.page.scoring import span_confidence
from pipeline.page.tables import parse_html_table
from pipeline.run.records import Block, Token

_BREAKS = {"softbreak": " ", "hardbreak": "\n"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    return MarkdownIt("commonmark").enable("table").use(dollarmath_plugin)


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "\n".join(" ".join(line.split()) for line in "".join(parser.parts).split("\n"))


def inline_text(token: MdToken) -> str:
    """The words of an inline token: emphasis, links and code marks dropped, escapes resolved,
    images by their alt text, inline math by its source."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "math_inline", "image"):
            parts.append(child.content)
        elif child.type in _BREAKS:
            parts.append(_BREAKS[child.type])
        elif child.type == "html_inline":
            parts.append(html_text(child.content))
    return "".join(parts).strip()


@dataclass
class Segment:
    kind: str  # heading | paragraph | list_item | table_row | code | math | html
    lines: tuple[int, int]  # source lines [start, end)
    text: str


@dataclass
class ParsedMarkdown:
    segments: list[Segment]
    tables: list[list[list[str]]]  # each table as rows of cells, in document order


def parse(markdown: str) -> ParsedMarkdown:
    segments: list[Segment] = []
    tables: list[list[list[str]]] = []
    context: list[str] = []  # open block tokens around the current one
    row: list[str] | None = None
    row_lines = (0, 0)
    for tok in _parser().parse(markdown):
        if tok.nesting == 1:
            context.append(tok.type)
            if tok.type == "table_open":
                tables.append([])
            elif tok.type == "tr_open":
                row, row_lines = [], tuple(tok.map or (0, 0))
        elif tok.nesting == -1:
            context.pop()
            if tok.type == "tr_close" and row is not None:
                tables[-1].append(row)
                segments.append(Segment("table_row", row_lines, "\t".join(row)))
                row = None
        elif tok.type == "inline":
            text = inline_text(tok)
            if row is not None:
                row.append(text)
            elif text:
                kind = "heading" if "heading_open" in context else "list_item" if "list_item_open" in context else "paragraph"
                segments.append(Segment(kind, tuple(tok.map), text))
        elif tok.type in ("fence", "code_block", "math_block", "math_block_label"):
            if tok.content.strip():
                segments.append(Segment("math" if tok.type.startswith("math") else "code", tuple(tok.map), tok.content.strip("\n")))
        elif tok.type == "html_block":
            rows = parse_html_table(tok.content) if "<table" in tok.content.lower() else []
            if rows:
                tables.append(rows)
                segments.extend(Segment("table_row", tuple(tok.map), "\t".join(r)) for r in rows)
            elif text := html_text(tok.content).strip():
                segments.append(Segment("html", tuple(tok.map), text))
    return ParsedMarkdown(segments, [t for t in tables if t])


def to_text(markdown: str) -> str:
    """Reading-order plain text: blocks separated by a blank line, a table's rows by a newline
    and its cells by a tab."""
    parts: list[str] = []
    previous = None
    for seg in parse(markdown).segments:
        if seg.kind == "table_row" and previous == "table_row":
            parts[-1] += "\n" + seg.text
        else:
            parts.append(seg.text)
        previous = seg.kind
    return "\n\n".join(p for p in parts if p)


def token_spans(pieces: list[str]) -> list[tuple[int, int]]:
    """Character span of each token in "".join(pieces); a token that only starts a character
    (empty piece) shares the span of the token that completes it."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for piece in pieces:
        spans.append((pos, pos + len(piece)))
        pos += len(piece)
    following = (pos, pos)
    for i in range(len(spans) - 1, -1, -1):
        if spans[i][0] == spans[i][1]:
            spans[i] = following
        else:
            following = spans[i]
    return spans


def blocks_with_confidence(markdown: str, tokens: list[Token]) -> tuple[list[Block], list[list[list[str]]]]:
    """Blocks of the Markdown that `tokens` wrote ("".join of their texts is `markdown`), each
    with the confidence of the tokens inside its source lines; and the tables."""
    parsed = parse(markdown)
    line_starts = [0] + [i + 1 for i, ch in enumerate(markdown) if ch == "\n"]
    spans = token_spans([t.text for t in tokens])
    blocks = []
    for seg in parsed.segments:
        begin = line_starts[min(seg.lines[0], len(line_starts) - 1)]
        end = line_starts[seg.lines[1]] if seg.lines[1] < len(line_starts) else len(markdown)
        inside = [tok for tok, (a, b) in zip(tokens, spans) if a < end and b > begin]
        blocks.append(Block(kind=seg.kind, bbox=None, text=seg.text, confidence=span_confidence(inside)))
    return blocks, parsed.tables
