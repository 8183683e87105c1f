"""Text-line segmentation by a trained text detector: PP-OCR's DB detector (ONNX weights inside
the `rapidocr` wheel), for pages Tesseract's layout analysis, tuned for print, does not cut into
lines (handwriting: slanted, touching, uneven baselines).

The detector gives line pieces with no order; `reading_order` puts them in rows, top to bottom,
pieces of one row left to right (close pieces joined into one line), and starts a paragraph at
a wide vertical gap.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipeline.page.assembly import Line, Paragraph, Region

# pixels: RapidOCR scales an image down to this longest side before it detects (its
# Global.max_side_len, set to this in engines/rapidocr.ppocr)
SEEN_MAX_SIDE = 2000


@dataclass(frozen=True)
class OrderRules:
    # share of the smaller height two pieces overlap to be one row: slanted handwritten lines
    # overlap their neighbours by half and more
    row_overlap: float = 0.7
    join_gap: float = 2.5  # line heights: pieces of one row closer than this are one line
    paragraph_gap: float = 1.2  # line heights of empty space that start a new paragraph
    # of the line height, added around each crop; negative: taken off. The detector's boxes are
    # grown around their text (DB's unclip) and reach into the lines above and below, whose
    # strokes the reader then reads
    margin: float = -0.1
    min_size: int = 6  # pixels: smaller boxes are specks


def reading_order(boxes: list[list[float]], width: int, height: int, rules: OrderRules = OrderRules()) -> tuple[list[Region], int]:
    """One text region of paragraphs of (empty) lines, in reading order, and the boxes skipped."""
    kept = [b for b in boxes if b[2] - b[0] >= rules.min_size and b[3] - b[1] >= rules.min_size]
    skipped = len(boxes) - len(kept)
    if not kept:
        return [], skipped
    rows: list[list[list[float]]] = []
    for box in sorted(kept, key=lambda b: (b[1] + b[3]) / 2):
        row = rows[-1] if rows else None
        if row is not None:
            top, bottom = min(b[1] for b in row), max(b[3] for b in row)
            overlap = min(bottom, box[3]) - max(top, box[1])
            if overlap >= rules.row_overlap * min(bottom - top, box[3] - box[1]):
                row.append(box)
                continue
        rows.append([box])
    body = statistics.median(b[3] - b[1] for b in kept)
    region = Region(kind="text")
    previous_bottom = None
    for row in rows:
        pieces = sorted(row, key=lambda b: b[0])
        joined: list[list[float]] = [list(pieces[0])]
        for box in pieces[1:]:
            if box[0] - joined[-1][2] < rules.join_gap * body:
                last = joined[-1]
                joined[-1] = [min(last[0], box[0]), min(last[1], box[1]), max(last[2], box[2]), max(last[3], box[3])]
            else:
                joined.append(list(box))
        top = min(b[1] for b in joined)
        if previous_bottom is None or top - previous_bottom > rules.paragraph_gap * body or not region.paragraphs:
            region.paragraphs.append(Paragraph())
        previous_bottom = max(b[3] for b in joined)
        for x0, y0, x1, y1 in joined:
            pad = max(rules.margin * (y1 - y0), -0.25 * min(x1 - x0, y1 - y0))  # a box shrinks, never inverts
            crop = [max(0.0, x0 - pad), max(0.0, y0 - pad), min(float(width), x1 + pad), min(float(height), y1 + pad)]
            region.paragraphs[-1].lines.append(Line(bbox=[float(round(v)) for v in crop], tokens=[]))
    return [region], skipped


class DetectedLineSegmenter:
    """PP-OCR's text detector, one per actor; the same interface as page.segment.LineSegmenter."""

    def __init__(self, rapidocr_model: str | None = None) -> None:
        from pipeline.engines.rapidocr import ppocr

        self._ocr = ppocr(rapidocr_model)  # the same sessions the rapidocr engine reads with, loaded once

    def segment(self, pixels: np.ndarray, dpi: float) -> tuple[list[Region], int]:
        return self.segment_rows(pixels, 0, pixels.shape[0], dpi)

    def segment_rows(self, pixels: np.ndarray, top: int, bottom: int, dpi: float) -> tuple[list[Region], int]:
        """The lines in rows top..bottom of a page, in page pixels, detected at the scale the
        whole page is seen at: a band of a page would otherwise be seen larger than on its page,
        and the detector cuts handwriting differently there, and worse. The scaling is done here,
        with smoothing: RapidOCR's plain bilinear resize skips pixels at this scale, and thin
        strokes with them."""
        scale = min(1.0, SEEN_MAX_SIDE / max(pixels.shape[:2]))
        band = pixels[top:bottom]
        if scale < 1.0:
            size = (max(1, round(band.shape[1] * scale)), max(1, round(band.shape[0] * scale)))
            band = np.asarray(Image.fromarray(band).resize(size, Image.Resampling.BILINEAR))
        rgb = band if band.ndim == 3 else np.repeat(band[:, :, None], 3, axis=2)
        out = self._ocr(rgb, use_det=True, use_cls=False, use_rec=False)
        quads = out.boxes if out.boxes is not None else []
        boxes = [[float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())]
                 for q in (np.asarray(q) for q in quads)]
        regions, skipped = reading_order(boxes, rgb.shape[1], rgb.shape[0])
        width, height = float(pixels.shape[1]), float(bottom - top)  # crops stay in the rows it saw
        for line in (ln for r in regions for p in r.paragraphs for ln in p.lines):
            x0, y0, x1, y1 = (v / scale for v in line.bbox)
            line.bbox = [x0, y0 + top, min(width, x1), min(height, y1) + top]
        return regions, skipped
