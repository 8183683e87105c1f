"""The page path of every line-reading engine (TrOCR, RapidOCR's recognizer): segment the page
into lines, read the line crops of all pages of a call together, put each line's reading back
in its page's reading order, assemble the page.

A line engine supplies `read_lines(crops)`; everything else about a page is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from PIL import Image

from pipeline.engines.base import EngineLoadError, PageImage
from pipeline.page.assembly import Line, Region, assemble
from pipeline.page.scoring import page_score
from pipeline.page.segment import LineSegmenter, segmenter_problem, whole_image_line
from pipeline.run.config import EngineConfig
from pipeline.run.records import Recognition, Token


@dataclass
class LineResult:
    text: str
    tokens: list[Token]
    confidence: float | None
    hit_max_tokens: bool = False
    embedding: list[float] | None = None


@dataclass
class _PageWork:
    regions: list[Region]
    skipped: int
    lines: list[Line] = field(default_factory=list)


def preflight_segmenter(cfg: EngineConfig) -> None:
    """One clear error before any page is read when the config's segmenter cannot run here."""
    problem = segmenter_problem(cfg.segmenter)
    if problem is not None:
        raise EngineLoadError(problem)


def on_page(token: Token, line_box: list[float]) -> Token:
    """A token boxed in its line crop's pixels, boxed on the page."""
    if token.bbox is None:
        return token
    x, y = line_box[0], line_box[1]
    b = token.bbox
    return Token(text=token.text, confidence=token.confidence, bbox=[b[0] + x, b[1] + y, b[2] + x, b[3] + y])


class LinePageEngine:
    """Base of the engines that read one text line at a time."""

    token_unit: ClassVar[str] = "subword"
    segmenter: LineSegmenter

    def read_lines(self, crops: list[Image.Image]) -> list[LineResult]:
        """One result per crop, in order; token boxes, where given, in the crop's pixels."""
        raise NotImplementedError

    def print_reader(self) -> "LinePageEngine":
        """The reader for lines found as print (a line Tesseract read weakly): this engine,
        unless it holds readers tuned to hands, which add nothing on print."""
        return self

    def recognize(self, pages: list[PageImage]) -> list[Recognition]:
        work: list[_PageWork] = []
        crops: list[Image.Image] = []
        owners: list[tuple[int, Line]] = []
        for index, page in enumerate(pages):
            regions, skipped = self.segmenter.segment(page.pixels, page.dpi)
            regions = regions or whole_image_line(page.pixels)
            item = _PageWork(regions=regions, skipped=skipped)
            image = Image.fromarray(page.pixels).convert("RGB")
            for region in regions:
                for para in region.paragraphs:
                    for line in para.lines:
                        crops.append(image.crop(tuple(int(v) for v in line.bbox)))
                        owners.append((index, line))
                        item.lines.append(line)
            work.append(item)
        line_results = self.read_lines(crops) if crops else []
        per_page_tokens: list[list[Token]] = [[] for _ in pages]
        per_page_flags: list[set[str]] = [set() for _ in pages]
        per_page_embeddings: list[list[list[float]]] = [[] for _ in pages]
        for (index, line), result in zip(owners, line_results):
            line.given_text = result.text
            line.tokens = [on_page(t, line.bbox) for t in result.tokens]
            per_page_tokens[index].extend(line.tokens)
            if result.hit_max_tokens:
                per_page_flags[index].add("max_new_tokens")
            if result.embedding is not None:
                per_page_embeddings[index].append(result.embedding)
        out = []
        for index, item in enumerate(work):
            text, markdown, blocks, tables = assemble(item.regions)
            flags = sorted(per_page_flags[index])
            if item.skipped:
                flags.append("lines_skipped")
            if not item.lines:
                flags.append("no_lines")
            rec = Recognition(
                text=text,
                markdown=markdown,
                blocks=blocks,
                tokens=per_page_tokens[index],
                token_unit=self.token_unit,
                tables=tables,
                confidence=page_score(per_page_tokens[index], words=text.split()),
                flags=flags,
            )
            if per_page_embeddings[index]:
                rec.embedding = np.mean(np.array(per_page_embeddings[index]), axis=0).tolist()
                rec.line_embeddings = per_page_embeddings[index]
            out.append(rec)
        return out
