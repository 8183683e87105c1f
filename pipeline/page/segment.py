"""Text-line segmentation for line recognizers (TrOCR): Tesseract's layout analysis, no recognition.

Tesseract finds blocks, paragraphs and lines in reading order (columns included) in a few tens
of milliseconds per page; the recognizer then reads each line crop.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.page.assembly import Line, Paragraph, Region  # noqa: E402
from pipeline.page.grain import ink, tesseract_thresholding  # noqa: E402
from pipeline.page.text_size import grey_of  # noqa: E402


# px: an image this high or lower, with ink on it, in which a segmenter finds no line is read as
# one line: a line or a character cut out of a page (a form's box, a digit), too small for a
# segmenter, which looks for text among other things on a page
LINE_IMAGE_HEIGHT = 160
INK_CONTRAST = 64  # grey levels between the paper and the ink of such an image: no blank one is read


def whole_image_line(pixels: np.ndarray) -> list[Region]:
    """One line over the whole image where it is small enough to be one line cut out and has ink
    on it; else none."""
    if pixels.shape[0] > LINE_IMAGE_HEIGHT:
        return []
    grey = grey_of(pixels)
    if int(grey.max()) - int(grey.min()) < INK_CONTRAST or not ink(grey, False).any():
        return []
    whole = Line(bbox=[0.0, 0.0, float(pixels.shape[1]), float(pixels.shape[0])], tokens=[])
    return [Region(kind="text", paragraphs=[Paragraph(lines=[whole])])]


@dataclass(frozen=True)
class CropLimits:
    min_height: int = 8  # pixels: specks and rules are not text lines
    min_width: int = 8
    max_height_share: float = 0.5  # a "line" taller than half the page is a picture
    margin: float = 0.15  # of the line height, added around each crop


class LineSegmenter:
    """One Tesseract API per actor, used for layout analysis only."""

    def __init__(self, tessdata: str, limits: CropLimits = CropLimits()):
        import tesserocr

        self._tess = tesserocr
        self._api = tesserocr.PyTessBaseAPI(path=tessdata.rstrip("/") + "/", lang="eng", psm=tesserocr.PSM.AUTO)
        self.limits = limits

    def segment(self, pixels: np.ndarray, dpi: float) -> tuple[list[Region], int]:
        """Regions of paragraphs of (empty) lines with boxes, and how many line boxes were skipped."""
        tess = self._tess
        grey = grey_of(pixels)
        self._api.SetVariable("thresholding_method", tesseract_thresholding(grey))
        self._api.SetImage(Image.fromarray(grey))
        self._api.SetSourceResolution(max(int(dpi), 70))
        iterator = self._api.AnalyseLayout()
        regions: list[Region] = []
        skipped = 0
        height, width = grey.shape
        if iterator is None:
            return regions, 0
        while True:
            box = iterator.BoundingBox(tess.RIL.TEXTLINE)
            if box is not None:
                if iterator.IsAtBeginningOf(tess.RIL.BLOCK) or not regions:
                    regions.append(Region(kind="table" if iterator.BlockType() == tess.PT.TABLE else "text"))
                if iterator.IsAtBeginningOf(tess.RIL.PARA) or not regions[-1].paragraphs:
                    regions[-1].paragraphs.append(Paragraph())
                x0, y0, x1, y1 = box
                h, w = y1 - y0, x1 - x0
                if h < self.limits.min_height or w < self.limits.min_width or h > self.limits.max_height_share * height:
                    skipped += 1
                else:
                    pad = int(round(self.limits.margin * h))
                    crop = [max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad)]
                    regions[-1].paragraphs[-1].lines.append(Line(bbox=[float(v) for v in crop], tokens=[]))
            if not iterator.Next(tess.RIL.TEXTLINE):
                break
        self._api.Clear()
        return regions, skipped


SEGMENTERS = ("tesseract", "detector", "blla")


def line_segmenter(name: str, tessdata: str, device: str = "cpu", rapidocr_model: str | None = None):
    """The segmenter a line engine's config names (the detector shares the RapidOCR sessions of
    the engine's first recognizer, `rapidocr_model`)."""
    if name == "tesseract":
        return LineSegmenter(tessdata)
    if name == "detector":
        from pipeline.page.detected_lines import DetectedLineSegmenter

        return DetectedLineSegmenter(rapidocr_model)
    if name == "blla":
        from pipeline.page.kraken_lines import KrakenLineSegmenter

        return KrakenLineSegmenter(device)
    raise ValueError(f"unknown segmenter {name!r}; choose one of: {', '.join(SEGMENTERS)}")


def segmenter_problem(name: str) -> str | None:
    """Why the named segmenter cannot run here, or None: for a line engine's preflight."""
    if name == "blla":
        from pipeline.page.kraken_lines import SegmenterUnavailable, import_kraken

        try:
            import_kraken()
        except SegmenterUnavailable as exc:
            return str(exc)
    return None
