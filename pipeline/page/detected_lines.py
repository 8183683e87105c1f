"""Text-line segmentation by a trained text detector: PP-OCR's DB detector (ONNX weights inside
the `rapidocr` wheel), for pages Tesseract's layout analysis, tuned for print, does not cut into
lines (handwriting: slanted, touching, uneven baselines).

The detector gives line pieces with no order; `reading_order` puts them in rows, top to bottom,
pieces of one row left to right (close pieces joined into one line), and starts a paragraph at
a wide vertical gap. A page in columns (an upright white channel between runs of text, which
only a title or a centred heading crosses) is read column by column, in bands between the
pieces that cross; a piece the detector drew across a channel is cut at it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipeline.page.assembly import Line, Paragraph, Region
from pipeline.page.grain import grainy, ink
from pipeline.page.text_size import character_height, grey_of

# pixels: RapidOCR scales an image down to this longest side before it detects (its
# Global.max_side_len, set to this in engines/rapidocr.ppocr)
SEEN_MAX_SIDE = 2000
# px: a page of large print (characters twice this height or more: print at 300 DPI) is seen
# smaller still, its characters at this height. The detector's time grows with the pixels it sees,
# and it finds print as well at this size; smaller text, hands at 150 DPI among it, is seen as it
# is, where the detector's cut of a hand moved with the scale (docs/mixed_archives.md)
SEEN_CHARACTER = 10.0
# px: never scaled under this shortest side, PP-OCR's own size for its detector: a line's image
# (an IAM line, 120 px high) is seen as it is
SEEN_MIN_SHORT_SIDE = 736


def detector_scale(pixels: np.ndarray) -> float:
    """The factor the detector sees a page scaled by: down to SEEN_MAX_SIDE, and further where its
    print is large. A grainy page's characters cannot be measured (its grain is not text)."""
    short, side = sorted(pixels.shape[:2])
    scale = min(1.0, SEEN_MAX_SIDE / side)
    grey = grey_of(pixels)
    height = None if grainy(grey) else character_height(grey)[0]
    if height and height >= 2 * SEEN_CHARACTER:
        scale = min(scale, max(SEEN_CHARACTER / height, SEEN_MIN_SHORT_SIDE / short))
    return scale


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
    # columns: an upright white channel at least `gutter` line heights wide, holding under
    # `crossing` of the ink of the page's usual pixel column (a title or a centred heading may
    # cross it; a line of text across it would not leave it white), between columns at least
    # `column_width` of the text's width (a margin note is narrower) of `column_pieces` pieces each
    gutter: float = 0.75
    crossing: float = 0.25
    column_width: float = 0.25
    column_pieces: int = 3


def gutters(ink: np.ndarray, kept: list[list[float]], body: float, rules: OrderRules) -> list[tuple[int, int]]:
    """The x ranges of white channels between columns of text, in the ink mask's pixels."""
    left, right = int(min(b[0] for b in kept)), int(max(b[2] for b in kept))
    profile = ink[:, left:right].sum(axis=0)
    inked = profile[profile > 0]
    if not inked.size:
        return []
    free = profile <= rules.crossing * float(np.median(inked))
    found, start = [], None
    for x, is_free in enumerate(np.append(free, False)):
        if is_free and start is None:
            start = x
        elif not is_free and start is not None:
            if start > 0 and x < len(free) and x - start >= rules.gutter * body:  # inside the text, not its edge
                found.append((start + left, x + left))
            start = None
    return found


def _split(box: list[float], channels: list[tuple[int, int]], ink: np.ndarray, min_size: int) -> list[list[float]]:
    """A piece the detector drew across white channels (lines of two columns at one height) cut
    at them; one with ink in a channel (a title) is kept whole."""
    x0, y0, x1, y1 = box
    crossed = [(g0, g1) for g0, g1 in channels if x0 < g0 and x1 > g1]
    if not crossed or any(ink[int(y0):int(y1) + 1, g0:g1].any() for g0, g1 in crossed):
        return [box]
    edges = [x0] + [float(g) for pair in crossed for g in pair] + [x1]
    return [[a, y0, b, y1] for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_size]


def _columns(kept: list[list[float]], channels: list[tuple[int, int]], rules: OrderRules) -> list[list[list[float]]]:
    """The pieces in groups read one after the other: on a page in columns, each band between
    the pieces that cross the channels (a title), then each column of that band left to right;
    else one group, the whole page, read in rows."""
    if not channels:
        return [kept]
    left, right = min(b[0] for b in kept), max(b[2] for b in kept)
    crossing = [b for b in kept if any(b[0] < g0 and b[2] > g1 for g0, g1 in channels)]
    edges = [left] + [float(g) for pair in channels for g in pair] + [right]
    spans = list(zip(edges[::2], edges[1::2]))  # each column's x range
    columns = [[b for b in kept if b not in crossing and x0 <= (b[0] + b[2]) / 2 <= x1] for x0, x1 in spans]
    if any(len(c) < rules.column_pieces for c in columns) or any(x1 - x0 < rules.column_width * (right - left) for x0, x1 in spans):
        return [kept]
    groups: list[list[list[float]]] = []
    top = float("-inf")
    for span in sorted(crossing, key=lambda b: b[1]) + [None]:
        bottom = float("inf") if span is None else (span[1] + span[3]) / 2
        groups += [band for column in columns if (band := [b for b in column if top <= (b[1] + b[3]) / 2 < bottom])]
        if span is not None:
            groups.append([span])
            top = bottom
    return groups


def _rows(pieces: list[list[float]], rules: OrderRules) -> list[list[list[float]]]:
    """Pieces in rows, top to bottom: a piece overlapping the row above by `row_overlap` joins it."""
    rows: list[list[list[float]]] = []
    for box in sorted(pieces, key=lambda b: (b[1] + b[3]) / 2):
        row = rows[-1] if rows else None
        if row is not None:
            top, bottom = min(b[1] for b in row), max(b[3] for b in row)
            overlap = min(bottom, box[3]) - max(top, box[1])
            if overlap >= rules.row_overlap * min(bottom - top, box[3] - box[1]):
                row.append(box)
                continue
        rows.append([box])
    return rows


def reading_order(boxes: list[list[float]], width: int, height: int, rules: OrderRules = OrderRules(),
                  ink: np.ndarray | None = None) -> tuple[list[Region], int]:
    """One text region of paragraphs of (empty) lines, in reading order, and the boxes skipped.
    With the page's `ink` mask (in the boxes' pixels), a page in columns is read column by column."""
    kept = [b for b in boxes if b[2] - b[0] >= rules.min_size and b[3] - b[1] >= rules.min_size]
    skipped = len(boxes) - len(kept)
    if not kept:
        return [], skipped
    body = statistics.median(b[3] - b[1] for b in kept)
    channels = gutters(ink, kept, body, rules) if ink is not None else []
    if channels:
        kept = [part for b in kept for part in _split(b, channels, ink, rules.min_size)]
    region = Region(kind="text")
    for group in _columns(kept, channels, rules):
        region.paragraphs.append(Paragraph())  # a column, or a title between columns, starts one
        previous_bottom = None
        for row in _rows(group, rules):
            pieces = sorted(row, key=lambda b: b[0])
            joined: list[list[float]] = [list(pieces[0])]
            for box in pieces[1:]:
                if box[0] - joined[-1][2] < rules.join_gap * body:
                    last = joined[-1]
                    joined[-1] = [min(last[0], box[0]), min(last[1], box[1]), max(last[2], box[2]), max(last[3], box[3])]
                else:
                    joined.append(list(box))
            top = min(b[1] for b in joined)
            if previous_bottom is not None and top - previous_bottom > rules.paragraph_gap * body:
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
        scale = detector_scale(pixels)
        band = pixels[top:bottom]
        if scale < 1.0:
            size = (max(1, round(band.shape[1] * scale)), max(1, round(band.shape[0] * scale)))
            band = np.asarray(Image.fromarray(band).resize(size, Image.Resampling.BILINEAR))
        rgb = band if band.ndim == 3 else np.repeat(band[:, :, None], 3, axis=2)
        out = self._ocr(rgb, use_det=True, use_cls=False, use_rec=False)
        quads = out.boxes if out.boxes is not None else []
        boxes = [[float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())]
                 for q in (np.asarray(q) for q in quads)]
        # the channel between columns is looked for in the image the detector saw: scaling down
        # averages much grain away, so whether it is grainy is judged on that image too
        grey = grey_of(band)
        regions, skipped = reading_order(boxes, rgb.shape[1], rgb.shape[0], ink=ink(grey, grainy(grey)))
        width, height = float(pixels.shape[1]), float(bottom - top)  # crops stay in the rows it saw
        for line in (ln for r in regions for p in r.paragraphs for ln in p.lines):
            x0, y0, x1, y1 = (v / scale for v in line.bbox)
            line.bbox = [x0, y0 + top, min(width, x1), min(height, y1) + top]
        return regions, skipped
