"""Born-digital pages: read the PDF's own text layer and decide, by a measured rule, if it is good.

The rule (all must hold, thresholds in TextLayerConfig):
  1. at least `min_chars` visible characters;
  2. at least `min_valid_ratio` of them printable (not U+FFFD, not private-use, not control):
     broken font encodings (CID fonts without ToUnicode) fail here;
  3. if images cover more than `max_image_coverage` of the page, at least
     `min_chars_per_image_page` characters: a scan with a few stamped words is OCRed.
The verdict and its numbers are recorded in the row's flags.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import pymupdf

from pipeline.run.config import TextLayerConfig
from pipeline.page.assembly import join_lines
from pipeline.run.records import Block
from pipeline.page.tables import to_markdown_table


@dataclass
class TextLayerVerdict:
    good: bool
    reason: str
    chars: int
    valid_ratio: float
    image_coverage: float


@dataclass
class TextLayerPage:
    text: str
    markdown: str
    blocks: list[Block]
    tables: list[list[list[str]]]
    verdict: TextLayerVerdict
    flags: list[str] = field(default_factory=list)


def _valid_char(ch: str) -> bool:
    if ch == "\ufffd":
        return False
    category = unicodedata.category(ch)
    return category not in ("Co", "Cc", "Cs", "Cn")


def _image_coverage(page: pymupdf.Page) -> float:
    area = abs(page.rect)
    if area <= 0:
        return 0.0
    covered = 0.0
    for info in page.get_image_info():
        rect = pymupdf.Rect(info["bbox"]) & page.rect
        covered += abs(rect)
    return min(covered / area, 1.0)


def assess(text: str, image_coverage: float, cfg: TextLayerConfig) -> TextLayerVerdict:
    """Apply the rule in this module's docstring to a page's extracted text."""
    visible = [ch for ch in text if not ch.isspace()]
    chars = len(visible)
    valid_ratio = sum(_valid_char(ch) for ch in visible) / chars if chars else 0.0
    if chars < cfg.min_chars:
        return TextLayerVerdict(False, "no_text_layer", chars, valid_ratio, image_coverage)
    if valid_ratio < cfg.min_valid_ratio:
        return TextLayerVerdict(False, "garbled_text_layer", chars, valid_ratio, image_coverage)
    if image_coverage > cfg.max_image_coverage and chars < cfg.min_chars_per_image_page:
        return TextLayerVerdict(False, "image_page_sparse_text", chars, valid_ratio, image_coverage)
    return TextLayerVerdict(True, "good_text_layer", chars, valid_ratio, image_coverage)


def has_good_text_layer(page: pymupdf.Page, cfg: TextLayerConfig) -> bool:
    """The rule alone, without layout or tables: for guessing a document's route cheaply."""
    return assess(page.get_text("text"), _image_coverage(page), cfg).good


def _drop_empty_columns(raw: list[list[str | None]]) -> list[list[str]]:
    """Drop columns with no text in any row: PyMuPDF's spanned-cell markers (None) and split edges."""
    width = max((len(r) for r in raw), default=0)
    keep = [c for c in range(width) if any(c < len(r) and (r[c] or "").strip() for r in raw)]
    return [[(r[c] if c < len(r) and r[c] is not None else "") for c in keep] for r in raw]


def extract(page: pymupdf.Page, scale: float, cfg: TextLayerConfig, find_tables: bool = True) -> TextLayerPage:
    """Text, blocks (in pixel coordinates at `scale` = dpi/72), Markdown and tables of a page."""
    text = page.get_text("text")
    verdict = assess(text, _image_coverage(page), cfg)
    layout = page.get_text("dict", flags=pymupdf.TEXTFLAGS_TEXT)
    sizes = [span["size"] for b in layout["blocks"] for line in b.get("lines", []) for span in line["spans"] if span["text"].strip()]
    body_size = sorted(sizes)[len(sizes) // 2] if sizes else 0.0

    tables: list[list[list[str]]] = []
    table_rects: list[pymupdf.Rect] = []
    # find_tables' default strategy builds tables from vector lines: on a page without any
    # drawing it cannot find one, and skipping it saves most of a prose page's time.
    if find_tables and verdict.good and len(page.get_cdrawings()) >= 2:
        try:
            for table in page.find_tables().tables:
                rows = _drop_empty_columns(table.extract())
                if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                    tables.append(rows)
                    table_rects.append(pymupdf.Rect(table.bbox))
        except Exception:  # table detection is a bonus; never lose the page over it
            tables, table_rects = [], []

    blocks: list[Block] = []
    md_parts: list[tuple[float, str]] = []
    for b in layout["blocks"]:
        lines = [" ".join(s["text"] for s in line["spans"]).strip() for line in b.get("lines", [])]
        lines = [line for line in lines if line]
        if not lines:
            continue
        rect = pymupdf.Rect(b["bbox"])
        if any(rect.intersects(t) and abs(rect & t) > 0.5 * abs(rect) for t in table_rects):
            continue
        block_sizes = [s["size"] for line in b.get("lines", []) for s in line["spans"] if s["text"].strip()]
        size = max(block_sizes) if block_sizes else body_size
        body = " ".join(lines)
        is_heading = body_size > 0 and size >= 1.25 * body_size and len(body) < 200 and len(lines) <= 3
        kind = "heading" if is_heading else "paragraph"
        blocks.append(Block(kind=kind, bbox=_scaled(rect, scale), text="\n".join(lines), confidence=1.0))
        md_parts.append((rect.y0, ("## " + body) if is_heading else join_lines(lines)))
    for rows, rect in zip(tables, table_rects):
        blocks.append(Block(kind="table", bbox=_scaled(rect, scale), text="\n".join("\t".join(r) for r in rows), confidence=1.0))
        md_parts.append((rect.y0, to_markdown_table(rows)))
    # keep the producer's order for text blocks; tables slot in by their top edge
    markdown = "\n\n".join(part for _, part in _merge_tables(md_parts, len(tables)))
    return TextLayerPage(text=text.strip(), markdown=markdown, blocks=blocks, tables=tables, verdict=verdict)


def _merge_tables(parts: list[tuple[float, str]], n_tables: int) -> list[tuple[float, str]]:
    if not n_tables:
        return parts
    text_parts, table_parts = parts[: len(parts) - n_tables], parts[len(parts) - n_tables :]
    out = list(text_parts)
    for y, md in table_parts:
        pos = next((i for i, (ty, _) in enumerate(out) if ty > y), len(out))
        out.insert(pos, (y, md))
    return out


def _scaled(rect: pymupdf.Rect, scale: float) -> list[float]:
    return [rect.x0 * scale, rect.y0 * scale, rect.x1 * scale, rect.y1 * scale]
