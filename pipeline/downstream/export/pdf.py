"""Searchable PDF for one document: the original pages with the recognized words as invisible
text on their boxes.

PDF sources keep every page as it is (vector content, images, fonts); an OCRed page gets a
text-only layer drawn over it (`show_pdf_page`, as a form XObject), pages that kept their own
text layer, error pages and pages below the minimum confidence are left untouched. Image sources
become one PDF page per image page, the image at its resolution (the original bytes when they
can be embedded as they are). The invisible text is OCRmyPDF's renderer (fpdf2, a glyphless
font, each word scaled to its box) reading the page's hOCR, so selection and search land on
the words the way they do in OCRmyPDF's own output.
"""

from __future__ import annotations

import io
import logging
import tempfile
from pathlib import Path
from typing import Any

import pymupdf
from PIL import Image, ImageOps

from pipeline import PIPELINE_VERSION
from pipeline.page.documents import declared_dpi, eight_bit


logging.getLogger("fontTools").setLevel(logging.WARNING)  # font subsetting narrates every table it prunes


class PdfExportError(Exception):
    """The document's PDF cannot be made (its source is gone or unreadable)."""


def text_layer_pdf(pages: list[tuple[int, bytes, float]]) -> pymupdf.Document:
    """One text-only PDF page per (page number, hOCR, dpi), in order."""
    from ocrmypdf.font import MultiFontManager
    from ocrmypdf.fpdf_renderer import Fpdf2MultiPageRenderer
    from ocrmypdf.hocrtransform import HocrParser
    import ocrmypdf

    fonts = MultiFontManager(Path(ocrmypdf.__file__).parent / "data")
    with tempfile.TemporaryDirectory() as tmp:
        parsed = []
        for number, hocr, dpi in pages:
            path = Path(tmp) / f"{number:06d}.hocr"
            path.write_bytes(hocr)
            parsed.append((number, HocrParser(path).parse(), dpi))
        out = Path(tmp) / "text.pdf"
        Fpdf2MultiPageRenderer(pages_data=parsed, multi_font_manager=fonts, invisible_text=True).render(out)
        return pymupdf.open(stream=out.read_bytes(), filetype="pdf")


def _image_pages(source: bytes) -> list[tuple[bytes, float, float]]:
    """(bytes to embed, width pt, height pt) per image page, upright as the pipeline read it."""
    image = Image.open(io.BytesIO(source))
    out = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        frame = image.copy()
        dpi = declared_dpi(image) or 300.0
        upright = ImageOps.exif_transpose(frame)
        if getattr(image, "n_frames", 1) == 1 and upright.size == frame.size \
                and image.format in ("JPEG", "PNG", "JPEG2000") and image.getexif().get(0x0112, 1) in (0, 1):
            data = source  # embedded as it is: no re-encoding
        else:
            buffer = io.BytesIO()
            eight_bit(upright).save(buffer, format="PNG")
            data = buffer.getvalue()
        out.append((data, upright.width * 72.0 / dpi, upright.height * 72.0 / dpi))
    return out


def searchable_pdf(source: bytes | None, is_pdf: bool, rows: list[dict[str, Any]], hocr: dict[int, bytes],
                   run_id: str) -> bytes:
    """The document's searchable PDF; `hocr`: page number -> hOCR of the pages that get text."""
    if source is None:
        raise PdfExportError("the source document is gone (moved or deleted since the run)")
    try:
        if is_pdf:
            out = pymupdf.open(stream=source, filetype="pdf")
        else:
            out = pymupdf.open()
            for data, width, height in _image_pages(source):
                page = out.new_page(width=width, height=height)
                page.insert_image(page.rect, stream=data)
    except Exception as exc:
        raise PdfExportError(f"the source document cannot be read: {exc}") from exc
    if out.page_count == 0:
        raise PdfExportError("the source document has no page that can be shown")
    by_page = {r["page"]: r for r in rows}
    numbers = [n for n in sorted(hocr) if 1 <= n <= out.page_count]
    if numbers:
        layer = text_layer_pdf([(n, hocr[n], float(by_page[n].get("dpi") or 300.0)) for n in numbers])
        for k, number in enumerate(numbers):
            page = out[number - 1]
            page.show_pdf_page(page.rect, layer, k, overlay=True, rotate=-page.rotation)
    engines = sorted({f"{r.get('engine')} {r.get('model') or ''}".strip() for r in rows if r.get("engine")})
    metadata = dict(out.metadata or {})
    metadata.update(producer=f"digitize {PIPELINE_VERSION}", creator=f"digitize run {run_id}; engine: {', '.join(engines) or 'none'}")
    out.set_metadata({k: v for k, v in metadata.items() if k in ("title", "author", "subject", "keywords", "creator",
                                                                 "producer", "creationDate", "modDate")})
    return out.tobytes(garbage=1, deflate=True)
